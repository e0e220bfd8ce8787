"""Splitting one batch input across N machines that share one rate limit through Redis.

``rawgpt batch REQUESTS.jsonl --output OUT-I.jsonl --shard I/N --redis-url URL`` on
machine I (1..N): each line goes to exactly one shard, chosen by a stable hash
of its custom_id (CRC-32, the same on every machine and Python version), and
every shard's limiter shares the budget kept at URL.
"""

from __future__ import annotations

import zlib
from collections.abc import Container

Shard = tuple[int, int]  # (index 1..count, count)


def parse_shard(text: str | Shard) -> Shard:
    """``"I/N"`` (or ``(I, N)``) -> ``(I, N)`` with 1 <= I <= N; ValueError saying what is wrong."""
    if isinstance(text, tuple):
        text = "/".join(map(str, text))
    index, slash, count = text.strip().partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not slash or n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard must be I/N with 1 <= I <= N (as 1/4 ... 4/4), got {text!r}")
    return i, n


def in_shard(custom_id: str, shard: Shard | None) -> bool:
    """True when ``custom_id`` belongs to ``shard`` (always, without a shard)."""
    if shard is None:
        return True
    index, count = shard
    return zlib.crc32(custom_id.encode("utf-8")) % count == index - 1


class SkipOtherShards(Container[str]):
    """The ids a shard skips: those already done, and every other shard's."""

    def __init__(self, done: Container[str], shard: Shard) -> None:
        self.done = done
        self.shard = shard

    def __contains__(self, custom_id: object) -> bool:
        if custom_id in self.done:
            return True
        return not (isinstance(custom_id, str) and in_shard(custom_id, self.shard))
