"""AsyncStream: iterate a chat completion stream, close it, merge it.

Per chunk the hot path is: take the next decoded event, ``orjson.loads`` its
data, wrap the dict in a view (the reading, bounds and closing are
``SSEStream``'s). The stream ends only on ``data: [DONE]`` (or a clean end
after every choice finished); anything else raises, so a cut stream never
passes for a complete one.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import orjson

from .._transport import RawResponse
from ..sse import ServerSentEvent
from ..types import ChatCompletion, ChatCompletionChunk
from .accumulate import Merged
from .base import Nothing, SSEStream

T = TypeVar("T")


class AsyncStream(SSEStream[T]):
    """The chunks of one streamed chat completion; ``async with`` it to be sure it closes.

    Typed like the SDK's ``AsyncStream[ChatCompletionChunk]``; ``headers`` are the
    answer's headers (read-only, case-insensitive), ``request_id`` its x-request-id.
    """

    def __init__(self, raw: RawResponse, **options: Any) -> None:
        super().__init__(raw, **options)
        self._merged = Merged()

    def _item(self, event: ServerSentEvent) -> T:
        data = event.data
        if data == "[DONE]":
            self._done()
            raise Nothing
        if event.event is not None and event.event != "message":
            if event.event == "error":
                error = self._error_from(data)
                self._fail(error)
                raise error
            raise Nothing
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is not dict:
            raise self._invalid(data, obj)
        if "error" in obj and obj["error"] is not None:
            error = self._error_from(data, obj)
            self._fail(error)
            raise error
        if self.first_chunk_at is None:
            self.first_chunk_at = time.monotonic()
        self._held.append(obj)
        return ChatCompletionChunk(obj)  # type: ignore[return-value]

    def _merge(self) -> None:
        """Merge the chunks given out so far into the completion, and let them go."""
        add = self._merged.add
        for chunk in self._held:
            add(chunk)
        self._held = []

    def _ends_cleanly(self) -> bool:
        return self._merged.finished

    def _unfinished(self) -> str:
        return f"stream ended before completion ({self._merged.count} chunks, no [DONE])"

    def _summary(self) -> dict[str, Any]:
        """The usage and the first choice's finish_reason, from the last chunks that carry
        them (the chunks not merged yet, then the merged completion)."""
        usage: Any = None
        finish: Any = None
        for chunk in reversed(self._held):
            usage = usage or chunk.get("usage")
            choices = chunk.get("choices")
            if finish is None and choices and type(choices[0]) is dict:
                finish = choices[0].get("finish_reason")
            if usage and finish:
                break
        merged = self._merged
        if finish is None:
            finish = merged.finish_reason()
        top = merged.top or (self._held[0] if self._held else {})
        return {
            "id": top.get("id"),
            "model": top.get("model"),
            "usage": usage or merged.usage,
            "choices": [{"finish_reason": finish}],
        }

    def get_final_completion(self) -> ChatCompletion:
        """The chunks merged into one chat completion (the stream must have ended).

        Every delta merges: content, refusal and any other text (``reasoning_content``,
        ``reasoning``, ``audio.data`` and ``audio.transcript``) concatenated, tool calls
        by index, logprobs appended, the last finish_reason and usage.
        """
        if not self._complete:
            raise RuntimeError(
                "get_final_completion() needs a stream read to its end; this one "
                + ("was closed early" if self._closed else "is still open")
            )
        self._merge()
        return ChatCompletion(self._merged.result(), headers=self.headers)
