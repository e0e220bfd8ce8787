"""rawgpt's classes use the SDK's names: every field a class declares is a field of the
SDK's model of the same object; with the SDK these classes were checked against, every
field of the SDK's is there too (a newer SDK may add fields: then only the first holds)."""

from __future__ import annotations

import inspect

import pytest
from openai import __version__ as sdk_version
from openai import types as sdk
from openai.types import completion_usage, create_embedding_response
from openai.types.chat import chat_completion, chat_completion_chunk, chat_completion_message
from openai.types.chat import chat_completion_message_custom_tool_call as custom_call
from pydantic import BaseModel

import rawgpt
from rawgpt import types
from rawgpt.types import chat, embeddings
from rawgpt.types.params import ClientOptions, ClientOverrides

CHECKED_AGAINST = "3.63.0"
PAIRS: list[tuple[type[BaseModel], type[types.View]]] = [
    (sdk.chat.ChatCompletion, chat.ChatCompletion),
    (chat_completion.Choice, chat.Choice),
    (chat_completion.ChoiceLogprobs, chat.ChoiceLogprobs),
    (sdk.chat.ChatCompletionMessage, chat.ChatCompletionMessage),
    (chat_completion_message.Annotation, chat.Annotation),
    (chat_completion_message.AnnotationURLCitation, chat.AnnotationURLCitation),
    (chat_completion_message.FunctionCall, chat.FunctionCall),
    (sdk.chat.ChatCompletionMessageFunctionToolCall, chat.ChatCompletionMessageFunctionToolCall),
    (sdk.chat.ChatCompletionMessageCustomToolCall, chat.ChatCompletionMessageCustomToolCall),
    (custom_call.Custom, chat.Custom),
    (sdk.chat.ChatCompletionAudio, chat.ChatCompletionAudio),
    (sdk.chat.ChatCompletionTokenLogprob, chat.ChatCompletionTokenLogprob),
    (sdk.chat.chat_completion_token_logprob.TopLogprob, chat.TopLogprob),
    (sdk.chat.ChatCompletionChunk, chat.ChatCompletionChunk),
    (chat_completion_chunk.Choice, chat.ChunkChoice),
    (chat_completion_chunk.ChoiceDelta, chat.ChoiceDelta),
    (chat_completion_chunk.ChoiceDeltaAudio, chat.ChoiceDeltaAudio),
    (chat_completion_chunk.ChoiceDeltaToolCall, chat.ChoiceDeltaToolCall),
    (chat_completion_chunk.ChoiceDeltaToolCallFunction, chat.ChoiceDeltaToolCallFunction),
    (chat_completion_chunk.ChoiceDeltaFunctionCall, chat.ChoiceDeltaFunctionCall),
    (completion_usage.CompletionUsage, chat.CompletionUsage),
    (completion_usage.PromptTokensDetails, chat.PromptTokensDetails),
    (completion_usage.CompletionTokensDetails, chat.CompletionTokensDetails),
    (sdk.CreateEmbeddingResponse, embeddings.CreateEmbeddingResponse),
    (create_embedding_response.Usage, embeddings.EmbeddingUsage),
    (sdk.Embedding, embeddings.Embedding),
]


@pytest.mark.parametrize(("theirs", "ours"), PAIRS, ids=[ours.__name__ for _, ours in PAIRS])
def test_fields_match_the_sdk(theirs: type[BaseModel], ours: type[types.View]) -> None:
    assert set(ours._fields) <= set(theirs.model_fields)  # no name of our own making
    if sdk_version == CHECKED_AGAINST:
        assert set(ours._fields) == set(theirs.model_fields)


def test_the_blocking_clients_keywords_are_the_async_clients() -> None:
    """Client(**options) is typed by ClientOptions: the same names as AsyncClient(...)."""
    wanted = set(inspect.signature(rawgpt.AsyncClient).parameters)
    assert set(ClientOptions.__annotations__) == wanted
    overrides = set(inspect.signature(rawgpt.AsyncClient.with_options).parameters) - {"self"}
    assert set(ClientOverrides.__annotations__) == overrides
