"""MockServer's streamed chat completions: chunk shapes, usage, n, tool calls, split pieces."""

from __future__ import annotations

import asyncio

import aiohttp

from rawgpt._mock.stream import content_span, pace, split_pieces
from rawgpt.testing import MockServer

from .conftest import CHAT, WEATHER, call, content_of, stream


async def test_stream_shape_with_usage(http: aiohttp.ClientSession, srv: MockServer) -> None:
    events, text = await stream(http, srv, stream_options={"include_usage": True})
    assert text.endswith("data: [DONE]\n\n") and events[-1] == "[DONE]"
    chunks = events[:-1]
    keys = {"id", "object", "created", "model", "system_fingerprint", "choices", "usage"}
    assert all(set(c) == keys and c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert all(c["usage"] is None for c in chunks[:-1])
    finish = chunks[-2]["choices"][0]
    assert finish["delta"] == {} and finish["finish_reason"] == "stop"
    assert finish["logprobs"] is None
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    _, plain, _ = await call(http, srv, CHAT)
    assert content_of(events) == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["usage"] == plain["usage"]
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert len(pieces) == len(srv.reply.split())


async def test_stream_without_usage_and_with_n(
    http: aiohttp.ClientSession, srv: MockServer
) -> None:
    events, _ = await stream(http, srv, n=2, max_tokens=2)
    chunks = events[:-1]
    assert all("usage" not in c for c in chunks)
    assert [c["choices"][0]["index"] for c in chunks] == [0, 1] * 4
    assert content_of(events, 0) == content_of(events, 1) == " ".join(srv.reply.split()[:2])
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_stream_chunks_and_fixed_reply(http: aiohttp.ClientSession) -> None:
    async with MockServer(reply="abcdefghij", stream_chunks=4, chunk_interval_ms=1) as srv:
        events, _ = await stream(http, srv)
        assert len(events) == 1 + 4 + 1 + 1
        assert content_of(events) == "abcdefghij"
    async with MockServer(stream_chunks=200) as srv:
        events, _ = await stream(http, srv)
        assert len(events) == 200 + 3
        assert content_of(events) == srv.reply and len(srv.reply.split()) == 200


async def test_stream_tool_calls(http: aiohttp.ClientSession, srv: MockServer) -> None:
    events, _ = await stream(http, srv, tools=[WEATHER])
    chunks = events[:-1]
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant" and first["content"] is None
    (call0,) = first["tool_calls"]
    assert call0["index"] == 0 and call0["id"].startswith("call_") and call0["type"] == "function"
    assert call0["function"] == {"name": "get_weather", "arguments": ""}
    pieces = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[1:-1]]
    assert len(pieces) > 1 and all(set(p) == {"index", "function"} for p in pieces)
    arguments = "".join(p["function"]["arguments"] for p in pieces)
    _, plain, _ = await call(http, srv, {**CHAT, "tools": [WEATHER]})
    assert arguments == plain["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "tool_calls",
    }


def test_split_pieces_concatenate() -> None:
    assert split_pieces("a b  c", None) == ("a", " b", " ", " c")
    assert split_pieces("", None) == ()
    assert split_pieces("abc", 5) == ("", "a", "", "b", "c")
    assert "".join(split_pieces("hello world", 3)) == "hello world"


def test_pace_without_first_token_waits_before_every_event_but_the_first() -> None:
    assert pace(4, 0.01, None, range(1, 3)) == [0.0, 0.01, 0.01, 0.01]
    assert pace(0, 0.01, None, range(0)) == []


def test_pace_with_first_token_paces_only_the_tokens() -> None:
    # role chunk, 3 tokens, finish, usage, [DONE]
    events = 1 + 3 + 3
    content = content_span(events, 1, include_usage=True)
    assert content == range(1, 4)
    assert pace(events, 0.01, 0.08, content) == [0.0, 0.08, 0.01, 0.01, 0.0, 0.0, 0.0]
    assert content_span(2 + 2 * 5 + 2 + 1, 2, include_usage=False) == range(2, 12)


async def test_first_token_delay_comes_after_the_role_chunk(http: aiohttp.ClientSession) -> None:
    loop = asyncio.get_running_loop()
    async with MockServer(first_token_ms=60, stream_chunks=3) as srv:
        body = {**CHAT, "stream": True}
        async with http.post(srv.base_url + "/chat/completions", json=body) as resp:
            headers_at = loop.time()
            role = await resp.content.readuntil(b"\n\n")
            role_at = loop.time()
            rest = await resp.content.read()
            rest_at = loop.time()
    assert b'"role":"assistant"' in role and role_at - headers_at < 0.05
    # the tokens waited for the first-token delay (counted by the server from the request's
    # arrival, a little before the headers came back here)
    assert rest_at - headers_at >= 0.05
    assert rest.endswith(b"data: [DONE]\n\n") and rest.count(b'"content":') == 3


async def test_a_responses_stream_is_paced_like_a_chat_stream(http: aiohttp.ClientSession) -> None:
    """The events before the first text delta go with the headers; the deltas wait for the
    first-token delay, then one chunk interval each."""
    loop = asyncio.get_running_loop()
    async with MockServer(first_token_ms=60, chunk_interval_ms=20, stream_chunks=3) as srv:
        body = {"model": "gpt-4o-mini", "input": "Say hello", "stream": True}
        async with http.post(srv.base_url + "/responses", json=body) as resp:
            headers_at = loop.time()
            created = await resp.content.readuntil(b"\n\n")
            created_at = loop.time()
            rest = await resp.content.read()
            rest_at = loop.time()
    assert created.startswith(b"event: response.created") and created_at - headers_at < 0.05
    assert rest_at - headers_at >= 0.09  # 60 ms, then 2 intervals of 20 ms
    assert rest.count(b"event: response.output_text.delta") == 3
