"""RedisRateLimiter against a real redis-server: two limiters stand for two processes."""

from __future__ import annotations

import asyncio
import itertools
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

import rawgpt
from rawgpt import APITimeoutError, RedisRateLimiter, RequestTooLargeError
from rawgpt._errors import status_error
from rawgpt._ratelimit.redis.queue import SharedTicket
from rawgpt._ratelimit.state import Ticket
from rawgpt.testing import MockServer

from ..conftest import KEY as API_KEY
from ..conftest import MESSAGES
from ..redis_server import RedisServer, free_port

KEY = ("http://api/v1", "gpt-4o-mini")
_names = itertools.count()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of the test's own, to stop, restart and pause."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def ns() -> str:
    return f"test{next(_names)}-{time.monotonic_ns()}"


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Any]:
    client = aioredis.from_url(redis_server.url)
    yield client
    await client.aclose()


def limiter(url: str, ns: str, **kwargs: Any) -> RedisRateLimiter:
    kwargs.setdefault("learn_margin", 0.0)  # exact arithmetic
    return RedisRateLimiter(url, namespace=ns, **kwargs)


def headers(
    rpm: int, rpm_left: int, tpm: int = 1_000_000, tpm_left: int = 1_000_000
) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(rpm),
        "x-ratelimit-remaining-requests": str(rpm_left),
        "x-ratelimit-limit-tokens": str(tpm),
        "x-ratelimit-remaining-tokens": str(tpm_left),
    }


async def drain(*limiters: RedisRateLimiter) -> None:
    """Wait until the releases have reached Redis."""
    for lim in limiters:
        while lim._tasks:
            await asyncio.gather(*list(lim._tasks))


async def learn(lim: RedisRateLimiter, hdrs: dict[str, str]) -> None:
    """One request through ``lim`` (the slow-start probe) whose answer carries ``hdrs``."""
    lim.release(await lim.acquire(KEY, 1), hdrs)
    await drain(lim)


