"""RateLimiter on a fake clock: slow start, buckets, FIFO, cancellation, cool-down, breaker."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from rawgpt import APIConnectionError, APITimeoutError, RateLimiter, RequestTooLargeError
from rawgpt._errors import APIStatusError, QuotaExceededError, status_error
from rawgpt._ratelimit.state import Ticket

KEY = ("http://api/v1", "gpt-4o-mini")


class _Handle:
    __slots__ = ("callback", "cancelled", "due")

    def __init__(self, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock and a timer: ``advance`` moves time and runs due callbacks in order."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.scheduled = 0
        self._heap: list[tuple[float, int, _Handle]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle(self.t + max(0.0, delay), callback)
        heapq.heappush(self._heap, (handle.due, next(self._seq), handle))
        self.scheduled += 1
        return handle

    def pending(self) -> int:
        return sum(not h.cancelled for _, _, h in self._heap)

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        while self._heap and self._heap[0][0] <= end + 1e-12:
            due, _, handle = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            self.t = max(self.t, due)
            handle.cancelled = True  # fired
            handle.callback()
        self.t = max(self.t, end)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


def make(fake: FakeClock, **kwargs: Any) -> RateLimiter:
    kwargs.setdefault("learn_margin", 0.0)  # exact arithmetic; the margin has its own test
    kwargs.setdefault("learn_every", 0.0)  # learn from every answer; throttling has its own test
    return RateLimiter(clock=fake.now, timer=fake.call_later, rng=random.Random(1), **kwargs)


def headers(
    rpm: int = 600, rem_req: int = 600, tpm: int = 60_000, rem_tok: int = 60_000
) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(rpm),
        "x-ratelimit-remaining-requests": str(rem_req),
        "x-ratelimit-reset-requests": "0s",
        "x-ratelimit-limit-tokens": str(tpm),
        "x-ratelimit-remaining-tokens": str(rem_tok),
        "x-ratelimit-reset-tokens": "0s",
    }


async def learn(rl: RateLimiter, **kwargs: int) -> None:
    """Send one cost-1 probe and answer it with these headers."""
    rl.release(await rl.acquire(KEY, 1), headers(**kwargs))


def spawn(rl: RateLimiter, cost: int, **kwargs: Any) -> asyncio.Task[Ticket]:
    return asyncio.ensure_future(rl.acquire(KEY, cost, **kwargs))


def snap(rl: RateLimiter) -> dict[str, Any]:
    return rl.snapshot()["http://api/v1/gpt-4o-mini"]


def rate_limited(headers: dict[str, str] | None = None, message: str = "Slow down.") -> Any:
    body = {"error": {"message": message, "type": "requests", "code": "rate_limit_exceeded"}}
    return status_error(429, orjson.dumps(body), headers or {})


# --- slow start --------------------------------------------------------------------------


async def test_before_headers_only_one_request_is_in_flight(fake: FakeClock) -> None:
    rl = make(fake)
    first = await rl.acquire(KEY, 10)
    second, third = spawn(rl, 10), spawn(rl, 10)
    await settle()
    fake.advance(3600)
    await settle()
    assert not second.done() and not third.done()
    assert fake.pending() == 0  # waiting for an answer, not for a time
    assert snap(rl)["in_flight"] == 1 and snap(rl)["waiting"] == 2
    rl.release(first, {})  # a success without headers: the window doubles
    await settle()
    assert second.done() and third.done()
    assert snap(rl)["window"] == 2 and snap(rl)["in_flight"] == 2


async def test_window_doubles_per_success_and_halves_on_429(fake: FakeClock) -> None:
    rl = make(fake)
    for window in (2, 4, 8):
        rl.release(await rl.acquire(KEY, 1), {})
        assert snap(rl)["window"] == window
    rl.release(await rl.acquire(KEY, 1), error=rate_limited())
    assert snap(rl)["window"] == 4
    assert snap(rl)["learned"] is False


async def test_headers_switch_to_buckets_minus_what_was_charged_since(fake: FakeClock) -> None:
    rl = make(fake)
    first = await rl.acquire(KEY, 10)
    waiting = spawn(rl, 10)
    await settle()
    rl.release(first, headers(rpm=60, rem_req=5, tpm=1000, rem_tok=990))
    await settle()
    assert waiting.done()  # bucket mode: it fits now
    s = snap(rl)
    assert s["learned"] is True and s["window"] is None
    assert (s["limit_requests"], s["remaining_requests"]) == (60, 4)
    assert (s["limit_tokens"], s["remaining_tokens"]) == (1000, 980)
    # three more admitted before the first of them is answered
    a = await rl.acquire(KEY, 100)
    b = await rl.acquire(KEY, 100)
    c = await rl.acquire(KEY, 100)
    rl.release(a, headers(rpm=60, rem_req=3, tpm=1000, rem_tok=880))
    s = snap(rl)  # the server saw a only: b and c are subtracted from its remaining
    assert s["remaining_requests"] == 1 and s["remaining_tokens"] == 680
    fake.advance(1.0)  # 1 request and ~16.7 tokens refill per second
    s = snap(rl)
    assert s["remaining_requests"] == 2 and s["remaining_tokens"] == 696
    for t in (b, c, waiting.result()):
        rl.release(t)


async def test_answers_out_of_order_never_credit_back_what_was_charged(fake: FakeClock) -> None:
    """50 admitted at once; the server admits them in another order than they were sent,
    so an answer's "remaining" says little about the requests around it: the books stand."""
    rl = make(fake)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=60, rem_req=59))
    tickets = [await rl.acquire(KEY, 1) for _ in range(50)]
    assert snap(rl)["remaining_requests"] == 9
    # the 40th was the first the server admitted: 58 left then, the 49 others uncounted
    rl.release(tickets[39], headers(rpm=60, rem_req=58))
    assert snap(rl)["remaining_requests"] == 9  # not 58 - 10 sent after it = 48
    # the 1st was the last it admitted
    rl.release(tickets[0], headers(rpm=60, rem_req=9))
    assert snap(rl)["remaining_requests"] == 9  # not 9 - 49 sent after it = -40
    for ticket in tickets[1:39] + tickets[40:]:
        rl.release(ticket, headers(rpm=60, rem_req=9))
    assert snap(rl)["remaining_requests"] == 9


