"""MockServer's rate limits: rpm and tpm buckets on a fake clock, fill, quota, reset durations."""

from __future__ import annotations

import aiohttp
import pytest

from rawgpt._mock.limits import _Bucket, format_duration
from rawgpt.testing import MockServer

from .conftest import CHAT, FakeClock, call


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
