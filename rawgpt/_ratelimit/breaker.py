"""A circuit breaker over recent outcomes: pure state on an explicit clock.

Closed: everything passes. When connection errors and 5xx make up at least
``threshold`` of the last ``window`` outcomes (with ``min_calls`` of them, all
within ``horizon`` seconds), it opens: new sends wait ``cool_off`` seconds
(doubling on each reopen, up to ``max_cool_off``). Then it is half-open: one
probe goes through; its success closes the breaker, its failure reopens it.
"""

from __future__ import annotations

import logging
from collections import deque

log = logging.getLogger("rawgpt")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    """Decides whether a send may start now, from the outcomes recorded so far."""

    def __init__(
        self,
        *,
        name: str = "",
        window: int = 20,
        min_calls: int = 10,
        threshold: float = 0.5,
        horizon: float = 30.0,
        cool_off: float = 2.0,
        max_cool_off: float = 60.0,
    ) -> None:
        self.name = name
        self.window = window
        self.min_calls = min_calls
        self.threshold = threshold
        self.horizon = horizon
        self.base_cool_off = cool_off
        self.max_cool_off = max_cool_off
        self.state = CLOSED
        self.cool_off = cool_off
        self.opened_at = 0.0
        self.probing = False
        self._outcomes: deque[tuple[float, bool]] = deque(maxlen=window)

    def delay(self, now: float) -> float:
        """0 when a send may start; seconds until half-open; inf while a probe is out."""
        if self.state == CLOSED:
            return 0.0
        if self.state == OPEN:
            left = self.opened_at + self.cool_off - now
            if left > 0:
                return left
            self._move(HALF_OPEN)
        return float("inf") if self.probing else 0.0

    def started(self) -> bool:
        """A send was let through; True when it is the half-open probe."""
        if self.state == HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def abandon(self) -> None:
        """The probe was admitted but never sent: let the next send be the probe."""
        self.probing = False

    def record(self, ok: bool, now: float, probe: bool = False) -> None:
        """An outcome: ``ok`` False for a connection error or a 5xx.

        Only the probe's own outcome decides a half-open breaker: requests that
        were already in flight when it opened just join the window.
        """
        if probe and self.state == HALF_OPEN:
            self.probing = False
            if ok:
                self.cool_off = self.base_cool_off
                self._outcomes.clear()
                self._move(CLOSED)
            else:
                self.cool_off = min(self.cool_off * 2, self.max_cool_off)
                self._open(now)
            return
        self._outcomes.append((now, ok))
        if ok or self.state != CLOSED:  # a success can never open the breaker
            return
        recent = [good for at, good in self._outcomes if now - at <= self.horizon]
        failures = recent.count(False)
        if len(recent) >= self.min_calls and failures >= self.threshold * len(recent):
            self._open(now)

    def _open(self, now: float) -> None:
        self.opened_at = now
        self._move(OPEN, f" for {self.cool_off:g}s")

    def _move(self, state: str, detail: str = "") -> None:
        if state != self.state:
            level = logging.WARNING if state == OPEN else logging.INFO
            log.log(level, "circuit breaker %s: %s -> %s%s", self.name, self.state, state, detail)
            self.state = state
