"""Reading OpenAI's rate-limit signals: durations, x-ratelimit-* headers, 429 hints."""

from __future__ import annotations

import orjson
import pytest

from rawgpt._errors import status_error
from rawgpt._ratelimit.headers import cool_down_for, parse_duration, retry_hint, usable_limits
from rawgpt._retry import hopeless


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("59.733s", 59.733),
        ("120ms", 0.12),
        ("1m30.5s", 90.5),
        ("1h2m3s", 3723.0),
        ("0s", 0.0),
        ("2h", 7200.0),
        ("1m", 60.0),
        ("1ms", 0.001),
        ("1.5us", 1.5e-6),
        ("1µs", 1e-6),
        ("30ns", 3e-8),
        ("3", 3.0),
        ("0.25", 0.25),
        ("0", 0.0),
        (" 17s ", 17.0),
    ],
)
def test_durations_in_every_form(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "-1", "-1s", "abc", "s", "1x", "1m30", "1.2.3s", "nan", "inf", "1 s", "m5s"],
)
def test_nonsense_durations_read_as_none(text: str | None) -> None:
    assert parse_duration(text) is None


def test_limits_read_from_headers() -> None:
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "29950",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert usable_limits(headers, "requests") == (500, 499)
    assert usable_limits(headers, "tokens") == (30000, 29950)
    assert parse_duration(headers["x-ratelimit-reset-requests"]) == pytest.approx(0.12)


@pytest.mark.parametrize(
    ("limit", "remaining", "reset"),
    [
        (None, None, None),  # absent
        ("-1", "5", "1s"),
        ("0", "0", "0s"),  # a zero limit means nothing usable
        ("abc", "3", "1s"),
        ("10", "abc", "1s"),
        ("10", "11", "1s"),  # remaining above the limit
        ("10", None, "1s"),  # partial
        (None, "3", "1s"),
        ("10", "-1", "abc"),
        ("nan", "inf", "-1s"),
    ],
)
def test_missing_or_invalid_limits_are_unusable(
    limit: str | None, remaining: str | None, reset: str | None
) -> None:
    headers = {
        k: v
        for k, v in (
            ("x-ratelimit-limit-requests", limit),
            ("x-ratelimit-remaining-requests", remaining),
            ("x-ratelimit-reset-requests", reset),
        )
        if v is not None
    }
    assert usable_limits(headers, "requests") is None


def test_a_bad_reset_alone_does_not_spoil_the_limit() -> None:
    headers = {
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "soon",
    }
    assert usable_limits(headers, "tokens") == (1000, 0)


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Rate limit reached for gpt-4o on tokens per min. Please try again in 1.2s. Visit", 1.2),
        ("... Used 10, Requested 1. Please try again in 120ms. Visit ...", 0.12),
        ("Please try again in 6m0s.", 360.0),
        ("Please try again in 1h2m3s.", 3723.0),
        ("Please try again in 1m30.5s", 90.5),
        ("Please Try Again In 2s.", 2.0),
    ],
)
def test_try_again_hints(message: str, seconds: float) -> None:
    assert retry_hint(message) == pytest.approx(seconds)


@pytest.mark.parametrize("message", [None, "", "Rate limit reached.", "try again in a bit"])
def test_messages_without_a_hint(message: str | None) -> None:
    assert retry_hint(message) is None


@pytest.mark.parametrize(
    ("headers", "message", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "2"}, "try again in 3s", 1.5),
        ({"retry-after": "2"}, "try again in 3s", 2.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, "try again in 3s", 3.0),
        ({"retry-after-ms": "soon"}, "Please try again in 120ms.", 0.12),
        ({}, "Rate limit reached.", 1.0),
    ],
)
def test_cool_down_sources_in_order(headers: dict[str, str], message: str, seconds: float) -> None:
    error = status_error(
        429,
        orjson.dumps({"error": {"message": message, "code": "rate_limit_exceeded"}}),
        headers,
    )
    assert cool_down_for(error) == pytest.approx(seconds)
    assert not hopeless(error)


def test_request_too_large_is_recognised() -> None:
    message = "Request too large for gpt-4o on tokens per min (TPM): Limit 100, Requested 500."
    error = status_error(
        429, orjson.dumps({"error": {"message": message, "code": "rate_limit_exceeded"}}), {}
    )
    assert hopeless(error)
    assert not hopeless(status_error(429, b"<html>busy</html>", {}))
