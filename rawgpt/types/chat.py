"""Chat completions: the answer, its stream's chunks, and every object inside them.

Field names and optionality follow the official SDK's ``openai.types.chat``; a
field typed ``X | None`` may be absent or null in the body. Each class is a
view (see ``_view``): no validation, a property per field.
"""

from __future__ import annotations

from typing import Literal

from ._view import ListView, Response, View

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class Function(View):
    """The function a tool call invokes: its name and JSON-encoded arguments."""

    name: str
    arguments: str


class ChatCompletionMessageFunctionToolCall(View):
    """A function tool call in a completion's message."""

    id: str
    type: Literal["function"]
    function: Function


ChatCompletionMessageToolCall = ChatCompletionMessageFunctionToolCall  # the SDK's older name


class Custom(View):
    """What a custom tool call passes: the tool's name and its free-form input."""

    name: str
    input: str


class ChatCompletionMessageCustomToolCall(View):
    """A custom tool call in a completion's message."""

    id: str
    type: Literal["custom"]
    custom: Custom


ChatCompletionMessageToolCallUnion = (
    ChatCompletionMessageFunctionToolCall | ChatCompletionMessageCustomToolCall
)


class FunctionCall(View):
    """The deprecated ``function_call`` of a message."""

    name: str
    arguments: str


class ChatCompletionAudio(View):
    """Audio output of a message."""

    id: str
    data: str
    expires_at: int
    transcript: str


class AnnotationURLCitation(View):
    """Where a web-search citation points."""

    end_index: int
    start_index: int
    title: str
    url: str


class Annotation(View):
    """A message annotation (a web-search citation)."""

    type: Literal["url_citation"]
    url_citation: AnnotationURLCitation


class ChatCompletionMessage(View):
    """The message of a non-stream choice."""

    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    tool_calls: ListView[ChatCompletionMessageToolCallUnion] | None
    function_call: FunctionCall | None
    audio: ChatCompletionAudio | None
    annotations: ListView[Annotation] | None


class TopLogprob(View):
    """One of the most likely tokens at a position."""

    token: str
    logprob: float
    bytes: ListView[int] | None


class ChatCompletionTokenLogprob(View):
    """A token's log probability, with the most likely alternatives."""

    token: str
    logprob: float
    bytes: ListView[int] | None
    top_logprobs: ListView[TopLogprob]


class ChoiceLogprobs(View):
    """Log probabilities of a choice's content and refusal tokens."""

    content: ListView[ChatCompletionTokenLogprob] | None
    refusal: ListView[ChatCompletionTokenLogprob] | None


class Choice(View):
    """One choice of a chat completion."""

    index: int
    message: ChatCompletionMessage
    finish_reason: FinishReason
    logprobs: ChoiceLogprobs | None


class CompletionTokensDetails(View):
    """What the output tokens were spent on."""

    accepted_prediction_tokens: int | None
    audio_tokens: int | None
    reasoning_tokens: int | None
    rejected_prediction_tokens: int | None
    text_tokens: int | None


class PromptTokensDetails(View):
    """What the prompt tokens were (``cached_tokens``: served from the prompt cache)."""

    audio_tokens: int | None
    cached_tokens: int | None
    cache_write_tokens: int | None
    image_tokens: int | None
    text_tokens: int | None


class CompletionUsage(View):
    """Token counts of one call."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None
    completion_tokens_details: CompletionTokensDetails | None


class ChatCompletion(Response):
    """The answer of ``chat.completions.create()``."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: ListView[Choice]
    usage: CompletionUsage | None
    system_fingerprint: str | None
    service_tier: str | None
    metadata: View | None
    moderation: View | None


class ChoiceDeltaFunctionCall(View):
    """A piece of a deprecated ``function_call``."""

    name: str | None
    arguments: str | None


class ChoiceDeltaToolCallFunction(View):
    """A piece of a tool call's function: the name once, the arguments in parts."""

    name: str | None
    arguments: str | None


class ChoiceDeltaToolCall(View):
    """A piece of a tool call, merged with the others of its ``index``."""

    index: int
    id: str | None
    type: Literal["function"] | None
    function: ChoiceDeltaToolCallFunction | None


class ChoiceDeltaAudio(View):
    """A piece of a message's audio output."""

    id: str | None
    data: str | None
    expires_at: int | None
    transcript: str | None


class ChoiceDelta(View):
    """What one chunk adds to a choice."""

    role: Literal["developer", "system", "user", "assistant", "tool"] | None
    content: str | None
    audio: ChoiceDeltaAudio | None
    refusal: str | None
    tool_calls: ListView[ChoiceDeltaToolCall] | None
    function_call: ChoiceDeltaFunctionCall | None


class ChunkChoice(View):
    """One choice of a stream chunk."""

    index: int
    delta: ChoiceDelta
    finish_reason: FinishReason | None
    logprobs: ChoiceLogprobs | None


class ChatCompletionChunk(View):
    """One chunk of a streamed chat completion."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: ListView[ChunkChoice]
    usage: CompletionUsage | None
    system_fingerprint: str | None
    service_tier: str | None
    moderation: View | None
    obfuscation: str | None
