"""A bare HTTP/1.1 server on loopback whose answers a test writes byte by byte.

MockServer speaks OpenAI's API; this one sends whatever ``respond`` writes (a body
larger than announced, a gzip bomb, an SSE line that never ends), and tells the
test when the client closed its side: the evidence that a connection was dropped,
not pooled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Respond = Callable[[asyncio.StreamWriter], Awaitable[bool | None]]
_STALL = 30.0


class RawServer:
    """Answers every request on ``127.0.0.1`` with ``respond(writer)``.

    When ``respond`` returns True the server sends nothing more on that connection
    and waits (30 s at most) for the client to close it.
    """

    def __init__(self, respond: Respond) -> None:
        self._respond = respond
        self._server: asyncio.Server | None = None
        self.connections = 0  # accepted so far
        self.requests = 0
        self.closed = 0  # connections the client closed
        self._closed_event = asyncio.Event()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def wait_closed_by_client(self, timeout: float = 5.0) -> None:
        """Return once the client closed a connection (raise TimeoutError if it did not)."""
        await asyncio.wait_for(self._closed_event.wait(), timeout)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                if await self._respond(writer):  # True: nothing more; wait for the client to go
                    await asyncio.wait_for(reader.read(), _STALL)
                    break
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            with contextlib.suppress(ConnectionError):
                writer.close()
            self.closed += 1
            self._closed_event.set()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)


def head(status: str = "200 OK", **headers: str | int) -> bytes:
    """A response head; header names from keywords (``content_type`` -> content-type)."""
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    """One piece of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


async def write_all(writer: asyncio.StreamWriter, *parts: bytes) -> None:
    """Write and wait until the client took it (raises ConnectionError once it closed)."""
    for part in parts:
        writer.write(part)
        await writer.drain()
