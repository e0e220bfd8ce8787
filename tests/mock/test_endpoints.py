"""MockServer's endpoints: chat, embeddings, models, headers, request errors, records."""

from __future__ import annotations

import base64
import re
import struct

import aiohttp
import orjson
import pytest

from rawgpt.testing import MockServer

from .conftest import CHAT, MESSAGES, WEATHER, FakeClock, call

# --- plain completions -------------------------------------------------------------------


async def test_chat_completion_shape(http: aiohttp.ClientSession, srv: MockServer) -> None:
    status, body, _ = await call(http, srv, CHAT)
    assert status == 200
    assert set(body) == {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "system_fingerprint",
    }
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and body["model"] == "gpt-4o-mini"
    assert body["system_fingerprint"] == "fp_mock"
    (choice,) = body["choices"]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": srv.reply, "refusal": None},
        "logprobs": None,
        "finish_reason": "stop",
    }
    words = len(srv.reply.split())
    assert body["usage"] == {
        "prompt_tokens": 8,
        "completion_tokens": words,
        "total_tokens": 8 + words,
    }


async def test_n_choices(http: aiohttp.ClientSession, srv: MockServer) -> None:
    _, body, _ = await call(http, srv, {**CHAT, "n": 3})
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 3 * len(srv.reply.split())


@pytest.mark.parametrize("key", ["max_tokens", "max_completion_tokens"])
async def test_max_tokens_truncates_with_length(
    http: aiohttp.ClientSession, srv: MockServer, key: str
) -> None:
    _, body, _ = await call(http, srv, {**CHAT, key: 3})
    assert body["choices"][0]["message"]["content"] == " ".join(srv.reply.split()[:3])
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    _, body, _ = await call(http, srv, {**CHAT, key: 500})
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_tools_give_tool_calls(http: aiohttp.ClientSession, srv: MockServer) -> None:
    other = {"type": "function", "function": {"name": "other"}}
    _, body, _ = await call(http, srv, {**CHAT, "tools": [WEATHER, other]})
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None and message["role"] == "assistant"
    (tool_call,) = message["tool_calls"]
    assert tool_call["id"].startswith("call_") and tool_call["type"] == "function"
    assert tool_call["function"]["name"] == "get_weather"
    assert orjson.loads(tool_call["function"]["arguments"]) == {"city": "mock", "unit": "c"}
    named = {"type": "function", "function": {"name": "other"}}
    _, body, _ = await call(http, srv, {**CHAT, "tools": [WEATHER, other], "tool_choice": named})
    tool_call = body["choices"][0]["message"]["tool_calls"][0]
    assert tool_call["function"] == {"name": "other", "arguments": '{"x": 1}'}
    _, body, _ = await call(http, srv, {**CHAT, "tools": [WEATHER], "tool_choice": "none"})
    assert body["choices"][0]["message"]["content"] == srv.reply


# --- other endpoints, headers, errors ----------------------------------------------------


async def test_embeddings(http: aiohttp.ClientSession, srv: MockServer) -> None:
    body = {"model": "text-embedding-3-small", "input": ["one", "two"]}
    status, out, _ = await call(http, srv, body, "/embeddings")
    assert status == 200 and out["object"] == "list" and out["model"] == body["model"]
    assert [d["index"] for d in out["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 8 for d in out["data"])
    assert out["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    _, again, _ = await call(http, srv, {**body, "input": "one", "dimensions": 4}, "/embeddings")
    assert len(again["data"]) == 1 and len(again["data"][0]["embedding"]) == 4
    _, b64, _ = await call(http, srv, {**body, "encoding_format": "base64"}, "/embeddings")
    floats = struct.unpack("<8f", base64.b64decode(b64["data"][0]["embedding"]))
    assert floats == pytest.approx(out["data"][0]["embedding"], rel=1e-6)
    status, err, _ = await call(http, srv, {"model": "m", "input": [{"x": 1}]}, "/embeddings")
    assert status == 400 and err["error"]["param"] == "input"


async def test_models(http: aiohttp.ClientSession, srv: MockServer) -> None:
    status, body, _ = await call(http, srv, None, "/models")
    assert status == 200 and body["object"] == "list"
    assert all(m["object"] == "model" for m in body["data"])


async def test_headers(http: aiohttp.ClientSession) -> None:
    async with MockServer(clock=FakeClock()) as srv:
        _, _, first = await call(http, srv, CHAT)
        _, _, second = await call(http, srv, None, "/nope")
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(i.startswith("req_") for i in ids)
    h = first.headers
    assert h["openai-processing-ms"].isdigit()  # a whole number of ms (never negative)
    assert int(h["x-ratelimit-limit-requests"]) == 1_000_000
    assert int(h["x-ratelimit-limit-tokens"]) == 1_000_000_000
    assert int(h["x-ratelimit-remaining-requests"]) == 999_999
    assert int(h["x-ratelimit-remaining-tokens"]) == 1_000_000_000 - (8 + 16)
    duration = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$")
    assert duration.match(h["x-ratelimit-reset-requests"])
    assert duration.match(h["x-ratelimit-reset-tokens"])


async def test_auth_and_request_errors(http: aiohttp.ClientSession, srv: MockServer) -> None:
    async with aiohttp.ClientSession() as bare:
        status, body, _ = await call(bare, srv, CHAT)
    assert status == 401 and body["error"]["code"] is None
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("You didn't provide an API key")
    status, body, _ = await call(http, srv, {"messages": MESSAGES})
    assert status == 400
    assert body == {
        "error": {
            "message": "you must provide a model parameter",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    status, body, _ = await call(http, srv, {"model": "m"})
    assert status == 400 and body["error"]["param"] == "messages"
    status, body, _ = await call(http, srv, {**CHAT, "n": 0})
    assert status == 400 and body["error"]["param"] == "n"
    async with http.post(srv.base_url + "/chat/completions", data=b"{not json") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["type"] == "invalid_request_error"
    status, body, _ = await call(http, srv, CHAT, "/nope")
    assert status == 404 and body["error"]["message"] == "Invalid URL (POST /v1/nope)"


async def test_api_key_option(http: aiohttp.ClientSession) -> None:
    async with MockServer(api_key="sk-right-0123456789") as srv:
        status, body, _ = await call(http, srv, CHAT)
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
        assert "sk-test" not in body["error"]["message"]
        status, _, _ = await call(http, srv, CHAT, Authorization="Bearer sk-right-0123456789")
        assert status == 200


async def test_requests_and_stats_are_recorded(
    http: aiohttp.ClientSession, srv: MockServer
) -> None:
    await call(http, srv, CHAT)
    await call(http, srv, None, "/models", x_mock_fault="status:500")
    first, second = srv.requests
    assert first.method == "POST" and first.path == "/v1/chat/completions"
    assert first.body == CHAT and first.headers["authorization"] == "Bearer sk-test"
    assert second.body is None and second.time >= first.time
    assert srv.stats.requests == 2 and srv.stats.by_status == {200: 1, 500: 1}
    assert srv.stats.faults == 1 and srv.stats.rate_limited == 0
    async with MockServer(record_requests=False) as quiet:
        await call(http, quiet, CHAT)
        assert quiet.requests == [] and quiet.stats.requests == 1
