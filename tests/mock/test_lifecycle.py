"""MockServer's start and stop: stopping with requests in flight, serve_forever."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from rawgpt.testing import MockServer

from .conftest import CHAT, DROPPED, call


def _server_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "web_protocol" in repr(t.get_coro())]


async def test_stop_with_a_stalled_stream(http: aiohttp.ClientSession) -> None:
    srv = MockServer(latency_ms=0.0)
    await srv.start()
    srv.add_fault("stall:1:30")
    async with http.post(srv.base_url + "/chat/completions", json={**CHAT, "stream": True}) as r:
        first = await r.content.readuntil(b"\n\n")
        assert first.startswith(b"data: {")
        await asyncio.wait_for(srv.stop(), 5)  # a guard against hanging, not a timing check
        with pytest.raises(DROPPED):
            await r.read()
    assert _server_tasks() == []
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, srv, CHAT)


async def test_stop_during_latency_and_serve_forever(http: aiohttp.ClientSession) -> None:
    srv = MockServer(latency_ms=30_000)
    await srv.start()
    pending = asyncio.create_task(call(http, srv, CHAT))
    while not srv.requests:
        await asyncio.sleep(0.001)
    serving = asyncio.create_task(srv.serve_forever())
    await asyncio.sleep(0)
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
    with pytest.raises(DROPPED):
        await pending
    assert _server_tasks() == []
    await srv.stop()  # idempotent
    async with MockServer() as again:
        forever = asyncio.create_task(again.serve_forever())
        await asyncio.sleep(0)
        await again.stop()
        await forever
