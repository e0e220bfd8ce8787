"""The default rate limiter inside the client, against MockServer on real loopback sockets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import rawgpt
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES

MODEL = "gpt-4o-mini"


async def _burst(server: MockServer, n: int, **client_kwargs: Any) -> list[Any]:
    async with rawgpt.AsyncClient(
        api_key=KEY, base_url=server.base_url, seed=1, **client_kwargs
    ) as client:
        calls = [
            client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=5)
            for _ in range(n)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)


async def test_the_default_limiter_keeps_a_burst_under_the_limit() -> None:
    """600 RPM (10/s) with 30 requests in the bucket: 40 at once all pass, without 429s."""
    started = time.monotonic()
    async with MockServer(rpm=600, fill=0.05) as srv:
        results = await _burst(srv, 40, retry=rawgpt.Retry(max_retries=2, deadline=10.0))
        limited = srv.stats.rate_limited
        assert srv.stats.requests == 40 + limited
    elapsed = time.monotonic() - started
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert limited <= 1
    assert 0.7 < elapsed < 3.0  # ~10 requests wait for one second of refill


async def test_without_the_limiter_the_same_burst_meets_429s() -> None:
    async with MockServer(rpm=600, fill=0.05) as srv:
        results = await _burst(srv, 40, rate_limiter=False, max_retries=0)
        limited = srv.stats.rate_limited
    failed = [r for r in results if isinstance(r, rawgpt.RateLimitError)]
    assert limited >= 8 and len(failed) == limited


async def test_quota_exhausted_fails_fast_one_request_each() -> None:
    async with MockServer(quota_exhausted=True) as srv:
        started = time.monotonic()
        results = await _burst(srv, 20)
        assert time.monotonic() - started < 1.0
        assert srv.stats.requests == 20
    assert all(isinstance(r, rawgpt.QuotaExceededError) for r in results), results


async def test_too_large_for_the_learned_tpm_is_confirmed_once_then_never_sent() -> None:
    """The first call above the learned limit goes to the server, which refuses it as too
    large (not retried); that confirms the limit, and the next is refused before sending."""
    big = [{"role": "user", "content": "x" * 4000}]
    async with (
        MockServer(tpm=1000) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as client,
    ):
        await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=5)
        assert srv.stats.requests == 1
        with pytest.raises(rawgpt.RateLimitError, match="Request too large"):
            await client.chat.completions.create(model=MODEL, messages=big, max_tokens=5)
        assert srv.stats.requests == 2  # sent once, not retried
        with pytest.raises(rawgpt.RequestTooLargeError, match="1000 tokens per minute"):
            await client.chat.completions.create(model=MODEL, messages=big, max_tokens=5)
        assert srv.stats.requests == 2  # refused before sending


async def test_snapshot_reflects_the_learned_mock_limits() -> None:
    async with (
        MockServer(rpm=120, tpm=50_000) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as client,
    ):
        for _ in range(3):
            await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=5)
        assert client.rate_limiter is not None
        snap = client.rate_limiter.snapshot()[f"{srv.base_url}/{MODEL}"]
    assert snap["learned"] is True and snap["window"] is None
    assert snap["limit_requests"] == 120 and snap["limit_tokens"] == 50_000
    # 3 used, a little refill, minus the learning margin (1 + 20 ms of refill)
    assert 115 <= snap["remaining_requests"] <= 116
    cost = 2 + 5  # "Say hello" is 9 characters: 2 tokens, plus max_tokens
    assert 50_000 - 3 * cost - 19 <= snap["remaining_tokens"] <= 50_000 - 3 * cost  # margin ~18
    assert (snap["in_flight"], snap["waiting"], snap["cooldown"]) == (0, 0, 0.0)
    assert snap["breaker"] == "closed"


async def test_a_429_cools_down_the_other_callers() -> None:
    """The first answer is a 429 asking for 0.2s: nobody else sends before that is over."""
    async with MockServer() as srv:
        srv.add_fault("rate_limit:0.2", times=1)
        results = await _burst(srv, 6)
        assert srv.stats.rate_limited == 1
        assert srv.stats.requests == 7  # the 429, its retry, the other five
        arrivals = [r.time for r in srv.requests]
    assert all(isinstance(r, rawgpt.Response) for r in results)
    assert min(arrivals[1:]) - arrivals[0] >= 0.2


async def test_a_burst_against_a_full_bucket_on_a_server_answering_out_of_order() -> None:
    """130 calls at once, a full 120-request bucket refilling at 2/s, answers spread over
    0.3 s after admission (so they come back out of order): no answer is a 429.

    Learning from an answer must not credit back the requests admitted before it that the
    server may not have counted yet.
    """
    async with MockServer(rpm=120, latency_jitter_ms=300, seed=7) as srv:
        results = await _burst(srv, 130, max_retries=0)
        by_status = dict(srv.stats.by_status)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert by_status == {200: 130}


async def test_one_implausible_token_limit_does_not_wedge_the_client() -> None:
    """A gateway's one answer says the token limit is 10, later answers say nothing: a
    500-token call is let through to find out (not refused locally, not held for a minute),
    and once the server takes it the bogus limit is gone."""
    from aiohttp import web

    answers = 0
    costs: list[int] = []

    async def chat(request: web.Request) -> web.Response:
        nonlocal answers
        body = await request.json()
        costs.append(body.get("max_tokens") or 0)
        answers += 1
        headers = {}
        if answers == 1:
            headers = {
                "x-ratelimit-limit-tokens": "10",
                "x-ratelimit-remaining-tokens": "9",
                "x-ratelimit-limit-requests": "10000",
                "x-ratelimit-remaining-requests": "9999",
            }
        completion = {
            "id": f"chatcmpl-{answers}",
            "object": "chat.completion",
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok"},
                    "finish_reason": "stop",
                }
            ],
        }
        return web.json_response(completion, headers=headers)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with rawgpt.AsyncClient(
            api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
        ) as client:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=1)
            assert client.rate_limiter is not None
            [state] = client.rate_limiter.snapshot().values()
            assert state["limit_tokens"] == 10
            started = time.monotonic()
            big = await asyncio.wait_for(
                client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=500),
                timeout=15,
            )
            assert big.choices[0].message.content == "ok"
            assert time.monotonic() - started < 5
            [state] = client.rate_limiter.snapshot().values()
            assert state["limit_tokens"] is None  # the server took 500: 10 was wrong
            # and the next large call goes straight through
            await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=500)
    finally:
        await runner.cleanup()
    assert costs == [1, 500, 500]
