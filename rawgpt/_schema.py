"""The field names of OpenAI's response objects, as view shapes.

Only names matter here (a field the body omits reads as None; an unknown name
raises). Kept to the objects a chat/embeddings user reads.
"""

from __future__ import annotations

from ._models import _Shape

_FUNCTION = _Shape("Function", {"name": None, "arguments": None})
_TOOL_CALL = _Shape("ToolCall", {"id": None, "type": None, "function": _FUNCTION, "index": None})
_DETAILS = _Shape(
    "TokenDetails",
    {
        "cached_tokens": None,
        "audio_tokens": None,
        "reasoning_tokens": None,
        "accepted_prediction_tokens": None,
        "rejected_prediction_tokens": None,
    },
)
USAGE = _Shape(
    "Usage",
    {
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "prompt_tokens_details": _DETAILS,
        "completion_tokens_details": _DETAILS,
    },
)
_LOGPROB = _Shape(
    "TokenLogprob", {"token": None, "logprob": None, "bytes": None, "top_logprobs": None}
)
_LOGPROBS = _Shape("ChoiceLogprobs", {"content": _LOGPROB, "refusal": _LOGPROB})
_MESSAGE_FIELDS: dict[str, _Shape | None] = {
    "role": None,
    "content": None,
    "refusal": None,
    "tool_calls": _TOOL_CALL,
    "function_call": _FUNCTION,
    "audio": None,
    "annotations": None,
}
_MESSAGE = _Shape("ChatCompletionMessage", _MESSAGE_FIELDS)
_DELTA = _Shape("ChoiceDelta", _MESSAGE_FIELDS)
_CHOICE = _Shape(
    "Choice", {"index": None, "message": _MESSAGE, "finish_reason": None, "logprobs": _LOGPROBS}
)
_CHUNK_CHOICE = _Shape(
    "ChunkChoice", {"index": None, "delta": _DELTA, "finish_reason": None, "logprobs": _LOGPROBS}
)
_COMPLETION_TOP = {
    "id": None,
    "object": None,
    "created": None,
    "model": None,
    "usage": USAGE,
    "system_fingerprint": None,
    "service_tier": None,
}
CHAT_COMPLETION = _Shape("ChatCompletion", {**_COMPLETION_TOP, "choices": _CHOICE})
CHAT_COMPLETION_CHUNK = _Shape("ChatCompletionChunk", {**_COMPLETION_TOP, "choices": _CHUNK_CHOICE})
_EMBEDDING = _Shape("Embedding", {"object": None, "index": None, "embedding": None})
EMBEDDINGS = _Shape(
    "CreateEmbeddingResponse",
    {
        "object": None,
        "data": _EMBEDDING,
        "model": None,
        "usage": _Shape("EmbeddingUsage", {"prompt_tokens": None, "total_tokens": None}),
    },
)

OPEN = _Shape("Object", {})