async def test_an_answer_lowers_the_books_to_what_the_server_has(fake: FakeClock) -> None:
    """Another client on the same key spent most of the budget: the books come down."""
    rl = make(fake)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=60, rem_req=59))
    rl.release(await rl.acquire(KEY, 1), headers(rpm=60, rem_req=20))
    assert snap(rl)["remaining_requests"] == 20


async def test_an_answer_raises_the_books_only_to_what_is_certain(fake: FakeClock) -> None:
    """The server has more than the books say (its bucket was reset): the level rises to
    "remaining" less every request of ours it may not have counted, no further."""
    rl = make(fake)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=60, rem_req=10))
    a, b, c = [await rl.acquire(KEY, 1) for _ in range(3)]
    d = await rl.acquire(KEY, 1)
    assert snap(rl)["remaining_requests"] == 6
    rl.release(c, headers(rpm=60, rem_req=50))  # a, b ahead of it, d after it: maybe uncounted
    assert snap(rl)["remaining_requests"] == 47
    for ticket in (a, b, d):
        rl.release(ticket)


async def test_an_unknown_outcome_teaches_nothing(fake: FakeClock) -> None:
    """Released with neither headers nor error (cancelled in flight): no window growth."""
    rl = make(fake)
    rl.release(await rl.acquire(KEY, 1))
    assert snap(rl)["window"] == 1 and snap(rl)["in_flight"] == 0


