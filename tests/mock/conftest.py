"""The mock server's tests: a MockServer on loopback, driven by a plain aiohttp.ClientSession.

Fixtures (``http``, ``srv``) and the helpers the test modules import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from rawgpt.testing import MockServer

AUTH = {"Authorization": "Bearer sk-test"}
MESSAGES = [{"role": "user", "content": "Say hello to the mock server please"}]  # 35 chars
CHAT = {"model": "gpt-4o-mini", "messages": MESSAGES}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        },
    },
}
DROPPED = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


@pytest.fixture
async def srv() -> AsyncIterator[MockServer]:
    async with MockServer() as server:
        yield server


async def call(
    http: aiohttp.ClientSession,
    srv: MockServer,
    body: dict[str, Any] | None = None,
    path: str = "/chat/completions",
    **headers: str,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """POST (or GET without a body); the JSON body, or the text when it is not JSON."""
    method = "GET" if body is None else "POST"
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    async with http.request(method, srv.base_url + path, json=body, headers=hdrs) as resp:
        raw = await resp.read()
    try:
        return resp.status, orjson.loads(raw), resp
    except orjson.JSONDecodeError:
        return resp.status, raw.decode(), resp


def sse(text: str) -> list[Any]:
    """Data payloads of an SSE body: parsed JSON, or the raw string ("[DONE]")."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                data = line[6:]
                out.append(data if data == "[DONE]" else orjson.loads(data))
    return out


async def stream(
    http: aiohttp.ClientSession, srv: MockServer, **extra: Any
) -> tuple[list[Any], str]:
    async with http.post(
        srv.base_url + "/chat/completions", json={**CHAT, "stream": True, **extra}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        text = (await resp.read()).decode()
    return sse(text), text


def content_of(events: list[Any], index: int = 0) -> str:
    return "".join(
        c["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict)
        for c in e["choices"]
        if c["index"] == index
    )
