"""The circuit breaker: pure state driven by an explicit clock."""

from __future__ import annotations

import logging

import pytest

from rawgpt._ratelimit.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker

INF = float("inf")


def _trip(b: CircuitBreaker, now: float = 0.0, failures: int = 10) -> None:
    for _ in range(failures):
        b.started()
        b.record(False, now)


def test_closed_passes_and_successes_keep_it_closed() -> None:
    b = CircuitBreaker(name="k")
    for i in range(100):
        assert b.delay(float(i)) == 0.0
        assert b.started() is False
        b.record(True, float(i))
    assert b.state == CLOSED


def test_opens_when_failures_dominate_the_window() -> None:
    b = CircuitBreaker(name="k", window=20, min_calls=10, threshold=0.5)
    for _ in range(9):
        b.record(False, 0.0)
    assert b.state == CLOSED  # too few calls to judge
    b.record(False, 0.0)
    assert b.state == OPEN


def test_a_minority_of_failures_does_not_open() -> None:
    b = CircuitBreaker(name="k")
    for i in range(40):
        b.record(i % 3 != 0, 0.0)  # one in three fails
    assert b.state == CLOSED


def test_old_failures_fall_out_of_the_horizon() -> None:
    b = CircuitBreaker(name="k", horizon=30.0)
    for _ in range(9):
        b.record(False, 0.0)
    b.record(False, 31.0)  # the nine are too old to count with it
    assert b.state == CLOSED


def test_open_waits_cool_off_then_lets_exactly_one_probe() -> None:
    b = CircuitBreaker(name="k", cool_off=2.0)
    _trip(b, 10.0)
    assert b.delay(10.0) == pytest.approx(2.0)
    assert b.delay(11.5) == pytest.approx(0.5)
    assert b.state == OPEN
    assert b.delay(12.0) == 0.0
    assert b.state == HALF_OPEN
    assert b.started() is True  # the probe
    assert b.delay(12.0) == INF  # nobody else while it is out
    assert b.delay(100.0) == INF


def test_probe_success_closes() -> None:
    b = CircuitBreaker(name="k", cool_off=2.0)
    _trip(b)
    b.delay(2.0)
    assert b.started()
    b.record(True, 2.5, probe=True)
    assert b.state == CLOSED
    assert b.delay(2.5) == 0.0
    for _ in range(9):  # the window was cleared: it takes a fresh majority to reopen
        b.record(False, 3.0)
    assert b.state == CLOSED


def test_probe_failure_reopens_with_doubled_cool_off() -> None:
    b = CircuitBreaker(name="k", cool_off=2.0, max_cool_off=5.0)
    _trip(b)
    b.delay(2.0)
    b.started()
    b.record(False, 2.0, probe=True)
    assert b.state == OPEN
    assert b.delay(2.0) == pytest.approx(4.0)
    b.delay(6.0)
    b.started()
    b.record(False, 6.0, probe=True)
    assert b.delay(6.0) == pytest.approx(5.0)  # capped
    b.delay(11.0)
    b.started()
    b.record(True, 11.0, probe=True)
    assert b.state == CLOSED
    assert b.cool_off == 2.0  # back to the base after a success


def test_stale_outcomes_do_not_decide_the_probe() -> None:
    """Requests in flight when the breaker opened finish during half-open: only the probe counts."""
    b = CircuitBreaker(name="k", cool_off=2.0)
    _trip(b)
    b.delay(2.0)
    assert b.started()
    b.record(False, 2.1)  # an old request failing
    assert b.state == HALF_OPEN and b.delay(2.1) == INF
    b.record(True, 2.2)  # an old request succeeding
    assert b.state == HALF_OPEN and b.delay(2.2) == INF
    b.record(True, 2.3, probe=True)
    assert b.state == CLOSED


def test_an_abandoned_probe_lets_the_next_one_go() -> None:
    b = CircuitBreaker(name="k")
    _trip(b)
    b.delay(2.0)
    assert b.started()
    assert b.delay(2.0) == INF
    b.abandon()  # admitted but never sent
    assert b.delay(2.0) == 0.0
    assert b.started() is True


def test_transitions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rawgpt")
    b = CircuitBreaker(name="http://x/v1/gpt", cool_off=2.0)
    _trip(b)
    b.delay(2.0)
    b.started()
    b.record(False, 2.0, probe=True)
    b.delay(6.0)
    b.started()
    b.record(True, 6.0, probe=True)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if "circuit breaker" in r.message]
    assert lines == [
        (logging.WARNING, "circuit breaker http://x/v1/gpt: closed -> open for 2s"),
        (logging.INFO, "circuit breaker http://x/v1/gpt: open -> half-open"),
        (logging.WARNING, "circuit breaker http://x/v1/gpt: half-open -> open for 4s"),
        (logging.INFO, "circuit breaker http://x/v1/gpt: open -> half-open"),
        (logging.INFO, "circuit breaker http://x/v1/gpt: half-open -> closed"),
    ]
