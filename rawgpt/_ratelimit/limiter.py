"""RateLimiter: the default, header-driven, in-process limiter of every client.

Callers ``acquire`` a ticket before each send (waiting in FIFO order per
(base_url, model), woken by a timer at the computed time: no polling) and
``release`` it with what came back: headers teach the buckets, a 429
``rate_limit_exceeded`` pauses every sender to that key (shared cool-down), and
connection errors and 5xx feed the circuit breaker. The clock, the timer and
the random generator are injectable, so tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

from .._errors import (
    APIError,
    APITimeoutError,
    RequestTooLargeError,
)
from .breaker import CircuitBreaker
from .estimate import TokenCounter, admission_cost
from .state import (
    FORGET_AFTER,
    INF,
    LEARN_EVERY,
    LEARN_MARGIN,
    KeyState,
    Ticket,
)

Timer = Callable[[float, Callable[[], None]], Any]  # (delay, callback) -> handle with cancel()


class Limiter(Protocol):
    """What a client needs of a rate limiter: RateLimiter and RedisRateLimiter are two."""

    def now(self) -> float: ...
    def cost(self, body: Mapping[str, Any]) -> int: ...
    def try_acquire(self, key: Hashable, cost: int) -> Ticket | None: ...
    async def acquire(
        self, key: Hashable, cost: int, *, deadline: float | None = None
    ) -> Ticket: ...
    def release(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | None = None,
        error: APIError | None = None,
        *,
        sent: bool = True,
    ) -> None: ...
    def snapshot(self) -> dict[str, dict[str, Any]]: ...
    async def aclose(self) -> None: ...


class _Waiter:
    __slots__ = ("cost", "deadline", "future")

    def __init__(self, cost: int, future: asyncio.Future[Ticket], deadline: float | None) -> None:
        self.cost = cost
        self.future = future
        self.deadline = deadline


class RateLimiter:
    """Keeps each (base_url, model) at its rate limit, learned from OpenAI's headers.

    ``rpm`` / ``tpm`` cap the rates (and stand in for the headers when a server
    sends none); ``prompt_tokens`` replaces the characters / 4 estimate;
    ``breaker=False`` turns the circuit breaker off.

    Limits are evidence, not law: a call larger than a learned token limit is
    refused locally (``RequestTooLargeError``) only once the server confirmed
    that limit with its own 429 "Request too large"; until then one such call at
    a time is let through to find out, and if the server takes it the limit is
    forgotten. Learned limits that answers stop repeating are forgotten after
    ``forget_after`` seconds (back to slow start).
    """

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        prompt_tokens: TokenCounter | None = None,
        breaker: bool = True,
        clock: Callable[[], float] = time.monotonic,
        timer: Timer | None = None,
        rng: random.Random | None = None,
        learn_margin: float = LEARN_MARGIN,
        learn_every: float = LEARN_EVERY,
        forget_after: float = FORGET_AFTER,
    ) -> None:
        if (rpm is not None and rpm < 1) or (tpm is not None and tpm < 1):
            raise ValueError("rpm and tpm must be positive")
        self.rpm, self.tpm = rpm, tpm
        self._counter = prompt_tokens
        self._breaker = breaker
        self._clock = clock
        self._timer = timer
        self._rng = rng or random.Random()
        self._margin = learn_margin
        self._every = learn_every
        self._forget_after = forget_after
        self._states: dict[Hashable, KeyState] = {}
        _live.add(self)

    def now(self) -> float:
        """The limiter's clock."""
        return self._clock()

    def cost(self, body: Mapping[str, Any]) -> int:
        """The tokens a request body is charged at admission."""
        return admission_cost(body, self._counter)

    def _state(self, key: Hashable) -> KeyState:
        state = self._states.get(key)
        if state is None:
            name = "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
            breaker = CircuitBreaker(name=name) if self._breaker else None
            state = self._states[key] = KeyState(
                name, self.rpm, self.tpm, breaker, self._margin, self._every, self._forget_after
            )
        return state

    def _check_size(self, state: KeyState, cost: int) -> None:
        if (limit := state.refuses(cost)) is not None:
            raise too_large_error(state.name, cost, limit)

    def try_acquire(self, key: Hashable, cost: int) -> Ticket | None:
        """A ticket now when no one waits and the learned limits have room; else None,
        and the caller awaits ``acquire`` (the hot path skips a coroutine)."""
        state = self._states.get(key)
        if state is None or state.waiters:
            return None
        return state.try_take(cost, self._clock())

    async def acquire(self, key: Hashable, cost: int, *, deadline: float | None = None) -> Ticket:
        """Wait for room for one request of ``cost`` tokens; ``deadline`` is on the clock."""
        state = self._states.get(key) or self._state(key)
        tokens = state.tokens
        if tokens is not None and cost > tokens.limit:
            self._check_size(state, cost)
        now = self._clock()
        waiters = state.waiters
        if not waiters:
            wait = state.delay(cost, now)
            if wait <= 0:
                return state.take(cost, now)
        else:  # we come after the head, so we wait at least as long as it does
            wait = state.delay(next(iter(waiters)).cost, now)
        if deadline is not None and wait != INF and now + wait > deadline:
            raise late_error(wait)
        future: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(cost, future, deadline)
        waiters[waiter] = None
        expiry = None
        if deadline is not None:
            expiry = self._call_later(deadline - now, lambda: self._expire(state, waiter))
        if len(waiters) == 1:  # a new head: (re)set the timer; otherwise the head's stands
            self._wake(state)
        try:
            ticket = await future
            ticket.at = self._clock()  # admission is measured from the send, not the grant
            return ticket
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self.release(future.result(), sent=False)  # granted as we were cancelled
            else:
                future.cancel()
                self._drop(state, waiter)
            raise
        finally:
            if expiry is not None:
                expiry.cancel()

    def _expire(self, state: KeyState, waiter: _Waiter) -> None:
        if not waiter.future.done():
            waiter.future.set_exception(deadline_error())
            self._drop(state, waiter)

    def _drop(self, state: KeyState, waiter: _Waiter) -> None:
        """Take a waiter out of the line; when it was the head, the next one moves up."""
        head = next(iter(state.waiters), None)
        state.waiters.pop(waiter, None)
        if head is waiter:
            self._wake(state)

    def _wake(self, state: KeyState) -> None:
        """Admit waiters from the head while they fit; set one timer for the next one."""
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        waiters = state.waiters
        now = self._clock()
        while waiters:
            head: _Waiter = next(iter(waiters))
            if head.future.done():
                waiters.popitem(last=False)
                continue
            try:
                self._check_size(state, head.cost)
            except RequestTooLargeError as exc:
                waiters.popitem(last=False)
                head.future.set_exception(exc)
                continue
            wait = state.delay(head.cost, now)
            if wait <= 0:
                waiters.popitem(last=False)
                head.future.set_result(state.take(head.cost, now))
                continue
            if head.deadline is not None and wait != INF and now + wait > head.deadline:
                waiters.popitem(last=False)  # it cannot make it: fail now, not at the deadline
                head.future.set_exception(late_error(wait))
                continue
            if wait != INF:
                state.timer = self._call_later(wait, lambda: self._wake(state))
            return

    def _call_later(self, delay: float, callback: Callable[[], None]) -> Any:
        if self._timer is not None:
            return self._timer(delay, callback)
        return asyncio.get_running_loop().call_later(delay, callback)

    def release(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | None = None,
        error: APIError | None = None,
        *,
        sent: bool = True,
    ) -> None:
        """Report how the request went (once per ticket) and wake whoever can go now.

        ``headers`` are the response's (``{}`` when it had none); no headers and
        no error means the outcome is unknown (cancelled in flight): the charge
        stands but nothing is learned. ``sent=False`` gives the charge back.
        """
        if ticket.done:
            return
        ticket.done = True
        state = ticket.state
        state.inflight -= 1
        state.inflight_tokens -= ticket.cost
        now = self._clock()
        if error is None and sent and headers is not None:  # the common case, kept short
            if state.breaker is not None:
                state.breaker.record(True, now, ticket.probe)
            learned = bool(headers) and (
                state.skip_learning(now) or state.learn(ticket, headers, now)
            )
            if not learned:
                if state.learned and state.stale(now):
                    state.forget()
                if not state.learned:
                    state.succeeded_unlearned(now)
            if ticket.oversize:
                state.sized(ticket, None, True)
            if state.waiters:
                self._wake(state)
            return
        state.settle(ticket, headers, error, sent, now, self._rng)
        if ticket.oversize:
            state.sized(ticket, error, sent and (headers is not None or error is not None))
        self._wake(state)

    async def aclose(self) -> None:
        """Release what the limiter holds: nothing in process (RedisRateLimiter: connections)."""

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What the limiter knows now, per (base_url, model)."""
        now = self._clock()
        return {state.name: state.snapshot(now) for state in self._states.values()}


_live: weakref.WeakSet[RateLimiter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child starts afresh: the parent's in-flight requests, waiters and timers
    (on the parent's loop) would otherwise hold the child's slow-start window forever."""
    for limiter in list(_live):
        limiter._states.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def too_large_error(name: str, cost: int, limit: float) -> RequestTooLargeError:
    """A request that no wait can admit: it costs more than the whole per-minute limit."""
    return RequestTooLargeError(
        f"request needs ~{cost} tokens but the limit for {name} is {int(limit)} tokens per "
        "minute: it can never be admitted; shorten the prompt or lower max_tokens"
    )


def late_error(wait: float) -> APITimeoutError:
    """A wait that is known to end after the call's deadline: fail now, not at the deadline."""
    return APITimeoutError(f"rate limit wait of {wait:.2f}s would pass the deadline")


def deadline_error() -> APITimeoutError:
    """The call's deadline came while it waited for the rate limit."""
    return APITimeoutError("deadline reached while waiting for the rate limit")