async def test_unusable_headers_keep_slow_start(fake: FakeClock) -> None:
    rl = make(fake)
    for bad in (
        {"x-ratelimit-limit-requests": "0", "x-ratelimit-remaining-requests": "0"},
        {"x-ratelimit-limit-requests": "-1", "x-ratelimit-remaining-requests": "5"},
        {"x-ratelimit-limit-tokens": "abc", "x-ratelimit-remaining-tokens": "1"},
        {"x-ratelimit-limit-tokens": "10", "x-ratelimit-remaining-tokens": "20"},
        {"x-ratelimit-reset-requests": "6m0s"},
    ):
        rl.release(await rl.acquire(KEY, 1), bad)
    assert snap(rl)["learned"] is False and snap(rl)["window"] == 32  # never stalled


async def test_user_rpm_tpm_configure_the_buckets_without_headers(fake: FakeClock) -> None:
    rl = make(fake, rpm=60, tpm=1000)
    rl.release(await rl.acquire(KEY, 100), {})  # the probe; no headers come back
    s = snap(rl)
    assert s["learned"] and (s["limit_requests"], s["remaining_requests"]) == (60, 59)
    assert (s["limit_tokens"], s["remaining_tokens"]) == (1000, 900)
    with pytest.raises(RequestTooLargeError):
        await rl.acquire(KEY, 1001)
    # larger server limits do not lift the user's caps; smaller ones lower them
    rl.release(await rl.acquire(KEY, 1), headers(rpm=10_000, rem_req=10_000))
    assert snap(rl)["limit_requests"] == 60
    rl.release(await rl.acquire(KEY, 1), headers(rpm=30, rem_req=2, tpm=500, rem_tok=400))
    s = snap(rl)
    assert (s["limit_requests"], s["remaining_requests"], s["limit_tokens"]) == (30, 2, 500)


# --- buckets, FIFO, no polling -------------------------------------------------------------


async def test_waits_for_the_refill(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, rpm=60, rem_req=0)  # one request per second
    task = spawn(rl, 1)
    await settle()
    fake.advance(0.99)
    await settle()
    assert not task.done()
    fake.advance(0.01)
    await settle()
    assert task.done()


async def test_fifo_waiters_wake_in_order_at_the_computed_times(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, tpm=600, rem_tok=0)  # 10 tokens per second from empty
    scheduled = fake.scheduled
    costs = {"a": 10, "b": 30, "c": 5, "d": 20}
    tasks = {name: spawn(rl, cost) for name, cost in costs.items()}
    await settle()

    def admitted() -> str:
        return "".join(n for n, t in tasks.items() if t.done())

    timeline = [
        (0.99, ""),
        (1.0, "a"),
        (1.5, "a"),  # c's 5 tokens are there, but b came first
        (3.99, "a"),
        (4.0, "ab"),
        (4.5, "abc"),
        (6.49, "abc"),
        (6.5, "abcd"),
    ]
    at = 0.0
    for when, expected in timeline:
        fake.advance(when - at)
        at = when
        await settle()
        assert admitted() == expected, when
        assert fake.pending() <= 1  # one timer per key, never one per waiter
    assert fake.scheduled - scheduled <= 6  # woken at computed times: no polling
    assert [t.result().cost for t in tasks.values()] == list(costs.values())


async def test_10000_waiters_need_one_timer(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, rpm=60, rem_req=0)
    tasks = [spawn(rl, 1) for _ in range(10_000)]
    await settle()
    assert fake.pending() == 1 and fake.scheduled <= 2
    fake.advance(2.5)
    await settle()
    assert sum(t.done() for t in tasks) == 2
    assert snap(rl)["waiting"] == 9_998
    for t in tasks:
        t.cancel()
    await settle()
    assert snap(rl)["waiting"] == 0 and fake.pending() == 0


# --- cancellation, deadline, too large ---------------------------------------------------------


