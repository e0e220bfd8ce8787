"""Retry policy: what is retryable and how long to wait. It computes; it never sleeps.

Full jitter (AWS architecture blog): before retry ``k`` (0-based) wait a uniform
random time in ``[0, min(max_delay, initial_delay * 2**k)]``. A server's
``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) wins when it is
sane, with a small positive jitter on top so many clients do not come back in
lockstep. ``x-should-retry`` overrides the status rules either way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from ._config import Record
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    QuotaExceededError,
)

RETRY_STATUSES = frozenset({408, 409, 429})


class Retry(Record):
    """When to retry a failed call, and how long to wait first.

    - ``max_retries``: retries after the first attempt (the SDK's default, 2).
    - ``initial_delay`` / ``max_delay``: the full-jitter envelope, seconds.
    - ``deadline``: optional overall seconds across all attempts and waits; a
      retry whose wait would cross it is not made.
    - ``max_retry_after``: a server-requested wait longer than this is not
      honored as such (the envelope is used instead).
    - ``retry_after_jitter``: up to this fraction of a server-requested wait
      (at least 50 ms) is added at random.
    """

    _fields = (
        "max_retries",
        "initial_delay",
        "max_delay",
        "deadline",
        "max_retry_after",
        "retry_after_jitter",
    )
    __slots__ = _fields
    max_retries: int
    initial_delay: float
    max_delay: float
    deadline: float | None
    max_retry_after: float
    retry_after_jitter: float

    def __init__(
        self,
        max_retries: int = 2,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        deadline: float | None = None,
        max_retry_after: float = 60.0,
        retry_after_jitter: float = 0.1,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"Retry.max_retries must be >= 0, got {max_retries}")
        if initial_delay < 0 or max_delay < 0:
            raise ValueError("Retry delays must be >= 0")
        if deadline is not None and not deadline > 0:
            raise ValueError("Retry.deadline must be positive or None")
        self._init(
            max_retries=max_retries,
            initial_delay=initial_delay,
            max_delay=max_delay,
            deadline=deadline,
            max_retry_after=max_retry_after,
            retry_after_jitter=retry_after_jitter,
        )

    def is_retryable(self, error: APIError) -> bool:
        """Whether ``error`` is worth another attempt at all (ignoring counts)."""
        if isinstance(error, APIConnectionError):
            return error.retryable  # False for a certificate or TLS handshake failure
        if not isinstance(error, APIStatusError):
            return False
        if hopeless(error):
            return False  # whatever the headers say
        should = error.headers.get("x-should-retry")
        if should == "true":
            return True
        if should == "false":
            return False
        return error.status_code in RETRY_STATUSES or error.status_code >= 500

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The full-jitter wait before retry number ``retry`` (0-based)."""
        cap = min(self.max_delay, self.initial_delay * (2.0 ** min(retry, 64)))
        return rng.uniform(0.0, cap)

    def server_delay(self, headers: Mapping[str, str], now: float) -> float | None:
        """The wait the server asked for, in seconds, or None (absent, bogus, too long)."""
        seconds = retry_after(headers, now)
        return None if seconds is None or seconds > self.max_retry_after else seconds

    def next_delay(
        self,
        retry: int,
        error: APIError,
        *,
        elapsed: float,
        rng: random.Random,
        now: float | None = None,
    ) -> float | None:
        """Seconds to wait before retry number ``retry``, or None to give up.

        ``elapsed`` is the time spent on this call so far; ``now`` the wall
        clock (for HTTP-date ``retry-after``), default ``time.time()``.
        """
        if retry >= self.max_retries or not self.is_retryable(error):
            return None
        delay: float | None = None
        if isinstance(error, APIStatusError):
            delay = self.server_delay(error.headers, time.time() if now is None else now)
            if delay is not None:
                delay += rng.uniform(0.0, max(0.05, delay * self.retry_after_jitter))
        if delay is None:
            delay = self.backoff(retry, rng)
        if self.deadline is not None and elapsed + delay >= self.deadline:
            return None
        return delay


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a server asked for, in seconds: ``retry-after-ms``, else ``retry-after``
    (seconds or an HTTP date; ``now`` is the wall clock, default ``time.time()``).
    None when absent, negative or not a number; the one reader of both headers."""
    raw = headers.get("retry-after-ms")
    if raw is not None and (ms := _float(raw)) is not None and ms >= 0:
        return ms / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _float(raw)
    if seconds is None:
        try:
            date = parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = date - (time.time() if now is None else now)
    return seconds if seconds >= 0 else None


def hopeless(error: APIStatusError) -> bool:
    """A 429 that no wait can fix: no credit left (insufficient_quota), or a request
    larger than the whole per-minute limit ("Request too large ...")."""
    return isinstance(error, QuotaExceededError) or too_large(error)


def too_large(error: APIError | None) -> bool:
    """The server's own word that a request exceeds its whole per-minute limit: a 429
    whose message starts "Request too large"."""
    if not isinstance(error, APIStatusError) or error.status_code != 429:
        return False
    body = error.body
    err = body.get("error") if isinstance(body, dict) else None
    text = err.get("message") if isinstance(err, dict) else None
    return isinstance(text, str) and text.startswith("Request too large")


def _float(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and value != float("inf") else None
