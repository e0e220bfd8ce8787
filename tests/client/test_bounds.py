"""Size caps (Limits.max_response_bytes, Limits.max_event_bytes) on real loopback sockets.

Past a cap a call raises APIResponseValidationError naming the cap and the Limits
field to raise, the connection is closed (the server sees its client go), and the
client's memory does not grow with the rest of the body.
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

import rawgpt

from ..conftest import KEY, MESSAGES, connector_of
from ..loopback import RawServer, chunk, head, write_all

MIB = 1024 * 1024
BLOCK = 64 * 1024


def open_connections(c: rawgpt.AsyncClient) -> int:
    connector = connector_of(c)
    return sum(len(v) for v in connector._conns.values()) + len(connector._acquired)


async def json_blocks(total: int) -> AsyncIterator[bytes]:
    """A valid JSON object of about ``total`` bytes, a block at a time."""
    yield b'{"id":"x","pad":"'
    for _ in range(total // BLOCK):
        yield b"a" * BLOCK
    yield b'"}'


async def peak_while(run: Callable[[], Any]) -> int:
    """The peak of traced memory while ``run()`` is awaited."""
    tracemalloc.start()
    try:
        await run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def expect_cap(
    server: RawServer, limits: rawgpt.Limits, call: Callable[[rawgpt.AsyncClient], Any]
) -> tuple[rawgpt.APIResponseValidationError, int]:
    """Run ``call``, expecting the cap's error; the error and the peak traced memory."""
    async with rawgpt.AsyncClient(
        api_key=KEY, base_url=server.base_url, limits=limits, max_retries=0
    ) as c:
        caught: list[BaseException] = []

        async def run() -> None:
            try:
                await call(c)
            except rawgpt.APIError as exc:
                caught.append(exc)

        peak = await peak_while(run)
        assert caught, "no error past the cap"
        error = caught[0]
        assert isinstance(error, rawgpt.APIResponseValidationError), repr(error)
        await server.wait_closed_by_client()  # dropped, not put back in the pool
        assert open_connections(c) == 0
    return error, peak


async def chat(c: rawgpt.AsyncClient) -> Any:
    return await c.chat.completions.create(model="m", messages=MESSAGES)


async def read_stream(c: rawgpt.AsyncClient) -> None:
    async with await c.chat.completions.create(model="m", messages=MESSAGES, stream=True) as s:
        async for _ in s:
            pass


# --------------------------------------------------------------------------- bodies


async def test_a_body_past_max_response_bytes_stops_at_the_cap() -> None:
    """64 MiB of JSON, chunked (no Content-Length): read to 1 MiB, then dropped."""

    async def respond(w: asyncio.StreamWriter) -> None:
        await write_all(w, head(content_type="application/json", transfer_encoding="chunked"))
        async for block in json_blocks(64 * MIB):
            await write_all(w, chunk(block))
        await write_all(w, b"0\r\n\r\n")

    async with RawServer(respond) as srv:
        error, peak = await expect_cap(srv, rawgpt.Limits(max_response_bytes=MIB), chat)
    assert "max_response_bytes (1048576 bytes)" in str(error)
    assert "rawgpt.Limits(max_response_bytes=" in str(error)
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_a_content_length_past_the_cap_fails_before_the_body() -> None:
    """A body announcing 100 MiB is refused at the headers (the default 64 MiB cap): the
    server sends nothing more, so a client that waited for the body would time out."""

    async def respond(w: asyncio.StreamWriter) -> bool:
        await write_all(w, head(content_type="application/json", content_length=100 * MIB))
        return True

    async with RawServer(respond) as srv:
        error, _ = await expect_cap(srv, rawgpt.Limits(), chat_with_read_timeout)
    assert "104857600 bytes (its Content-Length)" in str(error)
    assert "max_response_bytes (67108864 bytes)" in str(error)


async def chat_with_read_timeout(c: rawgpt.AsyncClient) -> Any:
    return await c.chat.completions.create(model="m", messages=MESSAGES, timeout=3)


