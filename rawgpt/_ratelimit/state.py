"""The limiter's state for one (base_url, model): buckets, slow start, cool-down, breaker.

Pure bookkeeping on an explicit clock; the waiting lives in ``limiter``. Before
the first rate-limit headers arrive nothing is known, so it starts like TCP slow
start: one probe in flight, and (while no headers come) a window that doubles with
each success and halves on a 429. Headers switch it to two buckets, requests and
tokens, whose levels follow the server's "remaining" minus what the server may
not have counted in it yet.

A server admits requests in another order than they were sent (they overtake
each other on the way), and answers them in yet another. An answer's
"remaining" counts what the server admitted before that request, which may be
any part of what we had in flight. So one answer only bounds the server's
level: at most "remaining" (refilled since we sent it), if the server had
counted everything else of ours; at least "remaining" with no refill (it may
have admitted the request just before answering) less every request sent after
it and every earlier one still unanswered when it was sent, if it had counted
none.
The bucket keeps its own books (charged at admission, refilled by the clock)
and an answer moves them only into those bounds: lowered to the upper one
always, raised to the lower one only. So a level learned from an answer never
exceeds what the server can have left, and answers in any order cannot credit
back what was charged.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._errors import APIConnectionError, APIError, APIStatusError
from .._retry import too_large
from .breaker import CLOSED, CircuitBreaker
from .bucket import Bucket
from .headers import cool_down, usable_limits

if TYPE_CHECKING:
    import random

log = logging.getLogger("rawgpt")
INF = float("inf")
MAX_WINDOW = 4096
LEARN_EVERY = 0.05  # seconds between learns from successful answers while far from empty
LEARN_MARGIN = 0.02  # seconds of refill not credited when learning (send-to-admission delay)
# Learned limits that no answer has repeated for this long, while answers keep coming
# without them, are forgotten (a gateway that sent them once, a server that stopped)
FORGET_AFTER = 60.0


class Ticket:
    """One admitted request: what it was charged, and the counters when it was.

    Made right after the state charged it: ``req_mark``/``tok_mark`` are the charge
    counters with it, ``req_ahead``/``tok_ahead`` the requests and tokens still in
    flight that were admitted before it.
    """

    __slots__ = (
        "at",
        "cost",
        "done",
        "oversize",
        "probe",
        "req_ahead",
        "req_mark",
        "state",
        "tok_ahead",
        "tok_mark",
    )

    def __init__(self, state: KeyState, cost: int, at: float, probe: bool) -> None:
        self.state = state
        self.cost = cost
        self.at = at
        self.req_mark = state.req_charged
        self.tok_mark = state.tok_charged
        self.req_ahead = state.inflight - 1
        self.tok_ahead = state.inflight_tokens - cost
        self.probe = probe  # the circuit breaker's half-open probe
        self.oversize = False  # let through to test a token limit it exceeds
        self.done = False


class KeyState:
    """Everything the limiter knows about one (base_url, model)."""

    def __init__(
        self,
        name: str,
        rpm: int | None,
        tpm: int | None,
        breaker: CircuitBreaker | None,
        margin: float = LEARN_MARGIN,
        every: float = LEARN_EVERY,
        forget_after: float = FORGET_AFTER,
    ) -> None:
        self.name = name
        self.margin = margin
        self.every = every
        self.forget_after = forget_after
        self.learned_at = -INF
        self.rpm = rpm
        self.tpm = tpm
        self.requests: Bucket | None = None
        self.tokens: Bucket | None = None
        self.size_limit: float | None = None  # "too large" against this, not the tokens bucket
        # A token limit refuses a larger call only once the server confirmed it (its own 429
        # "Request too large"); until then one such call at a time goes through to find out.
        self.size_confirmed = False
        self.size_probe = False
        self.learned = False
        self.window = 1
        self.inflight = 0
        self.inflight_tokens = 0
        self.cooldown_until = 0.0
        self.req_charged = 0
        self.tok_charged = 0
        self.breaker = breaker
        self.waiters: OrderedDict[Any, None] = OrderedDict()  # FIFO; O(1) removal
        self.timer: Any = None

    def delay(self, cost: int, now: float) -> float:
        """Seconds until a request of ``cost`` tokens may start; INF until some event."""
        wait = self.cooldown_until - now
        if wait > 0:
            return wait
        if self.breaker is not None and (wait := self.breaker.delay(now)):
            return wait
        if not self.learned:
            return 0.0 if self.inflight < self.window else INF
        if self.requests is not None:
            wait = self.requests.wait(1, now)
        tokens = self.tokens
        if tokens is not None:
            if self.tests_limit(cost):  # one at a time, with no wait for a full bucket
                return INF if self.size_probe else wait
            wait = max(wait, tokens.wait(cost, now))
        return wait

    def tests_limit(self, cost: int) -> bool:
        """True when a call of ``cost`` would test an unconfirmed token limit it exceeds."""
        tokens = self.tokens
        return tokens is not None and cost > tokens.limit and self.size_limit is None

    def refuses(self, cost: int) -> float | None:
        """The token limit that refuses a call of ``cost`` here and now, if one does: a
        confirmed one (or, limiting for a RedisRateLimiter, the shared one)."""
        if self.size_limit is not None:
            return self.size_limit if cost > self.size_limit else None
        tokens = self.tokens
        if tokens is not None and cost > tokens.limit and self.size_confirmed:
            return tokens.limit
        return None

    def try_take(self, cost: int, now: float) -> Ticket | None:
        """Admit now if learned limits have room and nothing else needs a look, else None."""
        if self.cooldown_until > now or not self.learned:
            return None
        if self.breaker is not None and self.breaker.state != CLOSED:
            return None
        req, tok = self.requests, self.tokens
        if tok is not None and cost > tok.limit:
            return None
        if req is not None and not req.try_take(1, now):
            return None
        if tok is not None and not tok.try_take(cost, now):
            if req is not None:
                req.give_back(1, now)
            return None
        self.inflight += 1
        self.inflight_tokens += cost
        self.req_charged += 1
        self.tok_charged += cost
        return Ticket(self, cost, now, False)

    def take(self, cost: int, now: float) -> Ticket:
        self.inflight += 1
        self.inflight_tokens += cost
        self.req_charged += 1
        self.tok_charged += cost
        if self.requests is not None:
            self.requests.take(1, now)
        oversize = self.tests_limit(cost)
        if self.tokens is not None:
            self.tokens.take(min(cost, self.tokens.limit) if oversize else cost, now)
        probe = self.breaker is not None and self.breaker.started()
        ticket = Ticket(self, cost, now, probe)
        if oversize:
            ticket.oversize = self.size_probe = True
        return ticket

    def sized(self, ticket: Ticket, error: APIError | None, answered: bool) -> None:
        """The outcome of a call let through past an unconfirmed token limit: the server took
        it (the limit was wrong: forgotten) or refused it as too large (confirmed)."""
        self.size_probe = False
        tokens = self.tokens
        if tokens is None or ticket.cost <= tokens.limit:
            return
        if error is None and answered:
            log.info(
                "rate limit for %s: the server took %d tokens past the learned limit of %d "
                "tokens/min; forgetting it",
                *(self.name, ticket.cost, tokens.limit),
            )
            self.tokens = None
            if self.requests is None:
                self.learned = False
        elif too_large(error):
            self.size_confirmed = True

    def stale(self, now: float) -> bool:
        """True when the learned limits should be forgotten: none of the answers of the last
        ``forget_after`` seconds repeated them (it is asked on answers without them)."""
        at = self.learned_at  # -INF when the limits came from the user's rpm/tpm, not headers
        return self.learned and at != -INF and now - at > self.forget_after

    def forget(self) -> None:
        """Back to slow start, from what is in flight now."""
        log.info(
            "rate limit for %s: no answer repeated the learned limits for %gs; forgetting them",
            self.name,
            self.forget_after,
        )
        self.requests = self.tokens = None
        self.learned = self.size_confirmed = False
        self.learned_at = -INF
        self.window = max(1, self.inflight)

    def settle(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | None,
        error: APIError | None,
        sent: bool,
        now: float,
        rng: random.Random,
    ) -> None:
        """``release``'s slow path: refund, breaker, headers, 429 cool-down, slow start."""
        known = headers is not None or error is not None
        if sent:
            self.judge(ticket, error, known, now)
        else:
            self.refund(ticket, now)
        learned = bool(headers) and self.learn(ticket, headers or {}, now)
        if pause := cool_down(error, rng):  # a rate 429: pause every sender
            self.cool_down(pause, now)
        if not self.learned and not learned and sent and known:
            if isinstance(error, APIStatusError) and error.status_code == 429:
                self.window = max(1, self.window // 2)  # a 429 before any limits were known
            elif error is None:
                self.succeeded_unlearned(now)

    def succeeded_unlearned(self, now: float) -> None:
        """A success that taught no limits: adopt the user's rpm/tpm, or widen slow start."""
        if not (self.rpm or self.tpm):
            self.window = min(self.window * 2, MAX_WINDOW)
            return
        # charged so far, at most a bucket's worth: a client running for hours that forgot
        # its limits starts from empty, not a minute in debt
        if self.rpm:
            self.requests = Bucket(self.rpm, self.rpm - min(self.req_charged, self.rpm), now)
        if self.tpm:
            self.tokens = Bucket(self.tpm, self.tpm - min(self.tok_charged, self.tpm), now)
            self.size_confirmed = True
        self.learned = True

    def judge(self, ticket: Ticket, error: APIError | None, known: bool, now: float) -> None:
        """Tell the breaker: connection errors and 5xx fail; no outcome known, no verdict."""
        breaker = self.breaker
        if breaker is None:
            return
        if known:
            failed = isinstance(error, APIConnectionError) or (
                isinstance(error, APIStatusError) and error.status_code >= 500
            )
            breaker.record(not failed, now, probe=ticket.probe)
        elif ticket.probe:
            breaker.abandon()  # the next send probes

    def refund(self, ticket: Ticket, now: float) -> None:
        """A request that was admitted but never sent gives its charge back."""
        if self.requests is not None:
            self.requests.give_back(1, now)
        tokens = self.tokens
        if tokens is not None:
            charged = min(ticket.cost, tokens.limit) if ticket.oversize else ticket.cost
            tokens.give_back(charged, now)
        if ticket.probe and self.breaker is not None:
            self.breaker.abandon()

    def skip_learning(self, now: float) -> bool:
        """True when a learn from a routine answer can be skipped: one was made less than
        ``every`` seconds ago and both buckets are far from empty (the hot path at high rates)."""
        if not self.learned or now - self.learned_at >= self.every:
            return False
        req, tok = self.requests, self.tokens
        return (req is None or req.level > 0.1 * req.limit) and (
            tok is None or tok.level > 0.1 * tok.limit
        )

    def learn(self, ticket: Ticket, headers: Mapping[str, str], now: float) -> bool:
        """Adopt the server's view from one response's headers; True if any was usable."""
        used = False
        for kind, cap in (("requests", self.rpm), ("tokens", self.tpm)):
            seen = usable_limits(headers, kind)
            if seen is None:
                continue
            used = True
            seen_limit, seen_remaining = seen
            limit = min(seen_limit, cap) if cap else seen_limit
            if kind == "requests":
                after, ahead = self.req_charged - ticket.req_mark, ticket.req_ahead
            else:
                after, ahead = self.tok_charged - ticket.tok_mark, ticket.tok_ahead
            # At most: the server's level at admission, refilled since our send (it admitted
            # the request no earlier), less a margin. At least: that level with no refill (it
            # may have admitted the request just before answering), less every request of
            # ours it may not have counted yet.
            rate = seen_limit / 60.0
            slack = 1 + rate * self.margin if self.margin else 0.0
            highest = seen_remaining + (now - ticket.at) * rate - slack
            lowest = seen_remaining - slack - after - ahead
            bucket = self.requests if kind == "requests" else self.tokens
            if bucket is None:
                bucket = Bucket(limit, lowest, now)
                log.info("rate limit learned for %s: %d %s/min", self.name, limit, kind)
                if kind == "requests":
                    self.requests = bucket
                else:
                    self.tokens = bucket
                    self.size_confirmed = self._own_cap(limit)
                continue
            if cap:  # our own cap keeps our own books; the server only lowers them
                changed = bucket.heed(limit, -INF, highest, now)
            elif changed := bucket.heed(limit, lowest, highest, now):
                log.info("rate limit changed for %s: %d %s/min", self.name, limit, kind)
            if changed and kind == "tokens":
                self.size_confirmed = self._own_cap(limit)
        if used:
            self.learned = True
            self.learned_at = now
        return used

    def _own_cap(self, token_limit: float) -> bool:
        """The user's own tpm is law: a token limit at it needs no confirmation."""
        return self.tpm is not None and token_limit >= self.tpm

    def cool_down(self, seconds: float, now: float) -> None:
        until = now + seconds
        if until > self.cooldown_until:
            self.cooldown_until = until
            log.info("rate limit cool-down for %s: %.2fs", self.name, seconds)

    def snapshot(self, now: float) -> dict[str, Any]:
        req, tok = self.requests, self.tokens
        return snapshot(
            learned=self.learned,
            requests=None if req is None else (req.limit, req.refill(now)),
            tokens=None if tok is None else (tok.limit, tok.refill(now)),
            window=self.window,
            in_flight=self.inflight,
            waiting=len(self.waiters),
            cooldown=self.cooldown_until - now,
            breaker=self.breaker,
        )


def snapshot(
    *,
    learned: bool,
    requests: tuple[float, float] | None,
    tokens: tuple[float, float] | None,
    window: float,
    in_flight: int,
    waiting: int,
    cooldown: float,
    breaker: CircuitBreaker | None,
) -> dict[str, Any]:
    """What ``limiter.snapshot()`` shows for one (base_url, model), in process or shared:
    ``requests``/``tokens`` are (limit, level now) when known."""
    return {
        "learned": learned,
        "limit_requests": None if requests is None else int(requests[0]),
        "remaining_requests": None if requests is None else int(requests[1]),
        "limit_tokens": None if tokens is None else int(tokens[0]),
        "remaining_tokens": None if tokens is None else int(tokens[1]),
        "window": None if learned else int(window),
        "in_flight": in_flight,
        "waiting": waiting,
        "cooldown": max(0.0, cooldown),
        "breaker": None if breaker is None else breaker.state,
    }
