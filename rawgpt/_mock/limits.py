"""Rate-limit buckets for the mock server: OpenAI-style RPM and TPM accounting.

Each limit is a bucket that refills continuously at ``limit / 60`` per second up
to ``limit``. A request is admitted when both buckets hold its cost (one request,
and its estimated tokens); the remaining levels and the time until each bucket
is full again become the ``x-ratelimit-*`` headers. The clock is injectable so
tests can move time without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Clock = Callable[[], float]

# Reported (not enforced) when no limit is set: high enough that a loopback benchmark
# never drains them, so a header-driven client limiter never throttles it.
DEFAULT_RPM = 1_000_000
DEFAULT_TPM = 1_000_000_000
_EPSILON = 1e-9


def format_duration(seconds: float) -> str:
    """Format a duration the way OpenAI's reset headers do: "1s", "6m0s", "120ms", "1m30.5s"."""
    ms = round(max(seconds, 0.0) * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    secs = f"{whole}.{frac:03d}".rstrip("0") if frac else str(whole)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class _Bucket:
    """A continuously refilling bucket holding up to ``limit`` units."""

    __slots__ = ("_clock", "_level", "_stamp", "limit", "rate")

    def __init__(self, limit: int, *, fill: float = 1.0, clock: Clock = time.monotonic) -> None:
        if limit <= 0:
            raise ValueError(f"rate limit must be positive, got {limit}")
        self.limit = limit
        self.rate = limit / 60.0
        self._clock = clock
        self._level = limit * min(max(fill, 0.0), 1.0)
        self._stamp = clock()

    def level(self) -> float:
        """The current fill, after refilling for the time elapsed since the last look."""
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._level = min(float(self.limit), self._level + elapsed * self.rate)
        self._stamp = now
        return self._level

    def remaining(self) -> int:
        return max(0, math.floor(self.level() + _EPSILON))

    def shortfall(self, cost: float) -> float:
        """Seconds until the bucket holds ``cost`` (0.0 when it already does)."""
        missing = cost - self.level()
        return 0.0 if missing <= _EPSILON else missing / self.rate

    def take(self, cost: float) -> None:
        """Remove ``cost``, never going below empty."""
        self._level = max(0.0, self.level() - cost)

    def reset_after(self) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, self.limit - self.level()) / self.rate


@dataclass(frozen=True, slots=True)
class Denial:
    """Why a request was not admitted, with the numbers OpenAI puts in the message."""

    kind: Literal["requests", "tokens", "too_large"]
    limit: int
    used: int
    requested: int
    wait: float


class RateLimiter:
    """The pair of buckets behind one server; ``None`` limits are tracked but not enforced."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        *,
        fill: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.enforce_requests = rpm is not None
        self.enforce_tokens = tpm is not None
        self.requests = _Bucket(rpm if rpm is not None else DEFAULT_RPM, fill=fill, clock=clock)
        self.tokens = _Bucket(tpm if tpm is not None else DEFAULT_TPM, fill=fill, clock=clock)

    def admit(self, cost: int) -> Denial | None:
        """Charge one request of ``cost`` tokens, or say why it must wait."""
        req, tok = self.requests, self.tokens
        if self.enforce_tokens and cost > tok.limit:
            return Denial("too_large", tok.limit, tok.limit - tok.remaining(), cost, 0.0)
        if self.enforce_requests and (wait := req.shortfall(1)) > 0:
            return Denial("requests", req.limit, req.limit - req.remaining(), 1, wait)
        if self.enforce_tokens and (wait := tok.shortfall(cost)) > 0:
            return Denial("tokens", tok.limit, tok.limit - tok.remaining(), cost, wait)
        req.take(1)
        tok.take(cost)
        return None

    def denial(
        self, kind: Literal["requests", "tokens", "too_large"], cost: int, wait: float = 0.0
    ) -> Denial:
        """A denial built from the current state, for injected faults."""
        bucket = self.requests if kind == "requests" else self.tokens
        used = bucket.limit - bucket.remaining()
        requested = max(cost, bucket.limit + 1) if kind == "too_large" else cost
        return Denial(kind, bucket.limit, used, requested, wait)

    def headers(self) -> dict[str, str]:
        req, tok = self.requests, self.tokens
        return {
            "x-ratelimit-limit-requests": str(req.limit),
            "x-ratelimit-limit-tokens": str(tok.limit),
            "x-ratelimit-remaining-requests": str(req.remaining()),
            "x-ratelimit-remaining-tokens": str(tok.remaining()),
            "x-ratelimit-reset-requests": format_duration(req.reset_after()),
            "x-ratelimit-reset-tokens": format_duration(tok.reset_after()),
        }