async def test_cancelling_a_waiter_moves_the_next_up(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, tpm=600, rem_tok=0)  # 10 tokens/s from empty
    a, b, c = spawn(rl, 10), spawn(rl, 30), spawn(rl, 10)
    await settle()
    b.cancel()
    await settle()
    assert snap(rl)["waiting"] == 2
    fake.advance(1.0)
    await settle()
    assert a.done() and not c.done()
    fake.advance(1.0)  # c no longer waits behind b's 30 tokens
    await settle()
    assert c.done() and b.cancelled()
    d, e = spawn(rl, 50), spawn(rl, 5)
    await settle()
    d.cancel()  # the head leaves: the timer is reset for e
    await settle()
    assert fake.pending() == 1
    fake.advance(0.5)
    await settle()
    assert e.done()


async def test_a_grant_racing_a_cancellation_is_refunded(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, rpm=60, rem_req=0, tpm=6000, rem_tok=1000)
    task = spawn(rl, 100)
    await settle()
    assert not task.done()
    fake.advance(1.0)  # granted: its future holds a ticket...
    s = snap(rl)
    assert (s["in_flight"], s["remaining_requests"], s["remaining_tokens"]) == (1, 0, 1000)
    task.cancel()  # ...but the task is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await task
    s = snap(rl)
    assert (s["in_flight"], s["remaining_requests"], s["remaining_tokens"]) == (0, 1, 1100)


async def test_release_unsent_gives_the_charge_back(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, rpm=60, rem_req=10, tpm=1000, rem_tok=1000)
    ticket = await rl.acquire(KEY, 300)
    assert (snap(rl)["remaining_requests"], snap(rl)["remaining_tokens"]) == (9, 700)
    rl.release(ticket, sent=False)
    rl.release(ticket, sent=False)  # once per ticket
    assert (snap(rl)["remaining_requests"], snap(rl)["remaining_tokens"]) == (10, 1000)
    assert snap(rl)["in_flight"] == 0


async def test_a_wait_past_the_deadline_fails_at_once(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, rpm=60, rem_req=0)
    with pytest.raises(APITimeoutError, match="deadline"):
        await rl.acquire(KEY, 1, deadline=fake.now() + 0.5)
    assert fake.pending() == 0 and snap(rl)["waiting"] == 0
    ok = spawn(rl, 1, deadline=fake.now() + 1.5)
    await settle()
    fake.advance(1.0)
    await settle()
    assert ok.done() and not ok.exception()


async def test_a_queued_waiter_fails_at_its_deadline_and_the_next_moves_up(
    fake: FakeClock,
) -> None:
    rl = make(fake)
    first = await rl.acquire(KEY, 1)  # slow start: nobody else until it is answered
    late = spawn(rl, 1, deadline=fake.now() + 2.0)
    patient = spawn(rl, 1)
    await settle()
    fake.advance(1.99)
    await settle()
    assert not late.done()
    fake.advance(0.01)
    await settle()
    assert isinstance(late.exception(), APITimeoutError)
    rl.release(first)
    await settle()
    assert patient.done() and snap(rl)["waiting"] == 0


async def test_a_head_whose_wait_grows_past_its_deadline_fails_early(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl, rpm=60, rem_req=1)
    sender = await rl.acquire(KEY, 1)
    task = spawn(rl, 1, deadline=fake.now() + 3.0)  # a 1s wait: it would make it
    await settle()
    assert not task.done()
    rl.release(sender, error=rate_limited({"retry-after": "10"}))  # now a 10s pause
    await settle()
    assert isinstance(task.exception(), APITimeoutError)  # told at once, not after 3s
    assert fake.now() == 1000.0 and snap(rl)["waiting"] == 0


def too_large_429() -> Any:
    message = "Request too large for gpt-4o-mini on tokens per min (TPM): Limit 1000"
    body = {"error": {"message": message, "type": "tokens", "code": "rate_limit_exceeded"}}
    return status_error(429, orjson.dumps(body), {})


