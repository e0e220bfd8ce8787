"""A sans-IO decoder for Server-Sent Events (``text/event-stream``).

The decoder does no I/O: feed it the raw body bytes as they arrive, in pieces of any
size split at any byte, and it returns the events completed so far::

    dec = SSEDecoder()
    for chunk in body_chunks:
        for ev in dec.feed(chunk):
            handle(ev.event, ev.data)
    dec.close()  # end of stream: an event without its final blank line is dropped

``SSEDecoder(max_event_bytes=n)`` bounds what it holds between feeds: a line
without its line end, or an event without its blank line, growing past ``n``
bytes raises ``EventTooLargeError`` (default 16 MiB; ``None`` for no bound).

Parsing follows the WHATWG HTML "event stream interpretation" rules: lines end with
LF, CRLF or CR (a CRLF split across two feeds counts once); a UTF-8 BOM at the very
start of the stream is skipped; lines starting with ":" are comments; a line without a
colon is a field name with an empty value; one space after the colon is dropped; the
fields are ``event``, ``data`` (lines joined with "\\n"), ``id`` (ignored if it holds a
NUL; the last event id persists across events) and ``retry`` (ASCII digits only); a
blank line dispatches the event if any ``data`` field was seen. Invalid UTF-8 becomes
U+FFFD. Unlike the browser API, an event with no (or an empty) ``event`` field has
``event`` set to None rather than "message", and ``retry`` is the value given in that
event's own block, or None.

Bytes are only split at CR and LF, which are ASCII and so never inside a multibyte
UTF-8 sequence: each feed decodes its complete lines with one ``bytes.decode`` call
and an incomplete tail is kept as bytes. A line longer than a chunk accumulates in a
bytearray and only the new chunk is searched for a line end, so the work stays linear.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "EventTooLargeError", "SSEDecoder", "ServerSentEvent"]

_BOM = "\ufeff"
_EOL = (0x0A, 0x0D)  # LF, CR
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
_NO_BOUND = 1 << 62


class EventTooLargeError(ValueError):
    """A line or an event grew past the decoder's ``max_event_bytes`` before it ended."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an SSE line or event grew past max_event_bytes ({limit} bytes)")
        self.limit = limit


class ServerSentEvent:
    """One dispatched event: a plain record, cheap to construct."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self,
        event: str | None = None,
        data: str = "",
        id: str | None = None,
        retry: int | None = None,
    ) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (
            self.data == other.data
            and self.event == other.event
            and self.id == other.id
            and self.retry == other.retry
        )

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, "
            f"id={self.id!r}, retry={self.retry!r})"
        )


class SSEDecoder:
    """Incremental event-stream parser: ``feed()`` bytes, get ``ServerSentEvent``s."""

    __slots__ = (
        "_at_start",
        "_data",
        "_event",
        "_held",
        "_id",
        "_max",
        "_pending",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES) -> None:
        """``max_event_bytes``: the most bytes of one unfinished line or event held
        between feeds; past it ``feed`` raises EventTooLargeError (None: no bound)."""
        if max_event_bytes is None:
            max_event_bytes = _NO_BOUND
        elif type(max_event_bytes) is not int or max_event_bytes < 1:
            got = repr(max_event_bytes)
            raise ValueError(f"max_event_bytes must be an int >= 1 or None, got {got}")
        self._max = max_event_bytes
        self._reset()

    def _reset(self) -> None:
        self._pending = bytearray()  # bytes after the last line end seen so far
        self._skip_lf = False  # the last line ended with CR: a leading LF is its CRLF tail
        self._at_start = True  # no line decoded yet: a BOM may open the stream
        self._data: list[str] = []  # data lines of the event being built
        self._event: str | None = None
        self._id: str | None = None  # the last event id; outlives each event
        self._retry: int | None = None
        self._held = 0  # bytes of the unfinished event in the text of earlier feeds

    def _too_large(self) -> NoReturn:
        limit = self._max
        self._reset()  # drop what is held: the caller cannot go on with this stream
        raise EventTooLargeError(limit)

    def _bound_event(self, text: str) -> None:
        """An event is still open after ``text``: count its bytes, raise past the bound."""
        cut = text.rfind("\n\n")  # the last blank line: the open event starts after it
        if cut != -1:
            held = len(text) - cut - 2
        elif text[0] == "\n":  # a blank first line
            held = len(text) - 1
        else:  # the event began in an earlier feed
            held = self._held + len(text)
        self._held = held
        if held + len(self._pending) > self._max:
            self._too_large()

    def feed(self, chunk: bytes | bytearray) -> list[ServerSentEvent]:
        """Consume ``chunk`` and return the events it completes (often none)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        size = len(chunk)
        pending = self._pending
        # Find the end of the last complete line: the last LF, or a CR after it.
        if chunk[-1] in _EOL:  # the usual case: the chunk ends on a line end
            cut = size - 1
        else:
            cut = chunk.rfind(b"\n")
            cr = chunk.rfind(b"\r", cut + 1)
            if cr != -1:
                cut = cr
            if cut == -1:
                pending += chunk
                if len(pending) + self._held > self._max:
                    self._too_large()
                return []
        end = cut + 1
        if pending:
            pending += chunk[:end]
            text = pending.decode("utf-8", "replace")
            self._pending = pending = bytearray(chunk[end:])
            if len(pending) > self._max:
                self._too_large()
        elif end == size:
            text = chunk.decode("utf-8", "replace")
        else:
            text = chunk[:end].decode("utf-8", "replace")
            pending += chunk[end:]
            if len(pending) > self._max:
                self._too_large()
        if end == size and chunk[cut] == 0x0D:
            self._skip_lf = True  # the next feed may begin with this CR's LF
        if self._at_start:
            self._at_start = False
            if text.startswith(_BOM):
                text = text[1:]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines.pop()  # text ends with a line end: the last piece is always ""

        events: list[ServerSentEvent] = []
        data = self._data
        event = self._event
        retry = self._retry
        for line in lines:
            if line[:6] == "data: ":  # fast path; other forms go through the general path
                data.append(line[6:])
            elif not line:
                if data:
                    events.append(ServerSentEvent(event, "\n".join(data), self._id, retry))
                    data = []
                event = None
                retry = None
            elif line[0] != ":":
                name, _, value = line.partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value or None
                elif name == "id":
                    if "\0" not in value:
                        self._id = value
                elif name == "retry" and value.isascii() and value.isdigit():
                    retry = int(value)
        self._data = data
        self._event = event
        self._retry = retry
        if data:  # an event left open: bound what it holds
            self._bound_event(text)
        elif self._held:
            self._held = 0
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: drop any unfinished event, reset for a new stream, return []."""
        self._reset()
        return []
