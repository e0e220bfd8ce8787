"""Streaming through the client: chunks, merging, errors, and connection hygiene."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import orjson
import pytest

import rawgpt
from rawgpt._mock.responses import default_reply
from rawgpt._streaming.base import _HELD, _SLICE
from rawgpt.testing import MockServer
from rawgpt.types import ChatCompletionChunk

from ..conftest import KEY, MESSAGES, connector_of
from ..loopback import RawServer, chunk, head, write_all


async def stream(c: rawgpt.AsyncClient, **kw: Any) -> rawgpt.AsyncStream[ChatCompletionChunk]:
    s: rawgpt.AsyncStream[ChatCompletionChunk]  # **kw: Any leaves the overload undecided
    s = await c.chat.completions.create(model="m", messages=MESSAGES, stream=True, **kw)
    return s


def open_connections(c: rawgpt.AsyncClient) -> int:
    connector = connector_of(c)
    idle = sum(len(v) for v in connector._conns.values())
    return idle + len(connector._acquired)


async def test_stream_chunks_add_up_to_the_plain_reply(client: rawgpt.AsyncClient) -> None:
    plain = await client.chat.completions.create(model="m", messages=MESSAGES)
    s = await stream(client, stream_options={"include_usage": True})
    pieces = []
    async with s:
        async for chunk in s:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
    assert "".join(pieces) == plain.choices[0].message.content
    assert s.request_id and s.completed
    final = s.get_final_completion()
    assert final.choices[0].message.content == plain.choices[0].message.content
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and plain.usage is not None
    assert final.usage.total_tokens == plain.usage.total_tokens
    assert final.request_id == s.request_id


async def test_final_delta_content_reads_none(client: rawgpt.AsyncClient) -> None:
    chunks = []
    async with await stream(client) as s:
        async for chunk in s:
            chunks.append(chunk)
    assert chunks[-1].choices[0].delta.content is None
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_tool_calls_and_n_merge(client: rawgpt.AsyncClient) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    plain = await client.chat.completions.create(model="m", messages=MESSAGES, tools=tools, n=2)
    s = await stream(client, tools=tools, n=2)
    async with s:
        async for _ in s:
            pass
    final = s.get_final_completion()
    assert len(final.choices) == 2
    for got, want in zip(final.choices, plain.choices, strict=True):
        assert got.finish_reason == "tool_calls"
        assert got.message.tool_calls is not None and want.message.tool_calls is not None
        call, want_call = got.message.tool_calls[0], want.message.tool_calls[0]
        assert call.type == "function" and want_call.type == "function"
        assert call.function.name == "lookup"
        assert call.function.arguments == want_call.function.arguments
        assert call.id


async def test_final_completion_needs_a_finished_stream(client: rawgpt.AsyncClient) -> None:
    s = await stream(client)
    async with s:
        async for _ in s:
            break
    with pytest.raises(RuntimeError, match="closed early"):
        s.get_final_completion()


@pytest.mark.parametrize("spec", ["cut:3", "reset"])
async def test_a_cut_stream_raises(
    client: rawgpt.AsyncClient, server: MockServer, spec: str
) -> None:
    server.add_fault(spec)
    got = 0
    with pytest.raises(rawgpt.APIConnectionError):
        async with await stream(client) as s:
            async for _ in s:
                got += 1
    assert not s.completed
    if spec == "cut:3":
        assert got == 3


@pytest.mark.parametrize("spec", ["stream_error", "stream_error_data"])
async def test_error_inside_a_stream_raises_a_status_error(
    client: rawgpt.AsyncClient, server: MockServer, spec: str
) -> None:
    server.add_fault(spec)
    with pytest.raises(rawgpt.APIStatusError) as info:
        async with await stream(client) as s:
            async for _ in s:
                pass
    assert info.value.type == "server_error"


async def test_a_stalled_stream_times_out(server: MockServer) -> None:
    server.add_fault("stall:2:30")
    t = rawgpt.Timeout(connect=1, read=0.3)
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, timeout=t) as c:
        with pytest.raises(rawgpt.APITimeoutError):
            async with await stream(c) as s:
                async for _ in s:
                    pass
        assert open_connections(c) == 0


async def test_long_healthy_stream_outlives_the_read_timeout() -> None:
    """Read is an idle limit: a stream longer than it, but never silent that long, lives."""
    async with MockServer(stream_chunks=12, chunk_interval_ms=50) as srv:
        t = rawgpt.Timeout(connect=1, read=0.25)
        async with rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, timeout=t) as c:
            async with await stream(c) as s:
                n = sum([1 async for _ in s])
            assert n >= 12 and s.completed


async def test_stream_retried_before_first_byte(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    server.add_fault("status:500")
    async with await stream(client) as s:
        chunks = [c async for c in s]
    assert chunks and len(server.requests) == 2


async def test_cancelling_a_reader_closes_the_response(server: MockServer) -> None:
    server.add_fault("stall:1:30")
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
        s = await stream(c)
        first = asyncio.Event()

        async def read() -> None:
            async with s:
                async for _ in s:
                    first.set()

        task = asyncio.create_task(read())
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert open_connections(c) == 0


async def test_many_streams_reuse_connections_and_leak_nothing() -> None:
    """1,000 streams read to the end and 1,000 abandoned with break."""
    limit = 8
    async with MockServer(stream_chunks=5, record_requests=False) as srv:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            c = rawgpt.AsyncClient(
                api_key=KEY, base_url=srv.base_url, limits=rawgpt.Limits(max_connections=limit)
            )
            sem = asyncio.Semaphore(limit)

            async def one(i: int) -> None:
                async with sem:
                    s = await stream(c)
                    async with s:
                        async for _ in s:
                            if i % 2:
                                break
                    assert s.completed is (i % 2 == 0)

            await asyncio.gather(*(one(i) for i in range(2000)))
            assert open_connections(c) <= limit
            connector = connector_of(c)
            await c.close()
            gc.collect()
        assert not [w for w in caught if "Unclosed" in str(w.message)]
        assert connector.closed


async def test_normally_ended_streams_reuse_one_connection(server: MockServer) -> None:
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
        for _ in range(20):
            async with await stream(c) as s:
                async for _ in s:
                    pass
            assert s.completed
            assert open_connections(c) == 1  # back in the pool, not closed


async def test_a_stream_read_whole_is_decoded_a_slice_at_a_time() -> None:
    """Most of a 1,500-chunk stream arrives in reads far larger than a slice: nothing is
    lost or reordered across the slice edges, and the first chunk comes from the first slice."""
    srv = MockServer(stream_chunks=1500, reply="word " * 1500)
    async with srv, rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c:
        plain = await c.chat.completions.create(model="m", messages=MESSAGES)
        s = await stream(c)
        sizes, pieces = [], []
        async with s:
            async for chunk in s:
                sizes.append(len(s._read))
                pieces.append(chunk.choices[0].delta.content or "")
    assert max(sizes) > 4 * _SLICE  # reads larger than a slice happened
    assert "".join(pieces) == plain.choices[0].message.content and s.completed


# --------------------------------------------------------------------------- what a stream holds


def reasoning_and_audio_events() -> bytes:
    """A stream as vLLM/DeepSeek (reasoning_content), OpenRouter (reasoning) and audio
    output send it, two choices interleaved."""

    def event(index: int, finish: str | None = None, **delta: Any) -> bytes:
        part = {"index": index, "delta": delta, "finish_reason": finish}
        return b"data: " + orjson.dumps({"id": "c1", "model": "m", "choices": [part]}) + b"\n\n"

    return b"".join(
        [
            event(0, role="assistant", content=""),
            event(1, role="assistant", content=None, audio={"id": "audio_1", "transcript": "Hi"}),
            event(0, reasoning_content="Let me ", reasoning="Let me "),
            event(1, audio={"id": "audio_1", "data": "AAAA", "transcript": " there"}),
            event(0, reasoning_content="think.", reasoning="think."),
            event(1, audio={"data": "BBBB", "expires_at": 1700000000}),
            event(0, "stop", content="Done"),
            event(1, "stop"),
            b"data: [DONE]\n\n",
        ]
    )


async def test_reasoning_and_audio_deltas_merge_through_a_stream() -> None:
    body = reasoning_and_audio_events()

    async def respond(w: asyncio.StreamWriter) -> None:
        h = head(content_type="text/event-stream", transfer_encoding="chunked")
        await write_all(w, h, *(chunk(body[i : i + 50]) for i in range(0, len(body), 50)))
        await write_all(w, b"0\r\n\r\n")

    async with RawServer(respond) as srv:
        c = rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url)
        async with c, await stream(c) as s:
            async for _ in s:
                pass
    final = s.get_final_completion()
    thought, spoken = final.choices[0].message, final.choices[1].message
    assert thought.content == "Done"
    assert thought.to_dict()["reasoning_content"] == "Let me think."
    assert thought.to_dict()["reasoning"] == "Let me think."
    assert spoken.audio is not None
    assert spoken.audio.id == "audio_1"
    assert spoken.audio.data == "AAAABBBB"
    assert spoken.audio.transcript == "Hi there"
    assert spoken.audio.expires_at == 1700000000


async def test_a_long_stream_still_reports_its_usage_and_finish_reason() -> None:
    """More chunks than a stream holds unmerged: the usage event reads the merged ones."""
    events: list[rawgpt.RequestEvent] = []
    server_chunks = 3 * _HELD
    async with MockServer(stream_chunks=server_chunks) as srv:
        c = rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url)
        c.add_hook(events.append)
        async with c:
            plain = await c.chat.completions.create(model="m", messages=MESSAGES)
            s = await stream(c, stream_options={"include_usage": True})
            async with s:
                n = sum([1 async for _ in s])
    assert n > server_chunks
    final = s.get_final_completion()
    assert final.choices[0].message.content == plain.choices[0].message.content
    assert final.usage is not None and plain.usage is not None
    assert final.usage.total_tokens == plain.usage.total_tokens
    last = events[-1]
    assert last.stream and last.finish_reason == "stop"
    assert last.completion_tokens == plain.usage.completion_tokens


def mock_server_process(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    """``rawgpt mock-server`` in its own process (its memory is not the client's)."""
    root = str(Path(rawgpt.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "rawgpt", "mock-server", "--port", "0", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    match = re.search(r"(http://\S+/v1)", line)
    if match is None:
        proc.kill()
        raise AssertionError(f"mock-server did not start: {line!r}")
    return proc, match.group(1)


async def test_a_60000_chunk_stream_holds_its_merge_not_its_chunks() -> None:
    """60,000 small deltas: the stream's peak memory is that of the merged completion
    (a few MB), not of every chunk it gave out (about 1 KB each, 60 MB)."""
    chunks = 60_000
    proc, base_url = await asyncio.to_thread(mock_server_process, "--stream-chunks", str(chunks))
    try:
        async with rawgpt.AsyncClient(api_key=KEY, base_url=base_url) as c:
            tracemalloc.start()
            try:
                s = await stream(c)
                n = 0
                async with s:
                    async for _ in s:
                        n += 1
                final = s.get_final_completion()
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert n >= chunks and s.completed
    content = final.choices[0].message.content
    assert content is not None
    assert len(content) == len(default_reply(chunks))
    assert content == default_reply(chunks)
    print(f"peak traced memory: {peak / 2**20:.1f} MiB")
    assert peak < 15 * 2**20, f"peak {peak / 2**20:.1f} MiB"
