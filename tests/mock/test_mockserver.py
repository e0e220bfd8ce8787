"""MockServer on real loopback sockets, driven by a plain aiohttp.ClientSession."""

from __future__ import annotations

import asyncio
import base64
import re
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from rawgpt._mock.faults import parse_fault
from rawgpt._mock.limits import _Bucket, format_duration
from rawgpt._mock.stream import split_pieces
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


# --- streaming ---------------------------------------------------------------------------


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
    assert int(h["openai-processing-ms"]) >= 0
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


# --- faults -----------------------------------------------------------------------------

STATUS_TYPES = [
    (400, "invalid_request_error", None),
    (401, "invalid_request_error", "invalid_api_key"),
    (404, "invalid_request_error", "model_not_found"),
    (409, "invalid_request_error", None),
    (422, "invalid_request_error", None),
    (500, "server_error", None),
    (503, "server_error", None),
]


@pytest.mark.parametrize(("status", "type_", "code"), STATUS_TYPES)
async def test_status_faults(
    http: aiohttp.ClientSession, srv: MockServer, status: int, type_: str, code: str | None
) -> None:
    srv.add_fault(f"status:{status}")
    got, body, resp = await call(http, srv, CHAT)
    assert got == status and resp.headers["Content-Type"] == "application/json"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == type_ and body["error"]["code"] == code
    assert "x-should-retry" not in resp.headers and "x-request-id" in resp.headers


async def test_html_and_should_retry(http: aiohttp.ClientSession, srv: MockServer) -> None:
    status, text, resp = await call(http, srv, CHAT, x_mock_fault="status:502:html")
    assert status == 502 and resp.headers["Content-Type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in text
    _, _, resp = await call(http, srv, CHAT, x_mock_fault="status:500:no_retry")
    assert resp.headers["x-should-retry"] == "false"
    _, _, resp = await call(http, srv, CHAT, x_mock_fault="status:400:retry")
    assert resp.headers["x-should-retry"] == "true"


async def test_rate_limit_quota_too_large_faults(
    http: aiohttp.ClientSession, srv: MockServer
) -> None:
    srv.add_fault("rate_limit:2")
    srv.add_fault("rate_limit")
    srv.add_fault("quota")
    srv.add_fault("too_large")
    status, body, resp = await call(http, srv, CHAT)
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert resp.headers["retry-after"] == "2" and resp.headers["retry-after-ms"] == "2000"
    assert "Please try again in 2s." in body["error"]["message"]
    _, _, resp = await call(http, srv, CHAT)
    assert resp.headers["retry-after"] == "1"
    _, body, _ = await call(http, srv, CHAT)
    assert body["error"]["code"] == body["error"]["type"] == "insufficient_quota"
    _, body, resp = await call(http, srv, CHAT)
    assert body["error"]["message"].startswith("Request too large for gpt-4o-mini")
    assert body["error"]["code"] == "rate_limit_exceeded" and body["error"]["type"] == "tokens"
    assert "retry-after" not in resp.headers
    assert srv.stats.rate_limited == 4


async def test_fault_queue_is_fifo_with_times(http: aiohttp.ClientSession, srv: MockServer) -> None:
    srv.add_fault("status:500", times=2)
    srv.add_fault("status:503")
    statuses = [(await call(http, srv, CHAT))[0] for _ in range(4)]
    assert statuses == [500, 500, 503, 200]
    srv.add_fault("status:500")
    srv.clear_faults()
    assert (await call(http, srv, CHAT))[0] == 200


@pytest.mark.parametrize(
    "spec",
    ["bogus", "status", "status:abc", "status:200", "cut", "stall:1", "reset:html", "quota:1"],
)
def test_bad_fault_specs(spec: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(spec))):
        MockServer().add_fault(spec)


async def test_bad_fault_header_is_400(http: aiohttp.ClientSession, srv: MockServer) -> None:
    status, body, _ = await call(http, srv, CHAT, x_mock_fault="explode")
    assert status == 400 and "'explode'" in body["error"]["message"]


def test_fault_adapts_to_stream_or_plain() -> None:
    assert parse_fault("cut:2").for_stream(False).kind == "reset"
    streamed = parse_fault("reset").for_stream(True)
    assert (streamed.kind, streamed.events) == ("cut", 1)
    assert parse_fault("stall:1:2").for_stream(False).kind == "stall"
    assert parse_fault("stream_error").for_stream(False).status == 500


async def test_reset_drops_the_body(http: aiohttp.ClientSession, srv: MockServer) -> None:
    srv.add_fault("reset", times=2)
    with pytest.raises(DROPPED):
        await call(http, srv, CHAT)
    with pytest.raises(DROPPED):
        await call(http, srv, {**CHAT, "stream": True})
    assert (await call(http, srv, CHAT))[0] == 200


async def test_cut_ends_stream_without_done(http: aiohttp.ClientSession, srv: MockServer) -> None:
    srv.add_fault("cut:3")
    received = b""
    with pytest.raises(DROPPED):
        async with http.post(
            srv.base_url + "/chat/completions", json={**CHAT, "stream": True}
        ) as r:
            async for data in r.content.iter_any():
                received += data
    assert b"[DONE]" not in received and received.count(b"data: ") <= 3


async def test_stall_and_slow_headers_then_finish(
    http: aiohttp.ClientSession, srv: MockServer
) -> None:
    events, _ = await stream(http, srv)
    srv.add_fault("stall:2:0.01")
    srv.add_fault("slow_headers:0.01")
    stalled, _ = await stream(http, srv)
    assert stalled[-1] == "[DONE]" and content_of(stalled) == content_of(events)
    slow, _ = await stream(http, srv)
    assert content_of(slow) == srv.reply
    status, body, _ = await call(http, srv, CHAT, x_mock_fault="stall:1:0.01")
    assert status == 200 and body["choices"][0]["message"]["content"] == srv.reply


