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
import random
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from ._breaker import CircuitBreaker
from ._cost import TokenCounter, admission_cost
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    QuotaExceededError,
    RequestTooLargeError,
)
from ._ratelimit_headers import parse_duration, retry_hint
from ._ratelimit_state import INF, MAX_WINDOW, KeyState, Ticket

Timer = Callable[[float, Callable[[], None]], Any]  # (delay, callback) -> handle with cancel()


class _Waiter:
    __slots__ = ("cost", "future")

    def __init__(self, cost: int, future: asyncio.Future[Ticket]) -> None:
        self.cost = cost
        self.future = future


class RateLimiter:
    """Keeps each (base_url, model) at its rate limit, learned from OpenAI's headers.

    ``rpm`` / ``tpm`` cap the rates (and stand in for the headers when a server
    sends none); ``prompt_tokens`` replaces the characters / 4 estimate;
    ``breaker=False`` turns the circuit breaker off.
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
    ) -> None:
        if (rpm is not None and rpm < 1) or (tpm is not None and tpm < 1):
            raise ValueError("rpm and tpm must be positive")
        self.rpm, self.tpm = rpm, tpm
        self._counter = prompt_tokens
        self._breaker = breaker
        self._clock = clock
        self._timer = timer
        self._rng = rng or random.Random()
        self._states: dict[Hashable, KeyState] = {}

    def cost(self, body: Mapping[str, Any]) -> int:
        """The tokens a request body is charged at admission."""
        return admission_cost(body, self._counter)

    def _state(self, key: Hashable) -> KeyState:
        state = self._states.get(key)
        if state is None:
            name = "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
            breaker = CircuitBreaker(name=name) if self._breaker else None
            state = self._states[key] = KeyState(name, self.rpm, self.tpm, breaker)
        return state

    def _check_size(self, state: KeyState, cost: int) -> None:
        limit = state.token_limit()
        if limit is not None and cost > limit:
            raise RequestTooLargeError(
                f"request needs ~{cost} tokens but the limit for {state.name} is "
                f"{int(limit)} tokens per minute: it can never be admitted; shorten the "
                "prompt or lower max_tokens"
            )

    async def acquire(self, key: Hashable, cost: int, *, deadline: float | None = None) -> Ticket:
        """Wait for room for one request of ``cost`` tokens; ``deadline`` is on the clock."""
        state = self._state(key)
        self._check_size(state, cost)
        now = self._clock()
        if not state.waiters:
            wait = state.delay(cost, now)
            if wait <= 0:
                return state.take(cost, now)
            if deadline is not None and wait != INF and now + wait > deadline:
                raise APITimeoutError(f"rate limit wait of {wait:.2f}s would pass the deadline")
        future: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(cost, future)
        state.waiters.append(waiter)
        self._wake(state)
        try:
            if deadline is None:
                return await future
            async with asyncio.timeout(max(0.0, deadline - self._clock())):
                return await future
        except BaseException as exc:
            if future.done() and not future.cancelled() and future.exception() is None:
                ticket = future.result()  # granted as we were cancelled: undo it
                self.release(ticket, sent=False)
            else:
                future.cancel()
                self._wake(state)
            if isinstance(exc, TimeoutError):
                raise APITimeoutError("deadline reached while waiting for the rate limit") from None
            raise

    def _wake(self, state: KeyState) -> None:
        """Admit waiters from the head while they fit; set a timer for the next one."""
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        waiters = state.waiters
        now = self._clock()
        while waiters:
            head = waiters[0]
            if head.future.done():
                waiters.popleft()
                continue
            try:
                self._check_size(state, head.cost)
            except RequestTooLargeError as exc:
                waiters.popleft()
                head.future.set_exception(exc)
                continue
            wait = state.delay(head.cost, now)
            if wait <= 0:
                waiters.popleft()
                head.future.set_result(state.take(head.cost, now))
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
        """Report how the request went (once per ticket) and wake whoever can go now."""
        if ticket.done:
            return
        ticket.done = True
        state = ticket.state
        state.inflight -= 1
        now = self._clock()
        if not sent:
            state.refund(ticket, now)
        if sent and state.breaker is not None:
            failed = isinstance(error, APIConnectionError) or (
                isinstance(error, APIStatusError) and error.status_code >= 500
            )
            state.breaker.record(not failed, now)
        learned = bool(headers) and state.learn(ticket, headers or {}, now)
        limited = isinstance(error, APIStatusError) and error.status_code == 429
        if limited and not isinstance(error, QuotaExceededError):
            assert isinstance(error, APIStatusError)
            wait = _cool_down_for(error)
            state.cool_down(wait + self._rng.uniform(0.0, max(0.05, wait * 0.1)), now)
        if not state.learned and not learned and sent:
            if limited:
                state.window = max(1, state.window // 2)
            elif error is None and (self.rpm or self.tpm):
                state.configure(now)
            elif error is None:
                state.window = min(state.window * 2, MAX_WINDOW)
        self._wake(state)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What the limiter knows now, per (base_url, model)."""
        now = self._clock()
        return {state.name: state.snapshot(now) for state in self._states.values()}


def _cool_down_for(error: APIStatusError) -> float:
    """How long a 429 says to wait: retry-after-ms, retry-after, "try again in", else 1s.

    (The reset headers say when a bucket is full again, not when one request
    fits; the learned buckets already account for them.)
    """
    headers = error.headers
    ms = parse_duration(headers.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000.0
    seconds = parse_duration(headers.get("retry-after"))
    if seconds is not None:
        return seconds
    body = error.body
    err = body.get("error") if isinstance(body, dict) else None
    hint = retry_hint(err.get("message") if isinstance(err, dict) else None)
    return hint if hint is not None else 1.0