async def test_a_learned_limit_refuses_a_call_only_once_the_server_confirmed_it(
    fake: FakeClock,
) -> None:
    """Above a learned token limit, one call at a time goes through (without waiting for a
    full bucket); the server's own "Request too large" confirms the limit, and from then on
    such calls fail at once, the waiting ones too."""
    rl = make(fake)
    first = await rl.acquire(KEY, 1)
    small, big = spawn(rl, 10), spawn(rl, 5000)
    await settle()
    rl.release(first, headers(tpm=1000, rem_tok=1000))  # learned: 5000 would never fit
    await settle()
    assert small.done() and big.done()  # the first oversize call goes through to find out
    other = spawn(rl, 1001)
    await settle()
    assert not other.done()  # one at a time
    rl.release(big.result(), error=too_large_429())
    await settle()
    assert isinstance(other.exception(), RequestTooLargeError)
    with pytest.raises(RequestTooLargeError, match="1000 tokens per minute"):
        await rl.acquire(KEY, 1001)
    assert snap(rl)["in_flight"] == 1 and snap(rl)["waiting"] == 0


async def test_a_limit_the_server_exceeds_is_forgotten(fake: FakeClock) -> None:
    rl = make(fake)
    rl.release(await rl.acquire(KEY, 1), headers(tpm=10, rem_tok=9))
    big = await rl.acquire(KEY, 500)  # at once: not after a wait for a full bucket
    rl.release(big, {})  # the server took it, without rate-limit headers
    assert snap(rl)["limit_tokens"] is None
    rl.release(await rl.acquire(KEY, 5000), {})


async def test_learned_limits_no_answer_repeats_are_forgotten(fake: FakeClock) -> None:
    """Headers once, then answers without them: after forget_after seconds the learned
    limits go and the limiter starts slow again from what is in flight."""
    rl = make(fake, forget_after=30.0)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=60, rem_req=0, tpm=10, rem_tok=0))
    fake.advance(29.0)
    rl.release(await rl.acquire(KEY, 1), {})  # no headers, 29 s after them: kept
    assert snap(rl)["limit_requests"] == 60
    fake.advance(2.0)
    rl.release(await rl.acquire(KEY, 1), {})  # 31 s after them: forgotten
    s = snap(rl)
    assert s["learned"] is False and s["limit_requests"] is None and s["limit_tokens"] is None
    rl.release(await rl.acquire(KEY, 500), {})  # no wait for a 10-token bucket now
    # the user's own rpm/tpm are never forgotten
    capped = make(fake, forget_after=30.0, rpm=60, tpm=1000)
    capped.release(await capped.acquire(KEY, 1), {})
    fake.advance(100.0)
    capped.release(await capped.acquire(KEY, 1), {})
    assert capped.snapshot()["http://api/v1/gpt-4o-mini"]["limit_requests"] == 60


# --- shared cool-down ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hdrs", "message", "wait"),
    [
        ({"retry-after-ms": "1500"}, "Slow down.", 1.5),
        ({"retry-after": "3"}, "Slow down.", 3.0),
        ({}, "Please try again in 1.2s. Visit ...", 1.2),
        ({}, "Please try again in 120ms. Visit ...", 0.12),
        ({}, "Please try again in 1m0s. Visit ...", 60.0),
        ({"retry-after": "86400"}, "Slow down.", 60.0),  # capped
        ({}, "Slow down.", 1.0),
    ],
)
async def test_a_429_pauses_every_waiter_for_that_key(
    fake: FakeClock, hdrs: dict[str, str], message: str, wait: float
) -> None:
    rl = make(fake)
    await learn(rl)  # plenty of room
    sender = await rl.acquire(KEY, 1)
    rl.release(sender, error=rate_limited(hdrs, message))
    cooldown = snap(rl)["cooldown"]
    assert wait < cooldown <= wait + max(0.05, wait * 0.1)  # positive jitter
    tasks = [spawn(rl, 1) for _ in range(3)]
    await settle()
    other_key = await rl.acquire(("http://api/v1", "other-model"), 1)  # not paused
    assert isinstance(other_key, Ticket)
    fake.advance(wait)
    await settle()
    assert not any(t.done() for t in tasks)
    assert snap(rl)["waiting"] == 3
    fake.advance(cooldown - wait)
    await settle()
    assert all(t.done() for t in tasks)
    assert snap(rl)["cooldown"] == 0.0