async def test_malformed(http: aiohttp.ClientSession, srv: MockServer) -> None:
    status, text, resp = await call(http, srv, CHAT, x_mock_fault="malformed")
    assert status == 200 and resp.headers["Content-Type"] == "application/json"
    assert isinstance(text, str) and text.startswith('{"id":"chatcmpl-')
    async with http.post(
        srv.base_url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-mock-fault": "malformed"},
    ) as resp:
        lines = [ln for ln in (await resp.text()).split("\n\n") if ln]
    assert len(lines) == 3 and lines[-1] == "data: [DONE]"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(lines[1][6:])


@pytest.mark.parametrize("spec", ["stream_error", "stream_error_data"])
async def test_stream_errors(http: aiohttp.ClientSession, srv: MockServer, spec: str) -> None:
    srv.add_fault(spec)
    events, text = await stream(http, srv)
    assert len(events) == 3 and "[DONE]" not in events
    assert events[-1]["error"]["type"] == "server_error"
    assert ("event: error\ndata: {" in text) is (spec == "stream_error")


async def test_random_failures_are_seeded(http: aiohttp.ClientSession) -> None:
    runs = []
    for _ in range(2):
        async with MockServer(fail_rate=0.5, fail_status=503, seed=7) as srv:
            runs.append([(await call(http, srv, CHAT))[0] for _ in range(12)])
    assert runs[0] == runs[1] and set(runs[0]) == {200, 503}
    async with MockServer(fail_rate=1.0, fail_status=429) as srv:
        _, _, resp = await call(http, srv, CHAT)
        assert resp.status == 429 and resp.headers["retry-after"] == "1"


# --- rate limits ------------------------------------------------------------------------


async def test_rpm_enforced_with_fake_clock(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with MockServer(rpm=3, clock=clock) as srv:
        for remaining in (2, 1, 0):
            status, _, resp = await call(http, srv, CHAT)
            assert status == 200
            assert resp.headers["x-ratelimit-remaining-requests"] == str(remaining)
        assert resp.headers["x-ratelimit-reset-requests"] == "1m0s"
        status, body, resp = await call(http, srv, CHAT)
        assert status == 429
        assert body["error"]["type"] == "requests"
        assert body["error"]["code"] == "rate_limit_exceeded"
        assert body["error"]["message"] == (
            "Rate limit reached for gpt-4o-mini in organization org-mock on requests per min "
            "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        assert resp.headers["retry-after"] == "20" and resp.headers["retry-after-ms"] == "20000"
        clock.now += 20
        assert (await call(http, srv, CHAT))[0] == 200
        assert srv.stats.rate_limited == 1


async def test_tpm_enforced_and_too_large(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 40}], "max_tokens": 20}
    async with MockServer(tpm=100, clock=clock) as srv:  # cost 10 + 20 = 30 per request
        assert [(await call(http, srv, body))[0] for _ in range(3)] == [200, 200, 200]
        status, err, resp = await call(http, srv, body)
        assert status == 429 and err["error"]["type"] == "tokens"
        assert (
            "on tokens per min (TPM): Limit 100, Used 90, Requested 30." in err["error"]["message"]
        )
        assert "Please try again in 12s." in err["error"]["message"]
        assert resp.headers["retry-after-ms"] == "12000"
        clock.now += 12
        assert (await call(http, srv, body))[0] == 200
        status, err, _ = await call(http, srv, {**body, "max_tokens": 200, "n": 1})
        assert status == 429 and err["error"]["message"] == (
            "Request too large for m in organization org-mock on tokens per min (TPM): "
            "Limit 100, Requested 210. The input or output tokens must be reduced in order to "
            "run successfully. Visit https://platform.openai.com/account/rate-limits to learn more."
        )


async def test_fill_and_quota(http: aiohttp.ClientSession) -> None:
    async with MockServer(rpm=60, fill=0.0, clock=FakeClock()) as srv:
        status, body, _ = await call(http, srv, CHAT)
        assert status == 429 and "Please try again in 1s." in body["error"]["message"]
    async with MockServer(quota_exhausted=True) as srv:
        for path, payload in (("/chat/completions", CHAT), ("/models", None)):
            status, body, _ = await call(http, srv, payload, path)
            assert status == 429 and body["error"]["code"] == "insufficient_quota"
            assert body["error"]["message"].startswith("You exceeded your current quota")
        assert srv.stats.rate_limited == 2


def test_bucket_refills_continuously_up_to_limit() -> None:
    clock = FakeClock()
    bucket = _Bucket(60, fill=0.5, clock=clock)
    assert bucket.remaining() == 30 and bucket.reset_after() == pytest.approx(30)
    assert bucket.shortfall(31) == pytest.approx(1.0) and bucket.shortfall(30) == 0.0
    bucket.take(30)
    clock.now += 2.5
    assert bucket.level() == pytest.approx(2.5) and bucket.remaining() == 2
    clock.now += 1000
    assert bucket.remaining() == 60 and bucket.reset_after() == 0.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1s"),
        (360, "6m0s"),
        (59.733, "59.733s"),
        (0.12, "120ms"),
        (90.5, "1m30.5s"),
        (0, "0s"),
        (3725, "1h2m5s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# --- lifecycle ---------------------------------------------------------------------------


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
