"""A continuously refilling bucket: pure arithmetic on an explicit clock.

``limit`` units at most, refilled at ``limit / 60`` per second (OpenAI's
per-minute limits). The level may go below zero: a debt that later callers
wait out, which is how a learned "remaining" lower than what we charged is
absorbed without a 429.
"""

from __future__ import annotations

_EPS = 1e-6  # units (requests or tokens): float noise, not capacity


class Bucket:
    """Capacity for one resource (requests or tokens) under one limit."""

    __slots__ = ("level", "limit", "rate", "stamp")

    def __init__(self, limit: float, level: float, now: float) -> None:
        self.limit = float(limit)
        self.rate = self.limit / 60.0
        self.level = max(-self.limit, min(float(level), self.limit))
        self.stamp = now

    def refill(self, now: float) -> float:
        """Bring the level up to ``now`` and return it."""
        elapsed = now - self.stamp
        if elapsed > 0:
            level = self.level + elapsed * self.rate
            self.level = level if level < self.limit else self.limit
            self.stamp = now
        return self.level

    def wait(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` fits (0.0 when it fits now)."""
        limit = self.limit
        missing = (cost if cost < limit else limit) - self.refill(now)
        return 0.0 if missing <= _EPS else missing / self.rate

    def try_take(self, cost: float, now: float) -> bool:
        """Take ``cost`` if it fits now; False (and nothing taken) if it does not."""
        limit = self.limit
        if (cost if cost < limit else limit) - self.refill(now) > _EPS:
            return False
        self.level -= cost
        return True

    def take(self, cost: float, now: float) -> None:
        self.refill(now)
        self.level -= cost

    def give_back(self, cost: float, now: float) -> None:
        self.refill(now)
        self.level = min(self.limit, self.level + cost)

    def heed(self, limit: float, lowest: float, highest: float, now: float) -> bool:
        """Take an answer's word: the level (refilled to ``now``) moved into
        [``lowest``, ``highest``], then ``limit`` adopted; True when the limit changed.

        Written out (refill and clamps inline): under a learning load it runs per answer.
        """
        level = self.level
        elapsed = now - self.stamp
        if elapsed > 0:
            level += elapsed * self.rate
            if level > self.limit:
                level = self.limit
        if level < lowest:
            level = lowest
        elif level > highest:
            level = highest
        changed = limit != self.limit
        if changed:
            self.limit = float(limit)
            self.rate = self.limit / 60.0
        limit = self.limit
        self.level = limit if level > limit else (-limit if level < -limit else float(level))
        self.stamp = now
        return changed
