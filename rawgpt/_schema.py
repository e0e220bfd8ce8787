"""The field names of OpenAI's response objects, as view classes.

Only names matter here (a field the body omits reads as None; an unknown name
raises). Kept to the objects a chat/embeddings user reads.
"""

from __future__ import annotations

from typing import Any

from ._models import SHAPES, Response, View, shape

_FUNCTION = shape("Function", {"name": None, "arguments": None})
_TOOL_CALL = shape("ToolCall", {"id": None, "type": None, "function": _FUNCTION, "index": None})
_DETAILS = shape(
    "TokenDetails",
    {
        "cached_tokens": None,
        "audio_tokens": None,
        "reasoning_tokens": None,
        "accepted_prediction_tokens": None,
        "rejected_prediction_tokens": None,
    },
)
USAGE = shape(
    "Usage",
    {
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "prompt_tokens_details": _DETAILS,
        "completion_tokens_details": _DETAILS,
    },
)
_LOGPROB = shape(
    "TokenLogprob", {"token": None, "logprob": None, "bytes": None, "top_logprobs": None}
)
_LOGPROBS = shape("ChoiceLogprobs", {"content": _LOGPROB, "refusal": _LOGPROB})
_MESSAGE_FIELDS: dict[str, type[View] | None] = {
    "role": None,
    "content": None,
    "refusal": None,
    "tool_calls": _TOOL_CALL,
    "function_call": _FUNCTION,
    "audio": None,
    "annotations": None,
}
_MESSAGE = shape("ChatCompletionMessage", _MESSAGE_FIELDS)
_DELTA = shape("ChoiceDelta", _MESSAGE_FIELDS)
_CHOICE = shape(
    "Choice", {"index": None, "message": _MESSAGE, "finish_reason": None, "logprobs": _LOGPROBS}
)
_CHUNK_CHOICE = shape(
    "ChunkChoice", {"index": None, "delta": _DELTA, "finish_reason": None, "logprobs": _LOGPROBS}
)
_COMPLETION_TOP: dict[str, type[View] | None] = {
    "id": None,
    "object": None,
    "created": None,
    "model": None,
    "usage": USAGE,
    "system_fingerprint": None,
    "service_tier": None,
}
_EMBEDDING = shape("Embedding", {"object": None, "index": None, "embedding": None})
_EMBEDDING_USAGE = shape("EmbeddingUsage", {"prompt_tokens": None, "total_tokens": None})


def _top(name: str, fields: dict[str, type[View] | None]) -> type[Response]:
    cls: Any = shape(name, fields, base=Response)
    return cls  # type: ignore[no-any-return]


CHAT_COMPLETION = _top("ChatCompletion", {**_COMPLETION_TOP, "choices": _CHOICE})
CHAT_COMPLETION_CHUNK = shape("ChatCompletionChunk", {**_COMPLETION_TOP, "choices": _CHUNK_CHOICE})
EMBEDDINGS = _top(
    "CreateEmbeddingResponse",
    {"object": None, "data": _EMBEDDING, "model": None, "usage": _EMBEDDING_USAGE},
)
OPEN = _top("Object", {})


def __getattr__(name: str) -> type[View]:
    """Every view class by its name (``rawgpt._schema.ChatCompletion``), for pickle."""
    try:
        return SHAPES[name]
    except KeyError:
        raise AttributeError(name) from None
