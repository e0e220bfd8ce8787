"""AsyncStream: iterate a chat completion stream, close it, merge it.

Per chunk the hot path is: take the next decoded event, ``orjson.loads`` its
data, wrap the dict in a view. Bytes come from the transport with
``readany()`` and go through the sans-IO SSE decoder. The stream ends only on
``data: [DONE]`` (or a clean end after every choice finished); anything else
raises, so a cut stream never passes for a complete one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

import orjson

from .._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    snippet,
    status_error,
)
from .._transport import RawResponse
from ..sse import DEFAULT_MAX_EVENT_BYTES, EventTooLargeError, ServerSentEvent, SSEDecoder
from ..types import ChatCompletion, ChatCompletionChunk
from .accumulate import Merged

T = TypeVar("T")

_DRAIN_BYTES = 65536
# A whole stream can arrive in one read (a fast server, a busy client): decode it in
# slices so the first chunk goes out after one slice's work, not the whole read's.
_SLICE = 8192
# The chunks given out are merged _HELD at a time (at a read, not per chunk): a stream
# holds its merged completion and at most _HELD chunks (plus one read's), not every chunk.
_HELD = 256
_DRAIN_SECONDS = 2.0
# Told once when a stream ends, fails or is closed: its summary (id, model, usage and the
# first choice's finish_reason, in a completion's shape), when its first chunk came, the error.
OnEnd = Callable[[dict[str, Any], float | None, BaseException | None], None]


class AsyncStream(Generic[T]):
    """The chunks of one streamed chat completion; ``async with`` it to be sure it closes.

    Typed like the SDK's ``AsyncStream[ChatCompletionChunk]``; ``headers`` are the
    answer's headers (read-only, case-insensitive), ``request_id`` its x-request-id.
    """

    def __init__(
        self,
        raw: RawResponse,
        *,
        secret: str | None = None,
        on_end: OnEnd | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._raw = raw
        self._on_end = on_end
        self.first_chunk_at: float | None = None
        self._secret = secret
        self._decoder = SSEDecoder(max_event_bytes)
        self._events: list[ServerSentEvent] = []
        self._pos = 0
        self._read = b""  # a read larger than _SLICE, decoded a slice at a time from _off
        self._off = 0
        self._chunks: list[dict[str, Any]] = []  # given out, not yet merged
        self._merged = Merged()
        self._complete = False
        self._closed = False
        self.headers: Mapping[str, str] = raw.headers
        self.request_id: str | None = raw.headers.get("x-request-id")

    def __aiter__(self) -> AsyncStream[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._pos < len(self._events):
                event = self._events[self._pos]
                self._pos += 1
                data = event.data
                if data == "[DONE]":
                    await self._finish()
                    raise StopAsyncIteration
                if event.event is not None and event.event != "message":
                    if event.event == "error":
                        error = self._error_from(data)
                        self._fail(error)
                        raise error
                    continue
                return self._chunk(data)
            if self._closed:
                raise StopAsyncIteration
            read, off = self._read, self._off
            if off < len(read):  # the rest of a large read, a slice at a time
                data_bytes = read[off : off + _SLICE]
                self._off = off + _SLICE
            else:
                try:
                    data_bytes = await self._raw.next_chunk()
                except BaseException as exc:
                    self._fail(exc)
                    raise
                if not data_bytes:
                    self._end_of_body()
                    raise StopAsyncIteration
                if len(data_bytes) > _SLICE:  # decode the first events before the rest
                    self._read, self._off = data_bytes, _SLICE
                    data_bytes = data_bytes[:_SLICE]
            if len(self._chunks) >= _HELD:
                self._merge()
            try:
                self._events = self._decoder.feed(data_bytes)
            except EventTooLargeError as exc:
                too_large = APIResponseValidationError(
                    f"stream event too large: {exc}; "
                    "raise rawgpt.Limits(max_event_bytes=...) to accept it"
                )
                self._fail(too_large)
                raise too_large from None
            self._pos = 0

    async def take_ready(self) -> list[T]:
        """The next chunk and every chunk already decoded behind it ([] at the end).

        Lets the blocking Stream cross threads once per network read, not per chunk.
        An error after the first chunk is kept for the next call.
        """
        try:
            out = [await self.__anext__()]
        except StopAsyncIteration:
            return []
        while self._pos < len(self._events):
            event = self._events[self._pos]
            if event.data == "[DONE]" or event.event is not None:
                break
            self._pos += 1
            try:
                out.append(self._chunk(event.data))
            except APIError:
                self._pos -= 1  # the next call meets the same event and raises
                break
        return out

    def _chunk(self, data: str) -> T:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is not dict:
            what = "not a JSON object" if obj is not None else "not JSON"
            text = snippet(data, self._secret)
            error: APIError = APIResponseValidationError(f"stream event is {what}: {text!r}")
            self._fail(error)
            raise error
        if "error" in obj and obj["error"] is not None:
            error = self._error_from(data, obj)
            self._fail(error)
            raise error
        if self.first_chunk_at is None:
            self.first_chunk_at = time.monotonic()
        self._chunks.append(obj)
        return ChatCompletionChunk(obj)  # type: ignore[return-value]

    def _error_from(self, data: str, parsed: Any = None) -> APIStatusError:
        if parsed is None:
            try:
                parsed = orjson.loads(data)
            except orjson.JSONDecodeError:
                parsed = {"error": {"message": snippet(data, self._secret)}}
        err = parsed.get("error") if isinstance(parsed, dict) else None
        status = 500
        if isinstance(err, dict) and isinstance(err.get("status_code"), int):
            status = err["status_code"]
        elif isinstance(err, dict) and err.get("code") in (
            "rate_limit_exceeded",
            "insufficient_quota",
        ):
            status = 429
        return status_error(status, data.encode(), self.headers, secret=self._secret, parsed=parsed)

    def _merge(self) -> None:
        """Merge the chunks given out so far into the completion, and let them go."""
        add = self._merged.add
        for chunk in self._chunks:
            add(chunk)
        self._chunks = []

    def _end_of_body(self) -> None:
        self._decoder.close()
        self._merge()
        if self._merged.finished:  # ended cleanly without [DONE]: still complete
            self._complete = True
            self._closed = True
            self._ended(None)
            self._raw.release()
            return
        error = APIConnectionError(
            f"stream ended before completion ({self._merged.count} chunks, no [DONE])"
        )
        self._fail(error)
        raise error

    async def _finish(self) -> None:
        """After [DONE]: read the chunked terminator so the connection goes back to the pool."""
        self._complete = True
        self._closed = True
        self._ended(None)
        raw = self._raw
        if raw.at_eof():
            raw.release()
            return
        drained = 0
        try:
            async with asyncio.timeout(_DRAIN_SECONDS):
                while drained <= _DRAIN_BYTES and (piece := await raw.next_chunk()):
                    drained += len(piece)
        except (TimeoutError, APIConnectionError):
            raw.close()
            return
        if raw.at_eof():
            raw.release()
        else:
            raw.close()

    def _fail(self, error: BaseException | None = None) -> None:
        if not self._closed:
            self._closed = True
            self._ended(error)
        self._raw.close()

    def _ended(self, error: BaseException | None) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end(self._summary(), self.first_chunk_at, error)

    def _summary(self) -> dict[str, Any]:
        """The usage and the first choice's finish_reason, from the last chunks that carry
        them (the chunks not merged yet, then the merged completion)."""
        usage: Any = None
        finish: Any = None
        for chunk in reversed(self._chunks):
            usage = usage or chunk.get("usage")
            choices = chunk.get("choices")
            if finish is None and choices and type(choices[0]) is dict:
                finish = choices[0].get("finish_reason")
            if usage and finish:
                break
        merged = self._merged
        if finish is None:
            finish = merged.finish_reason()
        top = merged.top or (self._chunks[0] if self._chunks else {})
        return {
            "id": top.get("id"),
            "model": top.get("model"),
            "usage": usage or merged.usage,
            "choices": [{"finish_reason": finish}],
        }

    def add_end_callback(self, callback: OnEnd) -> None:
        """Also call ``callback(summary, first_chunk_at, error)`` once when the stream ends,
        fails or is closed, after the client has recorded its usage event (the hook
        ``rawgpt.otel`` uses); at once if it has ended already."""
        inner = self._on_end
        if inner is None:
            if self._closed:
                callback(self._summary(), self.first_chunk_at, None)
            else:
                self._on_end = callback
            return

        def both(summary: dict[str, Any], first: float | None, error: BaseException | None) -> None:
            try:
                inner(summary, first, error)
            finally:
                callback(summary, first, error)

        self._on_end = both

    async def close(self) -> None:
        """Stop reading; an unfinished response's connection is dropped, not reused."""
        if not self._closed:
            self._fail()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self._raw.close()

    @property
    def completed(self) -> bool:
        """True once the stream ended properly ([DONE] or every choice finished)."""
        return self._complete

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
