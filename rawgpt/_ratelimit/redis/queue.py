"""The line in front of Redis: one per (base_url, model) in each process.

Callers queue in FIFO order (``asyncio.Lock`` wakes its waiters in order);
only the head asks Redis for admission. The admission script answers "ok"
(with the counters to learn against) or "wait N seconds", and the head sleeps
exactly that long: no polling, and no Redis traffic per waiter. When the script
cannot say when (the shared slow-start window is full until someone answers),
the head looks again every ``POLL`` seconds, or sooner when a release in this
process may have made room.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Any

from ..._errors import APITimeoutError
from ..headers import too_large_error
from ..state import INF, KeyState, Ticket

if TYPE_CHECKING:
    from .limiter import RedisRateLimiter

log = logging.getLogger("rawgpt")
POLL = 0.05  # seconds between looks while the shared slow-start window is full


class SharedTicket(Ticket):
    """A ticket admitted by Redis: its marks are the shared counters at admission."""

    __slots__ = ("line",)

    def __init__(  # no super().__init__: the marks come from Redis, not from a KeyState
        self, state: KeyState, line: Line, cost: int, at: float, probe: bool, marks: list[Any]
    ) -> None:
        self.state = state  # the local state: only its circuit breaker is used
        self.line = line
        self.cost = cost
        self.at = at
        self.req_mark = int(float(marks[1]))
        self.tok_mark = int(float(marks[2]))
        self.probe = probe
        self.done = False


class Line:
    """Redis keys, the FIFO, and the last state view, for one (base_url, model)."""

    __slots__ = ("keys", "lock", "name", "open_ended", "view", "view_at", "waiting", "wake")

    def __init__(self, name: str, namespace: str) -> None:
        self.name = name
        tag = "{" + name + "}"  # one hash slot for all the keys (Redis Cluster)
        parts = ("state", "leases", "members", "queue")
        self.keys = tuple(f"{namespace}:{tag}:{part}" for part in parts)
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.open_ended = False  # the head waits for an event, not for a known time
        self.waiting = 0
        self.view: list[float] | None = None
        self.view_at = 0.0

    def seen(self, reply: list[Any], now: float) -> None:
        """Keep the state view that ends every script reply (for snapshot and size checks)."""
        self.view = [float(x) for x in reply[-9:]]
        self.view_at = now

    def log_changes(self, reply: list[Any] | None, cool: float) -> None:
        """INFO lines for what a release taught every process (the release script's flags)."""
        if reply is None:
            return
        flags, view = int(reply[1]), self.view or []
        for bit, kind, at in ((1, "requests", 1), (2, "tokens", 3)):
            if flags & bit:
                log.info("rate limit learned for %s: %d %s/min", self.name, view[at], kind)
        if flags & 4:
            log.info("rate limit cool-down for %s: %.2fs", self.name, cool)

    def token_limit(self) -> float | None:
        view = self.view
        return view[3] if view is not None and view[3] > 0 else None

    async def admit(
        self, limiter: RedisRateLimiter, state: KeyState, cost: int, deadline: float | None
    ) -> Ticket | None:
        """Wait for our turn, then for Redis's admission; None when Redis failed."""
        limit = self.token_limit()
        if limit is not None and cost > limit:
            raise too_large_error(self.name, cost, limit)
        self.waiting += 1
        try:
            if deadline is None or not self.lock.locked():
                await self.lock.acquire()
            else:
                try:
                    async with asyncio.timeout(max(0.0, deadline - limiter.now())):
                        await self.lock.acquire()
                except TimeoutError:
                    raise deadline_error() from None
        finally:
            self.waiting -= 1
        try:
            return await self._head(limiter, state, cost, deadline)
        finally:
            self.lock.release()

    async def _head(
        self, limiter: RedisRateLimiter, state: KeyState, cost: int, deadline: float | None
    ) -> Ticket | None:
        breaker = state.breaker
        queued = 0  # our place in the line across processes, once Redis gave us one
        while True:
            self.wake.clear()
            now = limiter.now()
            wait = 0.0 if breaker is None else breaker.delay(now)
            known = wait != INF
            if not wait:
                if not limiter.shared:
                    return None
                most = -1.0 if deadline is None else max(0.0, deadline - now)
                call = asyncio.ensure_future(limiter._admit(self, cost, queued, most, deadline))
                try:
                    reply = await asyncio.shield(call)
                except asyncio.CancelledError:  # admitted as we were cancelled: give it back
                    call.add_done_callback(functools.partial(_orphan, limiter, state, self, cost))
                    raise
                if reply is None:
                    return None
                if reply[0] == b"ok":
                    probe = breaker is not None and breaker.started()
                    return SharedTicket(state, self, cost, limiter.now(), probe, reply)
                if reply[0] == b"big":
                    raise too_large_error(self.name, cost, float(reply[1]))
                wait, known, queued = float(reply[1]), reply[2] == b"0", int(reply[3])
            await self._pause(limiter.now(), wait, known, deadline)

    async def _pause(self, now: float, wait: float, known: bool, deadline: float | None) -> None:
        if deadline is not None:
            if known and now + wait > deadline:  # it cannot make it: fail now, not later
                raise APITimeoutError(f"rate limit wait of {wait:.2f}s would pass the deadline")
            if now >= deadline:
                raise deadline_error()
            wait = min(wait, deadline - now)
        self.open_ended = not known  # then this process's releases wake the head early
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait if known else min(wait, 1.0)):
                await self.wake.wait()

    def snapshot(self, now: float, state: KeyState | None) -> dict[str, Any]:
        view = self.view or [0, -1, 0, -1, 0, 1, 0, 0, 1]
        learned, rl, rv, tl, tv, window, inflight, cooldown, members = view
        elapsed = now - self.view_at

        def level(limit: float, value: float) -> int | None:
            return None if limit <= 0 else int(min(limit, value + elapsed * limit / 60.0))

        breaker = None if state is None or state.breaker is None else state.breaker.state
        return {
            "learned": bool(learned),
            "limit_requests": None if rl <= 0 else int(rl),
            "remaining_requests": level(rl, rv),
            "limit_tokens": None if tl <= 0 else int(tl),
            "remaining_tokens": level(tl, tv),
            "window": None if learned else int(window),
            "in_flight": int(inflight),
            "waiting": self.waiting,
            "cooldown": max(0.0, cooldown - elapsed),
            "breaker": breaker,
            "shared": True,
            "limiters": int(members),
        }


def _orphan(
    limiter: RedisRateLimiter, state: KeyState, line: Line, cost: int, call: asyncio.Future[Any]
) -> None:
    """The admission a cancelled caller never received goes back at once."""
    if call.cancelled() or call.exception() is not None:
        return
    reply = call.result()
    if reply is not None and reply[0] == b"ok":
        limiter.release(SharedTicket(state, line, cost, limiter.now(), False, reply), sent=False)


def deadline_error() -> APITimeoutError:
    return APITimeoutError("deadline reached while waiting for the rate limit")
