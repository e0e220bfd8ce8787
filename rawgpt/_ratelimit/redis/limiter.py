"""RedisRateLimiter: one rate budget for every process and machine, held in Redis.

The same buckets, slow start, learning and cool-down as ``RateLimiter``, but
the state lives in Redis and two Lua scripts (``scripts``) change it
atomically on Redis's own clock: whichever process a response reaches, every
process learns from it. In each process callers wait in a ``Queue`` per
(base_url, model); only its head asks Redis, and when the script answers
"wait N seconds" the head sleeps N seconds (no polling, no traffic per waiter).

Failure policy: every Redis call is bounded by a short timeout. When Redis fails
or is slow, it warns once and limits in process (an in-process ``RateLimiter``
held for the purpose, given this process's share of the learned limits) until a
probe, every ``probe_interval`` s, finds Redis back (INFO). Only this
subpackage imports redis.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import re
import time
import uuid
import weakref
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..._errors import APIError, APIStatusError
from ..._retry import too_large
from ..bucket import Bucket
from ..estimate import TokenCounter
from ..headers import cool_down, usable_limits
from ..limiter import RateLimiter
from ..state import FORGET_AFTER, INF, Ticket
from .queue import POLL, Queue, SharedTicket
from .scripts import Released, Scripts

log = logging.getLogger("rawgpt")
NO_REDIS = "RedisRateLimiter needs redis-py: pip install 'rawgpt[redis]'"
# Many processes' sends reach the server in looser order: learn with 0.1 s of refill in hand
SHARED_LEARN_MARGIN = 0.1
MEMBER_FOR = 60.0  # seconds a limiter counts as sharing the budget after it last asked


class RedisRateLimiter:
    """A rate limiter whose buckets every process sharing ``url`` and ``namespace`` uses.

    It takes ``RateLimiter``'s keywords (``rpm``, ``tpm``, ``prompt_tokens``,
    ``breaker``) and: ``timeout`` bounds each Redis call (twice it for the whole
    call); after a failure Redis is tried again every ``probe_interval`` seconds;
    ``lease`` is how long an admitted request counts as in flight if its process
    dies before reporting; ``ttl`` is how long idle state stays in Redis. Close it
    with ``await limiter.aclose()`` (or ``async with``).
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
        forget_after: float = FORGET_AFTER,
    ) -> None:
        # the in-process limiter: the circuit breakers, and the whole limiter while Redis is out
        self._local = RateLimiter(
            rpm=rpm,
            tpm=tpm,
            prompt_tokens=prompt_tokens,
            breaker=breaker,
            clock=clock,
            rng=rng,
            learn_margin=learn_margin,
            forget_after=forget_after,
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
        self.rpm, self.tpm = rpm, tpm
        self._clock = clock
        self._probe_interval = probe_interval
        self._where = safe_url(url)  # for logs: no password
        connect = functools.partial(
            aioredis.from_url,
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a failure is reported at once, not retried
        )
        connect()  # a malformed URL fails here (nothing connects before first use)
        self._scripts = Scripts(
            connect,
            errors=(RedisError, OSError),
            budget=2 * timeout,
            probe_interval=probe_interval,
            clock=clock,
            on_outage=self._outage,
            lease=lease,
            ttl_ms=int(ttl * 1000),
            poll=POLL,
            member=uuid.uuid4().hex,
            member_for=MEMBER_FOR,
            caps=(rpm or 0, tpm or 0, learn_margin),
            forget_after=forget_after,
        )
        self._queues: dict[Hashable, Queue] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the queues belong to
        self._probe: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # releases on their way to Redis
        _live.add(self)

    def _forget(self) -> None:
        """In a forked child: the parent's connection, queues and reports are not ours."""
        self._scripts.forget()
        self._queues.clear()
        self._loop, self._probe, self._tasks = None, None, set()

    def __repr__(self) -> str:
        return f"RedisRateLimiter({self._where!r}, namespace={self.namespace!r})"

    @property
    def shared(self) -> bool:
        """True while the budget is shared through Redis; False while limiting in process."""
        return self._scripts.healthy

    def now(self) -> float:
        """The limiter's clock."""
        return self._clock()

    def cost(self, body: Mapping[str, Any]) -> int:
        """The tokens a request body is charged at admission."""
        return self._local.cost(body)

    def try_acquire(self, key: Hashable, cost: int) -> Ticket | None:
        return None  # every admission goes through Redis (or the fallback's probe)

    async def acquire(self, key: Hashable, cost: int, *, deadline: float | None = None) -> Ticket:
        """Wait for room for one request of ``cost`` tokens; ``deadline`` is on the clock."""
        scripts = self._scripts
        if scripts.healthy:
            scripts.bind()
            loop = asyncio.get_running_loop()
            if self._loop is not loop:  # locks and events belong to one loop
                self._loop = loop
                self._queues.clear()
            state = self._local._state(key)  # for its circuit breaker
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = Queue(
                    state.name, self.namespace, scripts, self._clock, self._give_back
                )
            ticket = await queue.admit(state, cost, deadline)
            if ticket is not None:
                return ticket
        elif self._probe is None and scripts.probe_due():
            self._probe = self._spawn(self._reconnect)
        return await self._local.acquire(key, cost, deadline=deadline)

    def _give_back(self, ticket: SharedTicket) -> None:
        self.release(ticket, sent=False)

    def release(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | None = None,
        error: APIError | None = None,
        *,
        sent: bool = True,
    ) -> None:
        """Report how the request went (see ``RateLimiter.release``); every process learns."""
        if type(ticket) is not SharedTicket:
            return self._local.release(ticket, headers, error, sent=sent)
        if ticket.done:
            return
        ticket.done = True
        now = self._clock()
        known = headers is not None or error is not None
        ticket.state.judge(ticket, error, sent and known, now)
        cool = cool_down(error, self._local._rng)
        report = self._scripts.release(
            ticket.queue.keys,
            req_mark=ticket.req_mark,
            tok_mark=ticket.tok_mark,
            req_ahead=ticket.req_ahead,
            tok_ahead=ticket.tok_ahead,
            cost=ticket.cost,
            sent=sent,
            known=known,
            ok=error is None,
            limited=isinstance(error, APIStatusError) and error.status_code == 429,
            elapsed=now - ticket.at,
            seen_requests=usable_limits(headers, "requests") if headers else None,
            seen_tokens=usable_limits(headers, "tokens") if headers else None,
            cool=cool,
            oversize=ticket.oversize,
            too_large=too_large(error),
        )
        try:
            self._spawn(self._report, ticket.queue, report, cool)
        except RuntimeError:  # no running loop: nothing can be reported
            report.close()

    async def _report(
        self, queue: Queue, report: Coroutine[Any, Any, Released | None], cool: float
    ) -> None:
        if self._scripts.healthy:
            released = await report
            if released is not None:
                queue.seen(released.view, self._clock())
                _log_lessons(queue.name, released, cool)
        else:
            report.close()
        if queue.open_ended or not self._scripts.healthy:
            queue.wake.set()

    def _spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(fn(*args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _outage(self, exc: BaseException) -> None:
        """Redis failed: warn once, limit in process to this process's share, wake the heads."""
        what = f"{type(exc).__name__}: {exc}".rstrip(": ")
        log.warning(
            "rate limiter: Redis at %s failed (%s); limiting in process to this process's "
            "share of the learned limits until it is back (checking every %gs)",
            *(self._where, what, self._probe_interval),
        )
        self._share_out()
        for queue in self._queues.values():
            queue.wake.set()  # heads waiting on Redis's word fall back now

    def _share_out(self) -> None:
        """Limit this process to its share of what Redis knew, from empty.

        N limiters asked Redis for admission lately; each takes 1/N of the learned
        limits (the rpm/tpm caps included), its buckets starting empty as the
        shared ones were kept. N processes each assuming the whole limit would send
        N times too much. A request is still too large only for the whole limit.
        """
        now = self._clock()
        for key, queue in self._queues.items():
            state, view = self._local._states.get(key), queue.view
            if state is None or view is None or not view.learned:
                continue
            n = max(1, view.members)
            state.rpm = _share(view.limit_requests, n, self.rpm)
            state.tpm = _share(view.limit_tokens, n, self.tpm)
            state.requests = None if state.rpm is None else Bucket(state.rpm, 0, now)
            state.tokens = None if state.tpm is None else Bucket(state.tpm, 0, now)
            # too large only for the whole limit, once confirmed; the share only paces
            limit = view.token_limit
            state.size_limit = limit if view.size_confirmed and limit is not None else INF
            state.learned = True

    async def _reconnect(self) -> None:
        try:
            if await self._scripts.probe():
                log.info("rate limiter: Redis at %s is back; sharing the limit again", self._where)
        finally:
            self._probe = None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What the limiter knows now, per (base_url, model); ``shared`` says from where."""
        out = {name: {**view, "shared": False} for name, view in self._local.snapshot().items()}
        if self._scripts.healthy:
            now = self._clock()
            for key, queue in self._queues.items():
                if queue.view is not None:
                    out[queue.name] = queue.snapshot(now, self._local._states.get(key))
        return out

    async def aclose(self) -> None:
        """Finish the pending reports and close the connections to Redis."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._scripts.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_live: weakref.WeakSet[RedisRateLimiter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for limiter in list(_live):
        limiter._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _log_lessons(name: str, released: Released, cool: float) -> None:
    """INFO lines for what a release taught every process."""
    view = released.view
    if released.learned_requests:
        log.info("rate limit learned for %s: %d requests/min", name, view.limit_requests)
    if released.learned_tokens:
        log.info("rate limit learned for %s: %d tokens/min", name, view.limit_tokens)
    if released.cooled:
        log.info("rate limit cool-down for %s: %.2fs", name, cool)
    if released.forgot:
        log.info("rate limit for %s: no answer repeated the learned limits; forgetting them", name)
    if released.forgot_tokens:
        log.info("rate limit for %s: the server took a request past the token limit", name)


def _share(limit: float, n: int, cap: int | None) -> int | None:
    if limit <= 0:
        return cap
    share = max(1, int(limit / n))
    return share if cap is None else min(cap, share)


_QUERY_PASSWORD = re.compile(r"(?<![^?&])(password=)[^&#]*")


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and reprs: ``user:***@`` and the
    ``?password=***`` form redis-py also reads."""
    out = url
    netloc = urlsplit(url).netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        out = out.replace(netloc, f"{user.partition(':')[0]}:***@{host}", 1)
    head, mark, tail = out.partition("?")
    return head + mark + _QUERY_PASSWORD.sub(r"\1***", tail) if mark else out
