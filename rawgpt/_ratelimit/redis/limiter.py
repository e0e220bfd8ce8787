"""RedisRateLimiter: one rate budget for every process and machine, held in Redis.

The same buckets, slow start, learning and cool-down as ``RateLimiter``, but
the state lives in Redis and two Lua scripts (``_redis_lua``) change it
atomically on Redis's own clock: whichever process a response reaches, every
process learns from it. In each process callers queue in FIFO order per
(base_url, model); only the head asks Redis, and when the script answers
"wait N seconds" the head sleeps N seconds (no polling, no traffic per waiter).

Failure policy: every Redis call is bounded by a short timeout. When Redis fails
or is slow, it warns once and limits in process (the parent ``RateLimiter``) until
a probe, every ``probe_interval`` s, finds Redis back (INFO). Only this module imports redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any

from ..._errors import APIError
from ..estimate import TokenCounter
from ..headers import cool_down
from ..limiter import RateLimiter
from ..state import KeyState, Ticket
from .args import release_args, safe_url, share_out
from .queue import POLL, Line, SharedTicket, deadline_error
from .scripts import ADMIT, RELEASE

log = logging.getLogger("rawgpt")
NO_REDIS = "RedisRateLimiter needs redis-py: pip install 'rawgpt[redis]'"
# Many processes' sends reach the server in looser order: learn with 0.1 s of refill in hand
SHARED_LEARN_MARGIN = 0.1
MEMBER_FOR = 60.0  # seconds a limiter counts as sharing the budget after it last asked


class RedisRateLimiter(RateLimiter):
    """A ``RateLimiter`` whose buckets every process sharing ``url`` and ``namespace`` uses.

    ``timeout`` bounds each Redis call (twice it for the whole call); after a
    failure Redis is tried again every ``probe_interval`` seconds; ``lease`` is
    how long an admitted request counts as in flight if its process dies before
    reporting; ``ttl`` is how long idle state stays in Redis. Close it with
    ``await limiter.aclose()`` (or ``async with``).
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "rawgpt",
        rpm: int | None = None,
        tpm: int | None = None,
        prompt_tokens: TokenCounter | None = None,
        breaker: bool = True,
        timeout: float = 0.25,
        probe_interval: float = 2.0,
        lease: float = 30.0,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        learn_margin: float = SHARED_LEARN_MARGIN,
    ) -> None:
        super().__init__(
            rpm=rpm,
            tpm=tpm,
            prompt_tokens=prompt_tokens,
            breaker=breaker,
            clock=clock,
            rng=rng,
            learn_margin=learn_margin,
        )
        try:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import RedisError
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(NO_REDIS) from None
        if min(timeout, probe_interval, lease, ttl) <= 0:
            raise ValueError("timeout, probe_interval, lease and ttl must be positive")
        self.url, self.namespace = url, namespace
        self._where = safe_url(url)  # for logs: no password
        self._connect = functools.partial(
            aioredis.from_url,
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a failure is reported at once, not retried
        )
        self._connect()  # a malformed URL fails here (nothing connects before first use)
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        self._budget, self._probe_interval = 2 * timeout, probe_interval
        self._ttl_ms = int(ttl * 1000)
        self._redis: Any = None
        self._scripts: tuple[Any, ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop self._redis belongs to
        self._lines: dict[Hashable, Line] = {}
        self._healthy, self._retry_at = True, 0.0  # False: limiting in process until retry_at
        self._probe: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # releases on their way to Redis
        self._admit_args = (lease, self._ttl_ms, POLL, uuid.uuid4().hex, MEMBER_FOR)  # hex: our id

    @property
    def shared(self) -> bool:
        """True while the budget is shared through Redis; False while limiting in process."""
        return self._healthy

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # connections, locks and events belong to one loop
            self._loop, self._redis = loop, self._connect()
            register = self._redis.register_script
            self._scripts = (register(ADMIT), register(RELEASE))
            self._lines.clear()
        return self._redis

    def try_acquire(self, key: Hashable, cost: int) -> Ticket | None:
        return None  # every admission goes through Redis (or the fallback's probe)

    async def acquire(self, key: Hashable, cost: int, *, deadline: float | None = None) -> Ticket:
        if self._healthy:
            self._client()
            state = self._states.get(key) or self._state(key)  # for its circuit breaker
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = Line(state.name, self.namespace)
            ticket = await line.admit(self, state, cost, deadline)
            if ticket is not None:
                return ticket
        elif self._probe is None and self._clock() >= self._retry_at:
            self._probe = self._spawn(self._reconnect)
        return await super().acquire(key, cost, deadline=deadline)

    async def _admit(
        self, line: Line, cost: int, queued: int, most: float, deadline: float | None
    ) -> list[Any] | None:
        return await self._call(0, line, (cost, *self._admit_args, queued, repr(most)), deadline)

    async def _call(
        self, which: int, line: Line, args: tuple[Any, ...] | list[Any], deadline: float | None
    ) -> list[Any] | None:
        """Run a script within the time budget (and the deadline); None when Redis failed."""
        budget, late = self._budget, False
        if deadline is not None and deadline - self._clock() < budget:
            budget, late = max(0.0, deadline - self._clock()), True
        try:
            async with asyncio.timeout(budget):
                reply: list[Any] = await self._scripts[which](keys=line.keys, args=args)
        except self._errors as exc:  # OSError includes asyncio's TimeoutError
            if late and isinstance(exc, TimeoutError):
                raise deadline_error() from None
            self._outage(exc)
            return None
        line.seen(reply, self._clock())
        return reply

    def release(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | None = None,
        error: APIError | None = None,
        *,
        sent: bool = True,
    ) -> None:
        if type(ticket) is not SharedTicket:
            return super().release(ticket, headers, error, sent=sent)
        if ticket.done:
            return
        ticket.done = True
        now = self._clock()
        ticket.state.judge(ticket, error, sent and (headers is not None or error is not None), now)
        caps = (self.rpm or 0, self.tpm or 0, self._margin)
        cool = cool_down(error, self._rng)
        args = release_args(ticket, headers, error, sent, now - ticket.at, caps, cool, self._ttl_ms)
        with contextlib.suppress(RuntimeError):  # no running loop: nothing can be reported
            self._spawn(self._report, ticket.line, args, cool)

    async def _report(self, line: Line, args: list[Any], cool: float) -> None:
        line.log_changes(await self._call(1, line, args, None) if self._healthy else None, cool)
        if line.open_ended or not self._healthy:
            line.wake.set()

    def _spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(fn(*args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _outage(self, exc: BaseException) -> None:
        self._retry_at = self._clock() + self._probe_interval
        if self._healthy:
            self._healthy = False
            what = f"{type(exc).__name__}: {exc}".rstrip(": ")
            log.warning(
                "rate limiter: Redis at %s failed (%s); limiting in process to this process's "
                "share of the learned limits until it is back (checking every %gs)",
                *(self._where, what, self._probe_interval),
            )
            share_out(self._lines, self._states, self.rpm, self.tpm, self._clock())
            for line in self._lines.values():
                line.wake.set()  # heads waiting on Redis's word fall back now

    def _check_size(self, state: KeyState, cost: int) -> None:
        """Too large for the whole shared limit, not for this process's share of it."""
        lines = (x.token_limit() for x in self._lines.values() if x.name == state.name)
        if (full := next(lines, None)) is None or cost > full:
            super()._check_size(state, cost)

    async def _reconnect(self) -> None:
        try:
            async with asyncio.timeout(self._budget):
                await self._client().ping()
        except self._errors:  # OSError includes asyncio's TimeoutError
            self._retry_at = self._clock() + self._probe_interval
        else:
            self._healthy = True
            log.info("rate limiter: Redis at %s is back; sharing the limit again", self._where)
        finally:
            self._probe = None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What the limiter knows now, per (base_url, model); ``shared`` says from where."""
        out = {name: {**view, "shared": False} for name, view in super().snapshot().items()}
        if self._healthy:
            now = self._clock()
            for key, line in self._lines.items():
                if line.view is not None:
                    out[line.name] = line.snapshot(now, self._states.get(key))
        return out

    async def aclose(self) -> None:
        """Finish the pending reports and close the connections to Redis."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        redis, self._redis, self._loop = self._redis, None, None
        if redis is not None:
            await redis.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