async def admitted_now(*limiters: RedisRateLimiter, tries: int = 10) -> list[int]:
    """How many of ``tries`` calls per limiter, interleaved, are admitted without waiting."""
    calls = [
        lim.acquire(KEY, 1, deadline=lim.now() + 0.05) for _ in range(tries) for lim in limiters
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for r in results:
        assert isinstance(r, Ticket | APITimeoutError), r
    return [
        sum(isinstance(r, Ticket) for r in results[i :: len(limiters)])
        for i in range(len(limiters))
    ]


async def test_two_processes_draw_from_one_budget(redis_server: RedisServer, ns: str) -> None:
    async with limiter(redis_server.url, ns) as a, limiter(redis_server.url, ns) as b:
        await learn(a, headers(60, 10))  # 1 request/s refill: nothing more within the test
        counts = await admitted_now(a, b, tries=10)
        assert sum(counts) == 10 and min(counts) >= 1  # never 20: the admission is atomic
        with pytest.raises(APITimeoutError, match="would pass the deadline"):
            await b.acquire(KEY, 1, deadline=b.now() + 0.05)


async def test_waiting_heads_keep_fifo_order_across_processes(
    redis_server: RedisServer, ns: str, raw: Any
) -> None:
    """A large request waiting in one process is not overtaken by small ones from another."""
    async with limiter(redis_server.url, ns) as a, limiter(redis_server.url, ns) as b:
        await learn(a, headers(6000, 6000, tpm=600, tpm_left=0))  # 10 tokens/s, none left
        large = asyncio.ensure_future(a.acquire(KEY, 5))  # ~0.5 s of refill
        for _ in range(100):  # until a's head waits in the line shared by the processes
            if await raw.hlen(f"{ns}:{{http://api/v1/gpt-4o-mini}}:queue"):
                break
            await asyncio.sleep(0.01)
        with pytest.raises(APITimeoutError, match="would pass the deadline"):
            await b.acquire(KEY, 1, deadline=b.now() + 0.3)  # alone it would go in 0.1 s
        small = await b.acquire(KEY, 1, deadline=b.now() + 5.0)
        assert large.done() and (await large).req_mark < small.req_mark


async def test_what_one_process_learns_every_process_knows(
    redis_server: RedisServer, ns: str
) -> None:
    async with limiter(redis_server.url, ns) as a, limiter(redis_server.url, ns) as b:
        await learn(a, headers(600, 500, tpm=1000, tpm_left=900))
        test = await b.acquire(KEY, 1500)  # b never saw a header: it goes to test the limit
        assert isinstance(test, SharedTicket) and test.oversize
        b.release(test, sent=False)  # never sent: its charge (the bucket's 900) comes back
        await drain(b)
        ticket = await b.acquire(KEY, 100)
        assert isinstance(ticket, SharedTicket)
        snap = b.snapshot()["http://api/v1/gpt-4o-mini"]
        assert snap["shared"] and snap["learned"] and snap["window"] is None
        assert (snap["limit_requests"], snap["limit_tokens"]) == (600, 1000)
        assert 498 <= snap["remaining_requests"] <= 499 and 799 <= snap["remaining_tokens"] <= 801
        assert snap["in_flight"] == 1
        b.release(ticket, sent=False)  # never sent: the charge comes back
        await drain(b)
        await b.acquire(KEY, 1)
        assert b.snapshot()["http://api/v1/gpt-4o-mini"]["remaining_tokens"] >= 899


async def test_a_429_cools_down_every_process(redis_server: RedisServer, ns: str) -> None:
    body = {"error": {"message": "Rate limit reached. Please try again in 400ms.",
                      "type": "requests", "code": "rate_limit_exceeded"}}  # fmt: skip
    error = status_error(429, orjson.dumps(body), {"retry-after-ms": "400"})
    async with limiter(redis_server.url, ns) as a, limiter(redis_server.url, ns) as b:
        await learn(a, headers(600, 500))
        a.release(await a.acquire(KEY, 1), None, error)
        await drain(a)
        with pytest.raises(APITimeoutError, match=r"wait of 0\.[34]\ds would pass"):
            await b.acquire(KEY, 1, deadline=b.now() + 0.1)
        assert 0.3 < b.snapshot()["http://api/v1/gpt-4o-mini"]["cooldown"] <= 0.45
        assert isinstance(await b.acquire(KEY, 1, deadline=b.now() + 2.0), SharedTicket)


def too_large_429() -> Any:
    message = "Request too large for gpt-4o-mini on tokens per min (TPM): Limit 1000"
    body = {"error": {"message": message, "type": "tokens", "code": "rate_limit_exceeded"}}
    return status_error(429, orjson.dumps(body), {})


async def test_a_shared_token_limit_refuses_only_once_the_server_confirmed_it(
    redis_server: RedisServer, ns: str
) -> None:
    """The same rule as in process: one larger call at a time goes through to find out; the
    server's "Request too large" confirms the limit for every process."""
    async with limiter(redis_server.url, ns) as a, limiter(redis_server.url, ns) as b:
        await learn(a, headers(600, 500, tpm=1000, tpm_left=1000))
        big = await asyncio.wait_for(a.acquire(KEY, 5000), timeout=1)  # no wait for a refill
        with pytest.raises(APITimeoutError):  # one test at a time, in every process
            await b.acquire(KEY, 5000, deadline=b.now() + 0.2)
        a.release(big, None, too_large_429())
        await drain(a)
        with pytest.raises(RequestTooLargeError, match="1000 tokens per minute"):
            await b.acquire(KEY, 5000)


async def test_a_shared_token_limit_the_server_exceeds_is_forgotten(
    redis_server: RedisServer, ns: str
) -> None:
    async with limiter(redis_server.url, ns) as a, limiter(redis_server.url, ns) as b:
        await learn(a, headers(600, 500, tpm=10, tpm_left=9))
        big = await asyncio.wait_for(a.acquire(KEY, 500), timeout=1)
        a.release(big, {})  # the server took it, without rate-limit headers
        await drain(a)
        await asyncio.wait_for(b.acquire(KEY, 500), timeout=1)
        assert b.snapshot()["http://api/v1/gpt-4o-mini"]["limit_tokens"] is None


async def test_shared_limits_no_answer_repeats_are_forgotten(
    redis_server: RedisServer, ns: str
) -> None:
    async with limiter(redis_server.url, ns, forget_after=0.3) as a:
        await learn(a, headers(60, 59, tpm=10, tpm_left=9))
        a.release(await a.acquire(KEY, 1), {})
        await drain(a)
        assert a.snapshot()["http://api/v1/gpt-4o-mini"]["limit_requests"] == 60
        await asyncio.sleep(0.4)
        a.release(await a.acquire(KEY, 1), {})
        await drain(a)
        state = a.snapshot()["http://api/v1/gpt-4o-mini"]
        assert state["learned"] is False and state["limit_requests"] is None


async def test_state_runs_on_redis_time_whatever_the_local_clocks(
    redis_server: RedisServer, ns: str, raw: Any
) -> None:
    skewed = limiter(redis_server.url, ns, clock=lambda: time.monotonic() + 86_400.0)
    async with limiter(redis_server.url, ns) as a, skewed as b:
        await learn(a, headers(60, 6))
        assert await admitted_now(b, tries=10) == [6]  # a day ahead, yet the same buckets
        secs, micros = await raw.time()
        server_now = secs + micros / 1e6
        state = await raw.hgetall(f"{ns}:{{http://api/v1/gpt-4o-mini}}:state")
        assert (
            abs(float(state[b"rs"]) - server_now) < 5 and abs(float(state[b"ts"]) - server_now) < 5
        )
        leases = await raw.zrange(
            f"{ns}:{{http://api/v1/gpt-4o-mini}}:leases", 0, -1, withscores=True
        )
        assert len(leases) == 6 and all(abs(s - 30 - server_now) < 5 for _, s in leases)


async def test_keys_expire(redis_server: RedisServer, ns: str, raw: Any) -> None:
    async with limiter(redis_server.url, ns, ttl=120) as a:
        await learn(a, headers(60, 6))
        await a.acquire(KEY, 1)
        for suffix in ("state", "leases"):
            ttl = await raw.pttl(f"{ns}:{{http://api/v1/gpt-4o-mini}}:{suffix}")
            assert 110_000 < ttl <= 120_000


async def test_slow_start_is_shared_and_survives_a_crashed_process(
    redis_server: RedisServer, ns: str
) -> None:
    crashed = limiter(redis_server.url, ns, lease=0.3)
    async with limiter(redis_server.url, ns) as b:
        await crashed.acquire(KEY, 1)  # the probe; its process dies before the answer
        await crashed.aclose()
        with pytest.raises(APITimeoutError, match="deadline reached"):
            await b.acquire(KEY, 1, deadline=b.now() + 0.1)  # one probe at a time, in all
        ticket = await b.acquire(KEY, 1, deadline=b.now() + 3.0)  # the lease lapsed
        b.release(ticket, {})  # a success without headers: the window doubles
        await drain(b)
        first, second = await b.acquire(KEY, 1), await b.acquire(KEY, 1)
        assert b.snapshot()["http://api/v1/gpt-4o-mini"]["window"] == 2
        with pytest.raises(APITimeoutError):
            await b.acquire(KEY, 1, deadline=b.now() + 0.1)
        b.release(first, headers(600, 100))  # headers: learned, the window is over
        await drain(b)
        assert (await admitted_now(b, tries=5)) == [5]
        b.release(second, None)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_redis_down_falls_back_in_process_and_comes_back(
    own_redis: RedisServer, ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rawgpt")
    name = "http://api/v1/gpt-4o-mini"
    async with (
        limiter(own_redis.url, ns, probe_interval=0.2) as lim,
        limiter(own_redis.url, ns) as other,
    ):
        await learn(lim, headers(6000, 5000))
        await learn(other, headers(6000, 5000))
        await learn(lim, headers(6000, 5000))
        assert lim.snapshot()[name]["limiters"] == 2
        own_redis.stop()
        for _ in range(10):  # every call completes, limited in process
            ticket = await lim.acquire(KEY, 1, deadline=lim.now() + 1.0)
            assert not isinstance(ticket, SharedTicket)
            lim.release(ticket, headers(6000, 4000))
        snap = lim.snapshot()[name]
        assert not lim.shared and snap["shared"] is False
        assert snap["limit_requests"] == 3000  # its share: two limiters were sharing
        (warning,) = _warnings(caplog)  # once per outage, not once per call
        assert f"Redis at {own_redis.url} failed" in warning and "limiting in process" in warning
        own_redis.start()
        give_up = time.monotonic() + 5
        while not lim.shared and time.monotonic() < give_up:
            lim.release(await lim.acquire(KEY, 1), headers(6000, 4000))
            await asyncio.sleep(0.05)
        assert any("is back" in r.getMessage() for r in caplog.records)
        ticket = await lim.acquire(KEY, 1)
        assert isinstance(ticket, SharedTicket)  # shared again (a fresh Redis: the probe)
        lim.release(ticket, headers(6000, 3000))
        await drain(lim)
        assert lim.snapshot()[name]["limit_requests"] == 6000
        own_redis.stop()
        await lim.acquire(KEY, 1, deadline=lim.now() + 1.0)
        assert len(_warnings(caplog)) == 2  # a second outage, a second warning


async def test_a_hung_redis_never_hangs_a_call(own_redis: RedisServer, ns: str) -> None:
    async with limiter(own_redis.url, ns, timeout=0.1) as lim:
        await learn(lim, headers(600, 500))
        own_redis.pause()
        try:
            started = time.monotonic()
            ticket = await lim.acquire(KEY, 1, deadline=lim.now() + 2.0)
            assert time.monotonic() - started < 1.0 and not lim.shared
            lim.release(ticket, headers(600, 400))
        finally:
            own_redis.resume()


async def test_unreachable_from_the_start(ns: str, caplog: pytest.LogCaptureFixture) -> None:
    async with limiter(f"redis://:hunter2@127.0.0.1:{free_port()}/0", ns) as lim:
        tickets = [await lim.acquire(KEY, 1, deadline=lim.now() + 1.0) for _ in range(1)]
        assert not lim.shared and not isinstance(tickets[0], SharedTicket)
    (warning,) = _warnings(caplog)
    assert ":***@127.0.0.1" in warning and "hunter2" not in warning


async def test_two_clients_share_the_mock_servers_limit(redis_server: RedisServer, ns: str) -> None:
    """600 RPM (10/s) with 30 requests in the bucket; two clients, 20 requests each."""
    retry = rawgpt.Retry(max_retries=3, deadline=10.0)
    async with (
        MockServer(rpm=600, fill=0.05) as srv,
        RedisRateLimiter(redis_server.url, namespace=ns) as one,
        RedisRateLimiter(redis_server.url, namespace=ns) as two,
        rawgpt.AsyncClient(
            api_key=API_KEY, base_url=srv.base_url, rate_limiter=one, retry=retry
        ) as a,
        rawgpt.AsyncClient(
            api_key=API_KEY, base_url=srv.base_url, rate_limiter=two, retry=retry
        ) as b,
    ):
        calls = [
            c.chat.completions.create(model=KEY[1], messages=MESSAGES, max_tokens=5)
            for _ in range(20)
            for c in (a, b)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert srv.stats.rate_limited <= 1


async def test_two_clients_burst_against_a_server_answering_out_of_order(
    redis_server: RedisServer, ns: str
) -> None:
    """130 calls from two clients sharing one budget, a full 120-request bucket refilling at
    2/s, a server that admits and answers out of order: no answer is a 429 (the shared books
    learn by the same rule as the in-process ones)."""
    async with (
        MockServer(rpm=120, latency_jitter_ms=300, seed=7) as srv,
        RedisRateLimiter(redis_server.url, namespace=ns) as one,
        RedisRateLimiter(redis_server.url, namespace=ns) as two,
        rawgpt.AsyncClient(
            api_key=API_KEY, base_url=srv.base_url, rate_limiter=one, max_retries=0
        ) as a,
        rawgpt.AsyncClient(
            api_key=API_KEY, base_url=srv.base_url, rate_limiter=two, max_retries=0
        ) as b,
    ):
        calls = [
            c.chat.completions.create(model=KEY[1], messages=MESSAGES, max_tokens=5)
            for _ in range(65)
            for c in (a, b)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert dict(srv.stats.by_status) == {200: 130}


def test_import_rawgpt_does_not_import_redis() -> None:
    code = "import sys, rawgpt; assert 'redis' not in sys.modules; rawgpt.RedisRateLimiter"
    code += "; assert 'redis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
