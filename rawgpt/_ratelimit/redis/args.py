"""RedisRateLimiter's arithmetic outside Redis: release arguments, cool-downs, fallback shares.

Nothing here talks to Redis; ``_redis_limiter`` does, with the scripts in
``_redis_lua``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..._errors import APIError, APIStatusError
from ..bucket import Bucket
from ..headers import usable_limits

if TYPE_CHECKING:
    from ..state import KeyState
    from .queue import Line, SharedTicket


def release_args(
    ticket: SharedTicket,
    headers: Mapping[str, str] | None,
    error: APIError | None,
    sent: bool,
    elapsed: float,
    caps: tuple[int, int, float],
    cool: float,
    ttl_ms: int,
) -> list[float | int | str]:
    """ARGV for the release script (see ``_redis_lua.RELEASE``)."""
    seen: list[int] = []
    for kind in ("requests", "tokens"):
        limits = usable_limits(headers, kind) if headers else None
        seen.extend(limits if limits is not None else (-1, -1))
    limited = isinstance(error, APIStatusError) and error.status_code == 429
    flags = (sent, headers is not None or error is not None, error is None, limited)
    return [
        str(ticket.req_mark),
        ticket.cost,
        *(int(f) for f in flags),
        repr(max(0.0, elapsed)),
        ticket.req_mark,
        ticket.tok_mark,
        *seen,
        caps[0],
        caps[1],
        repr(caps[2]),
        repr(cool),
        ttl_ms,
    ]


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def share_out(
    lines: Mapping[Hashable, Line],
    states: Mapping[Hashable, KeyState],
    rpm: int | None,
    tpm: int | None,
    now: float,
) -> None:
    """Redis failed: limit this process to its share of what Redis knew, from empty.

    N limiters asked Redis for admission lately; each takes 1/N of the learned
    limits (the rpm/tpm caps included), its buckets starting empty as the
    shared ones were kept. N processes each assuming the whole limit would send
    N times too much.
    """
    for key, line in lines.items():
        state, view = states.get(key), line.view
        if state is None or view is None or not view[0]:
            continue
        n = max(1.0, view[8])
        state.rpm = _share(view[1], n, rpm)
        state.tpm = _share(view[3], n, tpm)
        state.requests = None if state.rpm is None else Bucket(state.rpm, 0, now)
        state.tokens = None if state.tpm is None else Bucket(state.tpm, 0, now)
        state.learned = True


def _share(limit: float, n: float, cap: int | None) -> int | None:
    if limit <= 0:
        return cap
    share = max(1, int(limit / n))
    return share if cap is None else min(cap, share)
