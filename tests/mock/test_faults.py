"""MockServer's injected faults: status errors, 429s, resets, cuts, stalls, malformed bodies."""

from __future__ import annotations

import re

import aiohttp
import orjson
import pytest

from rawgpt._mock.faults import parse_fault
from rawgpt.testing import MockServer

from .conftest import CHAT, DROPPED, call, content_of, stream

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
