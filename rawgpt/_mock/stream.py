"""Server-sent events for the mock server's streamed chat completions.

``chat_events`` renders a ``ChatPlan`` as the exact byte sequence OpenAI sends:
per choice a role chunk, content (or refusal, or tool-call argument) pieces, a
finish chunk, then an optional usage chunk and ``data: [DONE]``. Choices
interleave. The chunk envelope is serialized once per stream and the per-piece
bytes are spliced in, so a long stream costs little more than its payload.
``stream_script`` then bends any endpoint's event list to a stream fault (cut,
end, stall, error, malformed), given how that endpoint's streams end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from .errors import STREAM_ERROR, error_event
from .faults import Fault
from .responses import FINGERPRINT, ChatPlan, tool_call_id

DONE = b"data: [DONE]\n\n"
_PIECE_END = b'},"logprobs":null,"finish_reason":null}]'


@lru_cache(maxsize=256)
def split_pieces(text: str, chunks: int | None) -> tuple[str, ...]:
    """Cut ``text`` into ``chunks`` near-equal pieces, or one per word when None.

    The pieces always concatenate back to ``text`` exactly.
    """
    if chunks is None:
        if not text:
            return ()
        first, *rest = text.split(" ")
        return (first, *(" " + word for word in rest))
    size = len(text)
    return tuple(text[i * size // chunks : (i + 1) * size // chunks] for i in range(chunks))


def chat_events(
    plan: ChatPlan, completion_id: str, created: int, chunks: int | None, include_usage: bool
) -> list[bytes]:
    """Every SSE event of one streamed completion, ``[DONE]`` included."""
    envelope = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": plan.model,
        "system_fingerprint": FINGERPRINT,
    }
    head = b"data: " + orjson.dumps(envelope)[:-1] + b',"choices":'
    tail = b',"usage":null}\n\n' if include_usage else b"}\n\n"
    indexes = range(plan.n)

    def event(index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return head + orjson.dumps([choice]) + tail

    if plan.tool_name is None:
        role: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        key = b"content"
        if plan.refusal:
            role, key = {"role": "assistant", "content": None, "refusal": ""}, b"refusal"
        events = [event(i, role) for i in indexes]
        pieces = split_pieces(plan.text, chunks)
        starts = [b'[{"index":%d,"delta":{"%s":' % (i, key) for i in indexes]
        end = _PIECE_END
    else:
        function = {"name": plan.tool_name, "arguments": ""}
        events = []
        for i in indexes:
            call = {"index": 0, "id": tool_call_id(completion_id, i), "type": "function"}
            call["function"] = function
            delta = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
            events.append(event(i, delta))
        default = max(1, math.ceil(len(plan.tool_args) / 4))
        pieces = split_pieces(plan.tool_args, chunks or default)
        starts = [
            b'[{"index":%d,"delta":{"tool_calls":[{"index":0,"function":{"arguments":' % i
            for i in indexes
        ]
        end = b"}}]" + _PIECE_END
    for piece in pieces:
        encoded = orjson.dumps(piece)
        events.extend(head + start + encoded + end + tail for start in starts)
    events.extend(event(i, {}, plan.finish_reason) for i in indexes)
    if include_usage:
        usage = orjson.dumps(plan.usage())
        events.append(head + b'[],"usage":' + usage + b"}\n\n")
    events.append(DONE)
    return events


@dataclass(frozen=True, slots=True)
class Endings:
    """How one endpoint's streams end under a stream fault: its three error endings, and
    what a malformed stream still sends last (``[DONE]`` for chat, nothing for Responses)."""

    error: bytes  # stream_error: an SSE error event, the error nested (OpenAI's form)
    error_flat: bytes  # stream_error_flat: an SSE error event with code/message on top
    error_data: bytes  # stream_error_data: a data line {"error": ...} without an event name
    done: tuple[bytes, ...]


CHAT_ENDINGS = Endings(
    error_event({}, flat=False),
    error_event({"type": "error"}, flat=True),
    b"data: " + STREAM_ERROR + b"\n\n",
    (DONE,),
)


@dataclass(frozen=True, slots=True)
class StreamScript:
    """What to write: the events, where to go silent and for how long, and how to end."""

    events: list[bytes]
    stall_at: int | None = None
    stall_seconds: float = 0.0
    abort: bool = False


def stream_script(
    events: list[bytes], fault: Fault | None, endings: Endings = CHAT_ENDINGS
) -> StreamScript:
    """Apply a stream fault; ``n`` in cut/end/stall counts events and stops short of the
    last one (``[DONE]``, or a Responses stream's terminal event)."""
    if fault is None:
        return StreamScript(events)
    last = len(events) - 1
    if fault.kind == "cut":
        return StreamScript(events[: min(fault.events, last)], abort=True)
    if fault.kind == "end":
        return StreamScript(events[: min(fault.events, last)])
    if fault.kind == "stall":
        return StreamScript(events, min(fault.events, last), fault.seconds)
    if fault.kind == "stream_error":
        return StreamScript([*events[:2], endings.error])
    if fault.kind == "stream_error_flat":
        return StreamScript([*events[:2], endings.error_flat])
    if fault.kind == "stream_error_data":
        return StreamScript([*events[:2], endings.error_data])
    if fault.kind == "malformed":
        broken = events[1][: len(events[1]) // 2].rstrip(b"\n") + b"\n\n"
        return StreamScript([events[0], broken, *endings.done])
    return StreamScript(events)