async def test_jitter_comes_from_the_seeded_rng(fake: FakeClock) -> None:
    pauses = []
    for _ in range(2):
        rl = make(fake)
        rl.release(await rl.acquire(KEY, 1), error=rate_limited({"retry-after": "2"}))
        pauses.append(snap(rl)["cooldown"])
    assert pauses[0] == pauses[1] == pytest.approx(2.0 + random.Random(1).uniform(0.0, 0.2))


async def test_quota_exceeded_and_too_large_do_not_cool_down(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl)
    quota = status_error(
        429, orjson.dumps({"error": {"message": "quota", "code": "insufficient_quota"}}), {}
    )
    assert isinstance(quota, QuotaExceededError)
    rl.release(await rl.acquire(KEY, 1), error=quota)
    assert snap(rl)["cooldown"] == 0.0
    big = rate_limited(message="Request too large for gpt-4o: Limit 100, Requested 500.")
    rl.release(await rl.acquire(KEY, 1), error=big)
    assert snap(rl)["cooldown"] == 0.0
    assert isinstance(await rl.acquire(KEY, 1), Ticket)


async def test_cool_down_is_logged(fake: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rawgpt")
    rl = make(fake)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=500, rem_req=499))
    rl.release(await rl.acquire(KEY, 1), error=rate_limited({"retry-after": "2"}))
    text = caplog.text
    assert "rate limit learned for http://api/v1/gpt-4o-mini: 500 requests/min" in text
    assert "rate limit cool-down for http://api/v1/gpt-4o-mini: 2." in text


# --- breaker through the limiter ---------------------------------------------------------------


async def _fail(rl: RateLimiter, n: int, error: Exception | None = None) -> None:
    for _ in range(n):
        err = error or APIConnectionError("refused")
        assert isinstance(err, APIConnectionError | APIStatusError)
        rl.release(await rl.acquire(KEY, 1), headers(), err)


