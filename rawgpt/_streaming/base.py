"""SSEStream: what every stream shares: reading, decoding, bounds, ending, closing.

Bytes come from the transport with ``readany()`` and go through the sans-IO SSE
decoder; each decoded event goes to the subclass's ``_item``, which returns
the item to give out (a view), or raises ``Nothing`` for an event that gives
nothing out (skipped, or the one that ended the stream: ``_done()``). Per
event the hot path is that one call (a ``try`` costs nothing until it
catches). The items given out are held (``_held``) and folded into the
stream's result ``_HELD`` at a time, at a read, by the subclass's ``_merge``:
a stream keeps its result, not every event. A stream that ends
before its subclass says it is complete raises APIConnectionError, so a cut
stream never passes for a complete one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

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

T = TypeVar("T")


class Nothing(Exception):
    """Raised by ``_item`` for an event that gives nothing out (rare: no per-event test).
    Raise the class, never a kept instance: a re-raised instance keeps every traceback."""


_DRAIN_BYTES = 65536
# A whole stream can arrive in one read (a fast server, a busy client): decode it in
# slices so the first item goes out after one slice's work, not the whole read's.
_SLICE = 8192
# The items given out are merged _HELD at a time (at a read, not per item): a stream
# holds its merged result and at most _HELD items (plus one read's), not every item.
_HELD = 256
_DRAIN_SECONDS = 2.0
# Told once when a stream ends, fails or is closed: its summary (usage and how it ended,
# in the shape of its endpoint's answer), when its first item came, the error.
OnEnd = Callable[[dict[str, Any], float | None, BaseException | None], None]


class SSEStream(Generic[T]):
    """The events of one server-sent-event answer; ``async with`` it to be sure it closes.

    ``headers`` are the answer's headers (read-only, case-insensitive),
    ``request_id`` its x-request-id.
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
        self._held: list[dict[str, Any]] = []  # given out, not yet merged
        self._complete = False
        self._closed = False
        self._drain = False  # ended by an event: read the body's end before releasing
        self.headers: Mapping[str, str] = raw.headers
        self.request_id: str | None = raw.headers.get("x-request-id")

    # What a kind of stream says (subclasses).

    def _item(self, event: ServerSentEvent) -> T:
        """The item ``event`` gives out; raises Nothing if none (skipped, or it ended the
        stream)."""
        raise NotImplementedError

    def _merge(self) -> None:
        """Fold the items held (``_held``) into the result, and let them go."""
        raise NotImplementedError

    def _summary(self) -> dict[str, Any]:
        """The usage and how the stream ended, for the usage event."""
        raise NotImplementedError

    def _ends_cleanly(self) -> bool:
        """Whether a body that ends here (no ending event) is complete all the same."""
        return False

    def _unfinished(self) -> str:
        """The APIConnectionError's message for a body that ended too soon."""
        raise NotImplementedError

    # Reading.

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._pos < len(self._events):
                event = self._events[self._pos]
                self._pos += 1
                try:
                    return self._item(event)
                except Nothing:
                    continue
            if self._closed:
                if self._drain:
                    await self._drained()
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
            if len(self._held) >= _HELD:
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
        """The next item and every item already decoded behind it ([] at the end).

        Lets the blocking Stream cross threads once per network read, not per item.
        An error after the first item is kept for the next call.
        """
        try:
            out = [await self.__anext__()]
        except StopAsyncIteration:
            return []
        events = self._events
        while self._pos < len(events) and not self._closed:
            event = events[self._pos]
            self._pos += 1
            try:
                out.append(self._item(event))
            except Nothing:
                continue
            except APIError:
                self._pos -= 1  # the next call meets the same event and raises
                break
        return out

    def _error_from(self, data: str, parsed: Any = None) -> APIStatusError:
        """The status error an ``error`` event or an ``{"error": ...}`` data line stands for."""
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

    def _invalid(self, data: str, obj: Any) -> APIResponseValidationError:
        """A data line that is not a JSON object: the stream fails with this error."""
        what = "not a JSON object" if obj is not None else "not JSON"
        error = APIResponseValidationError(
            f"stream event is {what}: {snippet(data, self._secret)!r}"
        )
        self._fail(error)
        return error

    # Ending.

    def _done(self) -> None:
        """The event just read ended the stream: complete; the body's end is read next."""
        self._complete = True
        self._closed = True
        self._drain = True
        self._pos = len(self._events)  # anything after the end is not given out
        self._read, self._off = b"", 0
        self._ended(None)

    def _end_of_body(self) -> None:
        self._decoder.close()
        self._merge()
        if self._ends_cleanly():  # ended without its ending event, yet complete
            self._complete = True
            self._closed = True
            self._ended(None)
            self._raw.release()
            return
        error = APIConnectionError(self._unfinished())
        self._fail(error)
        raise error

    async def _drained(self) -> None:
        """After the ending event: read the chunked terminator so the connection goes back
        to the pool (at most _DRAIN_BYTES, for _DRAIN_SECONDS; past either, drop it)."""
        self._drain = False
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
        self._drain = False
        self._raw.close()

    def _ended(self, error: BaseException | None) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end(self._summary(), self.first_chunk_at, error)

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
        """Stop reading. An unfinished stream's connection is dropped at once, not drained
        or reused; a finished one's goes back to the pool."""
        if self._drain:
            await self._drained()
        elif not self._closed:
            self._fail()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) or getattr(self, "_drain", False):
            self._raw.close()

    @property
    def completed(self) -> bool:
        """True once the stream ended properly (its ending event, or a clean end)."""
        return self._complete
