"""SSEStream, what every stream shares: nothing of a finished stream outlives it."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any, cast

import rawgpt
from rawgpt._streaming.chat import AsyncStream


class Body:
    """A RawResponse handing over one whole body, then its end."""

    def __init__(self, body: bytes) -> None:
        self.pieces = [body]
        self.headers: dict[str, str] = {}

    async def next_chunk(self) -> bytes:
        return self.pieces.pop() if self.pieces else b""

    def at_eof(self) -> bool:
        return not self.pieces

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


CHUNK = b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n'
BODY = b"".join(CHUNK % (b"x" * 100) for _ in range(20)) + b"data: [DONE]\n\n"


async def read_one() -> None:
    s: AsyncStream[Any] = AsyncStream(cast(Any, Body(BODY)))
    async with s:
        async for _ in s:
            pass
    assert s.completed


async def test_finished_streams_leave_nothing_behind() -> None:
    """The event that ends a stream ([DONE]) gives nothing out by raising inside the
    stream: a kept exception instance, raised again per stream, would keep every
    stream's frames (and through them the streams) in its growing traceback."""
    for _ in range(20):
        await read_one()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            await read_one()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after 200 streams"
    assert rawgpt.AsyncStream is AsyncStream