async def test_breaker_opens_probes_and_closes(
    fake: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rawgpt")
    rl = make(fake)
    await _fail(rl, 10)
    assert snap(rl)["breaker"] == "open"
    tasks = [spawn(rl, 1) for _ in range(3)]
    await settle()
    fake.advance(1.99)
    await settle()
    assert not any(t.done() for t in tasks)
    fake.advance(0.01)
    await settle()
    assert [t.done() for t in tasks] == [True, False, False]  # exactly one probe
    assert snap(rl)["breaker"] == "half-open" and fake.pending() == 0
    fake.advance(60)
    await settle()
    assert [t.done() for t in tasks] == [True, False, False]
    rl.release(tasks[0].result(), headers())
    await settle()
    assert all(t.done() for t in tasks) and snap(rl)["breaker"] == "closed"
    assert "closed -> open" in caplog.text and "half-open -> closed" in caplog.text


async def test_a_failed_probe_reopens_with_double_cool_off(fake: FakeClock) -> None:
    rl = make(fake)
    await _fail(rl, 10, status_error(500, b'{"error": {"message": "boom"}}', {}))
    fake.advance(2.0)
    probe = await rl.acquire(KEY, 1)
    waiting = spawn(rl, 1)
    await settle()
    rl.release(probe, error=APIConnectionError("reset"))
    assert snap(rl)["breaker"] == "open"
    await settle()
    fake.advance(3.99)
    await settle()
    assert not waiting.done()
    fake.advance(0.01)
    await settle()
    assert waiting.done() and snap(rl)["breaker"] == "half-open"


async def test_stale_answers_and_unsent_probes_do_not_stall_the_breaker(fake: FakeClock) -> None:
    rl = make(fake)
    old = [await rl.acquire(KEY, 1) for _ in range(1)]
    rl.release(old[0], headers())  # learned: no slow-start window from here on
    stale = [await rl.acquire(KEY, 1) for _ in range(3)]
    await _fail(rl, 9)  # with the one success: 9 of 10 failed
    assert snap(rl)["breaker"] == "open"
    fake.advance(2.0)
    probe = await rl.acquire(KEY, 1)
    waiting = spawn(rl, 1)
    await settle()
    rl.release(stale[0], headers(), APIConnectionError("late failure"))
    rl.release(stale[1], headers())  # a late success is not the probe's answer either
    await settle()
    assert snap(rl)["breaker"] == "half-open" and not waiting.done()
    rl.release(probe, sent=False)  # the probe never went out: the next caller probes
    await settle()
    assert waiting.done() and snap(rl)["breaker"] == "half-open"
    rl.release(waiting.result(), headers())
    assert snap(rl)["breaker"] == "closed"
    rl.release(stale[2], headers())


async def test_a_probe_cancelled_in_flight_lets_the_next_one_probe(fake: FakeClock) -> None:
    rl = make(fake)
    await _fail(rl, 10)
    fake.advance(2.0)
    probe = await rl.acquire(KEY, 1)
    waiting = spawn(rl, 1)
    await settle()
    rl.release(probe)  # cancelled mid-flight: neither a success nor a failure
    await settle()
    assert snap(rl)["breaker"] == "half-open" and waiting.done()
    rl.release(waiting.result(), {})
    assert snap(rl)["breaker"] == "closed"


async def test_breaker_false_turns_it_off(fake: FakeClock) -> None:
    rl = make(fake, breaker=False)
    await _fail(rl, 30)
    assert snap(rl)["breaker"] is None
    assert isinstance(await rl.acquire(KEY, 1), Ticket)


# --- snapshot ----------------------------------------------------------------------------------


async def test_snapshot_shows_what_the_limiter_knows(fake: FakeClock) -> None:
    rl = make(fake)
    assert rl.snapshot() == {}
    ticket = await rl.acquire(KEY, 50)
    s = snap(rl)
    assert s == {
        "learned": False,
        "limit_requests": None,
        "remaining_requests": None,
        "limit_tokens": None,
        "remaining_tokens": None,
        "window": 1,
        "in_flight": 1,
        "waiting": 0,
        "cooldown": 0.0,
        "breaker": "closed",
    }
    rl.release(ticket, headers(rpm=60, rem_req=1, tpm=6000, rem_tok=5000))
    await rl.acquire(KEY, 10)
    task = spawn(rl, 10)
    await settle()
    assert snap(rl) == {
        "learned": True,
        "limit_requests": 60,
        "remaining_requests": 0,
        "limit_tokens": 6000,
        "remaining_tokens": 4990,
        "window": None,
        "in_flight": 1,
        "waiting": 1,
        "cooldown": 0.0,
        "breaker": "closed",
    }
    task.cancel()
    await settle()


def test_invalid_caps_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rpm=0)
    with pytest.raises(ValueError):
        RateLimiter(tpm=-5)


async def test_learning_keeps_a_margin_for_the_send_to_admission_gap(fake: FakeClock) -> None:
    """The server admitted the request a little after we sent it: 20 ms of refill (and
    one unit) are not credited, so a learned level never runs ahead of the server's."""
    got = {}
    for margin in (0.0, 0.02):
        rl = make(fake, learn_margin=margin)
        h = headers(rpm=600, rem_req=100, tpm=60_000, rem_tok=5000)
        rl.release(await rl.acquire(KEY, 10), h)
        s = snap(rl)
        got[margin] = (s["remaining_requests"], s["remaining_tokens"])
    assert got[0.0] == (100, 5000)
    assert got[0.02][0] == 98  # 100 - (1 + 10/s * 0.02) = 98.8
    assert 4978 <= got[0.02][1] <= 4979  # 5000 - (1 + 1000/s * 0.02) = 4979


