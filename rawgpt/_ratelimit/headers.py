"""Reading OpenAI's rate-limit signals: ``x-ratelimit-*`` headers and "try again in" hints.

Durations look like "1s", "6m0s", "59.733s", "120ms", "1m30.5s", "1h2m3s" (time
until the bucket is full again). Anything missing or nonsensical reads as None,
never as an exception: the limiter must survive whatever a proxy sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._errors import APIError, APIStatusError
from .._retry import hopeless, retry_after

if TYPE_CHECKING:
    import random

MAX_COOL_DOWN = 60.0  # a longer server-requested pause is taken as bogus and capped
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_HINT = re.compile(r"try again in ((?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+)", re.IGNORECASE)


def parse_duration(text: str | None) -> float | None:
    """Seconds in an OpenAI duration ("6m0s", "120ms", "59.733s"), or None if not one.

    A bare number is taken as seconds.
    """
    if not text:
        return None
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value if 0 <= value < float("inf") else None
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) and pos > 0 else None


def retry_hint(message: str | None) -> float | None:
    """The wait in a 429 message such as "... Please try again in 1.2s. ...", or None."""
    if not message:
        return None
    match = _HINT.search(message)
    return parse_duration(match.group(1).lower()) if match else None


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        return None
    return value if value >= 0 else None


_NAMES = {
    kind: (f"x-ratelimit-limit-{kind}", f"x-ratelimit-remaining-{kind}")
    for kind in ("requests", "tokens")
}
_COUNTS: dict[str, int | None] = {}


def _cached_count(text: str | None) -> int | None:
    """``_count`` memoised: the same few header values come back on every response."""
    if text is None:
        return None
    try:
        return _COUNTS[text]
    except KeyError:
        if len(_COUNTS) > 4096:
            _COUNTS.clear()
        value = _COUNTS[text] = _count(text)
        return value


def usable_limits(headers: Mapping[str, str], kind: str) -> tuple[int, int] | None:
    """(limit, remaining) for ``kind`` when both are present and sensible; the hot path."""
    limit_name, remaining_name = _NAMES[kind]
    limit = _cached_count(headers.get(limit_name))
    remaining = _cached_count(headers.get(remaining_name))
    if limit is None or remaining is None or limit <= 0 or remaining > limit:
        return None
    return limit, remaining


def cool_down_for(error: APIStatusError) -> float:
    """How long a 429 says to wait: retry-after-ms, retry-after, "try again in", else 1s.

    (The reset headers say when a bucket is full again, not when one request
    fits; the learned buckets already account for them.)
    """
    seconds = retry_after(error.headers)
    if seconds is not None:
        return seconds
    body = error.body
    err = body.get("error") if isinstance(body, dict) else None
    hint = retry_hint(err.get("message") if isinstance(err, dict) else None)
    return hint if hint is not None else 1.0


def cool_down(error: APIError | None, rng: random.Random) -> float:
    """Seconds every sender pauses after this outcome (0.0: none), jitter included."""
    if not isinstance(error, APIStatusError) or error.status_code != 429:
        return 0.0
    if hopeless(error):
        return 0.0
    wait = min(cool_down_for(error), MAX_COOL_DOWN)
    return wait + rng.uniform(0.0, max(0.05, wait * 0.1))
