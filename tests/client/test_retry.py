"""Tests for rawgpt._retry: what is retryable, full-jitter backoff, server-requested waits.

The policy only computes; every test drives it with a seeded ``random.Random`` and
explicit ``now`` / ``elapsed`` values, so nothing sleeps and nothing depends on the clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from rawgpt._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    QuotaExceededError,
    RateLimitError,
    status_error,
)
from rawgpt._retry import Retry

NOW = 1_700_000_000.0  # a fixed wall clock for HTTP-date retry-after


def err(status: int, headers: dict[str, str] | None = None, body: object = None) -> APIStatusError:
    """An APIStatusError built the way the client builds one (through status_error)."""
    raw = b"" if body is None else orjson.dumps(body)
    return status_error(status, raw, headers or {})


def rate_limit_body(message: str, code: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "requests", "param": None, "code": code}}


# --------------------------------------------------------------------------- construction


def test_defaults_match_the_sdk() -> None:
    r = Retry()
    assert (r.max_retries, r.initial_delay, r.max_delay) == (2, 0.5, 8.0)
    assert r.deadline is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"initial_delay": -0.1},
        {"max_delay": -1.0},
        {"deadline": 0},
        {"deadline": -5.0},
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Retry(**kwargs)


def test_retry_is_frozen() -> None:
    r = Retry()
    with pytest.raises(AttributeError):
        r.max_retries = 5


# --------------------------------------------------------------------------- is_retryable


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 520])
def test_retryable_statuses(status: int) -> None:
    assert Retry().is_retryable(err(status)) is True


@pytest.mark.parametrize("status", [400, 401, 403, 404, 418, 422])
def test_non_retryable_statuses(status: int) -> None:
    assert Retry().is_retryable(err(status)) is False


def test_connection_and_timeout_errors_retry() -> None:
    assert Retry().is_retryable(APIConnectionError("connection reset")) is True
    assert Retry().is_retryable(APITimeoutError("read timed out")) is True


def test_response_validation_error_does_not_retry() -> None:
    assert Retry().is_retryable(APIResponseValidationError("not JSON")) is False
    delay = Retry().next_delay(
        0, APIResponseValidationError("x"), elapsed=0.0, rng=random.Random(1)
    )
    assert delay is None


def test_x_should_retry_true_makes_a_400_retryable() -> None:
    e = err(400, {"x-should-retry": "true"})
    assert Retry().is_retryable(e) is True
    assert Retry().next_delay(0, e, elapsed=0.0, rng=random.Random(0), now=NOW) is not None


def test_x_should_retry_false_stops_a_500() -> None:
    e = err(500, {"x-should-retry": "false"})
    assert Retry().is_retryable(e) is False
    assert Retry().next_delay(0, e, elapsed=0.0, rng=random.Random(0), now=NOW) is None


def test_x_should_retry_is_read_case_insensitively_from_real_headers() -> None:
    # aiohttp hands over a CIMultiDictProxy with the server's capitalisation.
    headers = CIMultiDictProxy(CIMultiDict({"X-Should-Retry": "false"}))
    assert Retry().is_retryable(status_error(503, b"", headers)) is False


def test_other_x_should_retry_values_fall_back_to_status_rules() -> None:
    assert Retry().is_retryable(err(400, {"x-should-retry": "maybe"})) is False
    assert Retry().is_retryable(err(500, {"x-should-retry": "maybe"})) is True


def test_insufficient_quota_never_retries() -> None:
    body = rate_limit_body("You exceeded your current quota", "insufficient_quota")
    e = err(429, body=body)
    assert isinstance(e, QuotaExceededError)
    assert Retry().is_retryable(e) is False
    assert Retry().next_delay(0, e, elapsed=0.0, rng=random.Random(0), now=NOW) is None


def test_request_too_large_never_retries() -> None:
    body = rate_limit_body(
        "Request too large for gpt-4o in organization org-x on tokens per min (TPM): "
        "Limit 30000, Requested 50000.",
        "rate_limit_exceeded",
    )
    e = err(429, body=body)
    assert type(e) is RateLimitError
    assert Retry().is_retryable(e) is False
    assert Retry().next_delay(0, e, elapsed=0.0, rng=random.Random(0), now=NOW) is None


@pytest.mark.parametrize(
    "body",
    [
        rate_limit_body("You exceeded your current quota", "insufficient_quota"),
        rate_limit_body("Request too large for gpt-4o on tokens per min", "rate_limit_exceeded"),
    ],
    ids=["quota", "too_large"],
)
def test_hopeless_429s_never_retry_even_if_the_server_says_so(body: dict[str, object]) -> None:
    # "never retried": waiting cannot help, whatever x-should-retry says.
    e = err(429, {"x-should-retry": "true"}, body)
    assert Retry().is_retryable(e) is False


def test_ordinary_429_retries() -> None:
    e = err(429, body=rate_limit_body("Rate limit reached for requests", "rate_limit_exceeded"))
    assert Retry().is_retryable(e) is True


# --------------------------------------------------------------------------- full jitter


@pytest.mark.parametrize("k", range(8))
def test_backoff_is_uniform_in_the_full_jitter_envelope(k: int) -> None:
    policy = Retry(initial_delay=0.5, max_delay=8.0)
    cap = min(8.0, 0.5 * 2**k)
    rng = random.Random(1234 + k)
    draws = [policy.backoff(k, rng) for _ in range(2000)]
    assert all(0.0 <= d <= cap for d in draws)
    # Spread over the whole range, not a constant or a narrow band.
    assert min(draws) < 0.05 * cap
    assert max(draws) > 0.95 * cap
    assert len(set(draws)) > 1900
    mean = sum(draws) / len(draws)
    assert 0.45 * cap < mean < 0.55 * cap


def test_backoff_is_exactly_a_seeded_uniform_draw() -> None:
    policy = Retry(initial_delay=0.25, max_delay=3.0)
    for k, cap in [(0, 0.25), (1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        assert policy.backoff(k, random.Random(7)) == random.Random(7).uniform(0.0, cap)


def test_backoff_cap_applies() -> None:
    policy = Retry(initial_delay=1.0, max_delay=2.0)
    rng = random.Random(99)
    draws = [policy.backoff(10, rng) for _ in range(1000)]
    assert max(draws) <= 2.0
    assert max(draws) > 1.9


def test_backoff_does_not_overflow_for_a_huge_retry_number() -> None:
    # A "practically forever" policy must keep returning capped waits.
    policy = Retry(max_retries=10_000, initial_delay=0.5, max_delay=8.0)
    delay = policy.backoff(1100, random.Random(3))
    assert 0.0 <= delay <= 8.0


def test_zero_initial_delay_gives_zero_waits() -> None:
    assert Retry(initial_delay=0.0).backoff(5, random.Random(1)) == 0.0


# --------------------------------------------------------------------------- server_delay


def http_date(ts: float) -> str:
    return format_datetime(datetime.fromtimestamp(ts, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250.5"}, 0.2505),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": "60"}, 60.0),
        # retry-after-ms wins over retry-after
        ({"retry-after-ms": "100", "retry-after": "30"}, 0.1),
        # a garbage retry-after-ms falls back to retry-after
        ({"retry-after-ms": "soon", "retry-after": "4"}, 4.0),
        # an HTTP date in the future, relative to the given now
        ({"retry-after": http_date(NOW + 7)}, 7.0),
    ],
)
def test_server_delay_values(headers: dict[str, str], expected: float) -> None:
    assert Retry().server_delay(headers, NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "-1"},
        {"retry-after-ms": "-500"},
        {"retry-after": "soon"},
        {"retry-after": ""},
        {"retry-after": "nan"},
        {"retry-after": "inf"},
        {"retry-after": "1e400"},
        {"retry-after-ms": "NaN"},
        {"retry-after": "61"},  # longer than max_retry_after (60 s)
        {"retry-after-ms": "60001"},
        {"retry-after": "86400"},
        {"retry-after": http_date(NOW - 30)},  # a date in the past
        {"retry-after": http_date(NOW + 3600)},  # a date too far ahead
        {"retry-after": "Mon, 99 Foo 2024 25:61:61 GMT"},
    ],
)
def test_server_delay_ignores_bogus_values(headers: dict[str, str]) -> None:
    assert Retry().server_delay(headers, NOW) is None


def test_server_delay_http_date_depends_on_now() -> None:
    headers = {"retry-after": http_date(NOW + 10)}
    assert Retry().server_delay(headers, NOW) == pytest.approx(10.0)
    assert Retry().server_delay(headers, NOW + 4) == pytest.approx(6.0)
    assert Retry().server_delay(headers, NOW + 11) is None


def test_server_delay_respects_a_custom_max_retry_after() -> None:
    assert Retry(max_retry_after=5.0).server_delay({"retry-after": "6"}, NOW) is None
    assert Retry(max_retry_after=5.0).server_delay({"retry-after": "5"}, NOW) == 5.0


def test_server_delay_from_case_insensitive_headers() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Retry-After-Ms": "750"}))
    assert Retry().server_delay(headers, NOW) == pytest.approx(0.75)


# --------------------------------------------------------------------------- next_delay


def test_server_wait_gets_a_small_positive_jitter() -> None:
    policy = Retry()
    e = err(429, {"retry-after": "10"})
    rng = random.Random(5)
    delays = [policy.next_delay(0, e, elapsed=0.0, rng=rng, now=NOW) for _ in range(1000)]
    assert all(d is not None for d in delays)
    values = [d for d in delays if d is not None]
    assert all(10.0 <= d <= 11.0 for d in values)  # 10 s plus up to 10 %
    assert min(values) < 10.05
    assert max(values) > 10.95
    assert len(set(values)) > 950


def test_server_wait_jitter_is_at_least_50ms_wide() -> None:
    policy = Retry()
    e = err(503, {"retry-after-ms": "100"})
    rng = random.Random(11)
    values = [policy.next_delay(0, e, elapsed=0.0, rng=rng, now=NOW) for _ in range(1000)]
    assert all(v is not None and 0.1 <= v <= 0.15 for v in values)
    assert max(v for v in values if v is not None) > 0.145


def test_server_wait_is_used_instead_of_backoff_even_when_longer() -> None:
    policy = Retry(initial_delay=0.5, max_delay=1.0)
    e = err(429, {"retry-after": "30"})
    delay = policy.next_delay(0, e, elapsed=0.0, rng=random.Random(2), now=NOW)
    assert delay is not None
    assert 30.0 <= delay <= 33.0


def test_bogus_server_wait_falls_back_to_backoff() -> None:
    policy = Retry(max_retries=5, initial_delay=0.5, max_delay=8.0)
    e = err(429, {"retry-after": "3600"})  # longer than max_retry_after: not honored
    delay = policy.next_delay(2, e, elapsed=0.0, rng=random.Random(4), now=NOW)
    assert delay == random.Random(4).uniform(0.0, 2.0)


def test_connection_error_uses_backoff() -> None:
    policy = Retry(max_retries=3)
    delay = policy.next_delay(1, APIConnectionError("reset"), elapsed=0.0, rng=random.Random(8))
    assert delay == random.Random(8).uniform(0.0, 1.0)


def test_max_retries_exhausted_gives_none() -> None:
    policy = Retry(max_retries=2)
    e = err(500)
    assert policy.next_delay(0, e, elapsed=0.0, rng=random.Random(1), now=NOW) is not None
    assert policy.next_delay(1, e, elapsed=0.0, rng=random.Random(1), now=NOW) is not None
    assert policy.next_delay(2, e, elapsed=0.0, rng=random.Random(1), now=NOW) is None
    assert policy.next_delay(3, e, elapsed=0.0, rng=random.Random(1), now=NOW) is None


def test_zero_max_retries_never_retries() -> None:
    policy = Retry(max_retries=0)
    assert policy.next_delay(0, APITimeoutError("t"), elapsed=0.0, rng=random.Random(1)) is None


def test_non_retryable_error_gives_none_even_with_retries_left() -> None:
    policy = Retry(max_retries=5)
    assert policy.next_delay(0, err(401), elapsed=0.0, rng=random.Random(1), now=NOW) is None


def test_deadline_stops_a_retry_whose_wait_would_cross_it() -> None:
    policy = Retry(max_retries=5, deadline=10.0)
    e = err(429, {"retry-after": "3"})
    # 3 s (+ up to 0.3 s jitter) from 5 s elapsed ends before 10 s: allowed.
    ok = policy.next_delay(0, e, elapsed=5.0, rng=random.Random(1), now=NOW)
    assert ok is not None and 3.0 <= ok <= 3.3
    # From 7 s elapsed the wait alone ends at >= 10 s: refused.
    assert policy.next_delay(0, e, elapsed=7.0, rng=random.Random(1), now=NOW) is None
    # Already past the deadline.
    assert policy.next_delay(0, e, elapsed=10.5, rng=random.Random(1), now=NOW) is None


def test_deadline_applies_to_backoff_waits() -> None:
    policy = Retry(max_retries=5, initial_delay=4.0, max_delay=4.0, deadline=5.0)
    expected = random.Random(21).uniform(0.0, 4.0)
    elapsed_ok = 5.0 - expected - 0.01
    elapsed_bad = 5.0 - expected + 0.01
    e = APIConnectionError("refused")
    assert policy.next_delay(0, e, elapsed=elapsed_ok, rng=random.Random(21)) == expected
    assert policy.next_delay(0, e, elapsed=elapsed_bad, rng=random.Random(21)) is None


def test_no_deadline_means_elapsed_does_not_matter() -> None:
    policy = Retry(max_retries=1)
    e = err(500)
    assert policy.next_delay(0, e, elapsed=1e9, rng=random.Random(1), now=NOW) is not None


def test_next_delay_defaults_now_to_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import rawgpt._retry as retry_mod

    monkeypatch.setattr(retry_mod, "time", SimpleNamespace(time=lambda: NOW))
    e = err(429, {"retry-after": http_date(NOW + 5)})
    delay = Retry().next_delay(0, e, elapsed=0.0, rng=random.Random(1))
    assert delay is not None and 5.0 <= delay <= 5.5