async def test_routine_answers_teach_at_most_every_learn_every_seconds(fake: FakeClock) -> None:
    """At high rates learning is throttled while the buckets are far from empty, but an
    answer after ``learn_every`` (or one that finds a bucket nearly empty) teaches again."""
    rl = make(fake, learn_every=0.05)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=600, rem_req=500))
    assert snap(rl)["remaining_requests"] == 500
    rl.release(await rl.acquire(KEY, 1), headers(rpm=600, rem_req=300))  # within 50 ms: skipped
    assert snap(rl)["remaining_requests"] == 499
    fake.advance(0.06)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=600, rem_req=300))
    assert snap(rl)["remaining_requests"] == 300
    rl.release(await rl.acquire(KEY, 1), headers(rpm=600, rem_req=40))  # 300 -> 40: learned?
    assert snap(rl)["remaining_requests"] == 299  # no: 300 was far from empty
    fake.advance(0.06)
    rl.release(await rl.acquire(KEY, 1), headers(rpm=600, rem_req=40))
    assert snap(rl)["remaining_requests"] == 40
    rl.release(await rl.acquire(KEY, 1), headers(rpm=600, rem_req=10))  # 40 < 10%: learns
    assert snap(rl)["remaining_requests"] == 10


async def test_try_acquire_admits_only_when_nothing_stands_in_the_way(fake: FakeClock) -> None:
    rl = make(fake)
    assert rl.try_acquire(KEY, 1) is None  # nothing learned yet: slow start decides
    await learn(rl, rpm=600, rem_req=2, tpm=60_000, rem_tok=1_000)
    ticket = rl.try_acquire(KEY, 600)
    assert ticket is not None and ticket.at == fake.now()
    assert snap(rl)["remaining_requests"] == 1 and snap(rl)["remaining_tokens"] == 400
    assert rl.try_acquire(KEY, 500) is None  # too few tokens: no request is charged either
    assert snap(rl)["remaining_requests"] == 1 and snap(rl)["remaining_tokens"] == 400
    assert rl.try_acquire(KEY, 60_001) is None  # too large: acquire() raises, not this
    waiter = spawn(rl, 500)
    await settle()
    assert rl.try_acquire(KEY, 1) is None  # someone waits: no overtaking
    fake.advance(1.0)  # refill: 10 requests and 1,000 tokens per second
    await settle()
    assert waiter.done()
    rl.release(ticket, error=rate_limited(message="Please try again in 2s."))
    assert rl.try_acquire(KEY, 1) is None  # cooling down
    fake.advance(2.5)
    assert rl.try_acquire(KEY, 1) is not None


async def test_try_acquire_leaves_an_open_breaker_to_acquire(fake: FakeClock) -> None:
    rl = make(fake)
    await learn(rl)
    for _ in range(9):  # with the first success: 10 outcomes, 90% failed
        assert snap(rl)["breaker"] == "closed"
        ticket = rl.try_acquire(KEY, 1)
        assert ticket is not None
        rl.release(ticket, error=APIConnectionError("down"))
    assert snap(rl)["breaker"] == "open" and rl.try_acquire(KEY, 1) is None


def test_a_forked_child_starts_with_no_limiter_state() -> None:
    """A request in flight when the process forks is the parent's: in the child the
    slow-start window (one request until headers come) must not wait for it forever."""
    import os

    rl = RateLimiter()

    async def in_flight() -> Ticket:
        return await rl.acquire(KEY, 1)  # the probe: the window is full until it returns

    ticket = asyncio.run(in_flight())
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:

            async def again() -> None:
                await asyncio.wait_for(rl.acquire(KEY, 1), timeout=2)

            asyncio.run(again())
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    rl.release(ticket, {})