def gzip_bomb(inflated: int) -> bytes:
    """A gzip member of ``inflated`` bytes of JSON that compresses ~1000:1."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(b'{"id":"x","pad":"')]
    block = b"a" * MIB
    for _ in range(inflated // MIB):
        out.append(z.compress(block))
    out.append(z.compress(b'"}'))
    out.append(z.flush())
    return b"".join(out)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_gzip_bomb_stops_at_the_cap(framing: str) -> None:
    """About 32 KB of gzip inflating to 32 MiB: counted after decompression, it stops at
    the 1 MiB cap; the Content-Length (the compressed size) is under the cap."""
    bomb = gzip_bomb(32 * MIB)
    assert len(bomb) < 64 * 1024

    async def respond(w: asyncio.StreamWriter) -> None:
        if framing == "chunked":
            h = head(
                content_type="application/json",
                content_encoding="gzip",
                transfer_encoding="chunked",
            )
            await write_all(w, h, chunk(bomb), b"0\r\n\r\n")
        else:
            h = head(
                content_type="application/json",
                content_encoding="gzip",
                content_length=len(bomb),
            )
            await write_all(w, h, bomb)

    async with RawServer(respond) as srv:
        error, peak = await expect_cap(srv, rawgpt.Limits(max_response_bytes=MIB), chat)
    assert "max_response_bytes (1048576 bytes)" in str(error)
    assert "after decompression" in str(error)
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_bodies_under_the_cap_are_read_and_pooled() -> None:
    """A gzip body and a chunked one under the cap come back whole, on one connection."""
    body = orjson.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi " * 1000}}],
        }
    )
    packed = gzip.compress(body)
    answers = [
        head(content_type="application/json", content_encoding="gzip", content_length=len(packed))
        + packed,
        head(content_type="application/json", transfer_encoding="chunked")
        + chunk(body[:100])
        + chunk(body[100:])
        + b"0\r\n\r\n",
        head(content_type="application/json", content_length=len(body)) + body,
    ]

    async def respond(w: asyncio.StreamWriter) -> None:
        await write_all(w, answers[(srv.requests - 1) % len(answers)])

    async with RawServer(respond) as srv:
        limits = rawgpt.Limits(max_response_bytes=len(body))
        async with rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, limits=limits) as c:
            for _ in range(6):
                r = await chat(c)
                assert r.choices[0].message.content == "hi " * 1000
            assert open_connections(c) == 1
        assert srv.connections == 1


async def test_an_error_body_past_the_cap_is_not_read_whole() -> None:
    async def respond(w: asyncio.StreamWriter) -> bool:
        await write_all(
            w, head("500 Internal Server Error", content_type="text/html", content_length=2 * MIB)
        )
        return True

    async with RawServer(respond) as srv:
        error, _ = await expect_cap(srv, rawgpt.Limits(max_response_bytes=MIB), chat)
    assert "max_response_bytes (1048576 bytes)" in str(error)


# --------------------------------------------------------------------------- SSE events


def sse_head() -> bytes:
    return head(content_type="text/event-stream", transfer_encoding="chunked")


@pytest.mark.parametrize("shape", ["line", "event"])
async def test_an_sse_line_or_event_past_max_event_bytes_raises(shape: str) -> None:
    """64 MiB of one line without a newline (or of one event's data lines without the
    blank line that ends it): the stream stops at the 1 MiB cap."""
    first = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    piece = b"a" * BLOCK if shape == "line" else b"data: a\n" * (BLOCK // 8)

    async def respond(w: asyncio.StreamWriter) -> None:
        await write_all(w, sse_head(), chunk(first), chunk(b"data: "))
        for _ in range(64 * MIB // BLOCK):
            await write_all(w, chunk(piece))
        await write_all(w, b"0\r\n\r\n")

    async with RawServer(respond) as srv:
        limits = rawgpt.Limits(max_event_bytes=MIB)
        error, peak = await expect_cap(srv, limits, read_stream)
    assert "max_event_bytes (1048576 bytes)" in str(error)
    assert "rawgpt.Limits(max_event_bytes=" in str(error)
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_a_stream_longer_than_max_response_bytes_is_fine() -> None:
    """The body cap is for bodies read whole: a stream is read event by event."""
    event = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"ab"}}]}\n\n'
    done = (
        b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )

    async def respond(w: asyncio.StreamWriter) -> None:
        await write_all(w, sse_head(), chunk(event * 200), chunk(done), b"0\r\n\r\n")

    async with RawServer(respond) as srv:
        limits = rawgpt.Limits(max_response_bytes=1000, max_event_bytes=1000)
        async with rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, limits=limits) as c:
            s = await c.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async with s:
                async for _ in s:
                    pass
            assert s.get_final_completion().choices[0].message.content == "ab" * 200
