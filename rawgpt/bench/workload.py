"""What a benchmark sends: the options, the arrival schedule, and its cut into rounds.

``Workload`` holds every option that shapes the load (it is echoed under
``"workload"`` in the ``--json`` file). ``arrivals`` is the open-loop schedule of
``--rate`` (Poisson, or gamma-distributed gaps with ``burstiness``), a pure
function of its random generator. ``rounds`` cuts the measured load into
slices that the clients run in turn, so that clients compared side by side
share the machine's quiet and noisy moments alike.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Workload:
    """The load one client is measured under (every client gets the same)."""

    model: str | None  # None: each --prompts line's own
    requests: int | None = 100  # None: as many as fit in ``duration``
    concurrency: int | None = 10  # requests in flight at most; None: no cap (``rate`` only)
    rate: float | None = None  # requests/s, open loop
    burstiness: float = 1.0  # gamma shape of the gaps: 1 is Poisson, < 1 burstier
    duration: float | None = None  # seconds of measured load per client
    warmup: int = 0  # requests per client before measuring, not counted
    rounds: int = 1  # slices per client, run in turn with the other clients'
    stream: bool = True
    max_tokens: int | None = 50
    prompt_tokens: int = 100
    prompts: str | None = None  # a JSONL file of chat bodies or Batch API lines
    retries: bool = True
    seed: int = 0
    slo: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.requests is None and self.duration is None:
            raise ValueError("give --requests or --duration")
        if self.requests is not None and self.requests < 1:
            raise ValueError(f"--requests must be >= 1, got {self.requests}")
        if self.duration is not None and not self.duration > 0:
            raise ValueError(f"--duration must be > 0 seconds, got {self.duration}")
        if self.concurrency is None and self.rate is None:
            raise ValueError("give --concurrency or --rate")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"--concurrency must be >= 1, got {self.concurrency}")
        if self.rate is not None and not self.rate > 0:
            raise ValueError(f"--rate must be > 0 requests/s, got {self.rate}")
        if not self.burstiness > 0:
            raise ValueError(f"--burstiness must be > 0, got {self.burstiness}")
        if self.burstiness != 1.0 and self.rate is None:
            raise ValueError("--burstiness shapes --rate arrivals: give --rate too")
        if self.warmup < 0 or self.rounds < 1:
            raise ValueError("--warmup must be >= 0 and --rounds >= 1")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"--max-tokens must be >= 1, got {self.max_tokens}")
        if self.prompt_tokens < 1:
            raise ValueError(f"--prompt-tokens must be >= 1, got {self.prompt_tokens}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workload:
        return cls(**data)


def arrivals(
    rate: float,
    rng: random.Random,
    *,
    burstiness: float = 1.0,
    count: int | None = None,
    until: float | None = None,
) -> list[float]:
    """Send times in seconds from the start: the first at 0, then gaps drawn from a gamma
    distribution of mean ``1 / rate`` and shape ``burstiness`` (1: exponential gaps, a
    Poisson process). ``count`` times, or every time before ``until``, whichever ends first.
    """
    if count is None and until is None:
        raise ValueError("arrivals needs a count or an end time")
    scale = 1.0 / (rate * burstiness)
    times: list[float] = []
    now = 0.0
    while (count is None or len(times) < count) and (until is None or now < until):
        times.append(now)
        now += rng.gammavariate(burstiness, scale)
    return times


ROUND_SPAN = 1_000_000  # request numbers per round when only a duration bounds the load


@dataclass(frozen=True, slots=True)
class Slice:
    """One client's share of one round: requests ``first``, ``first + 1``, ... ``count``
    of them (None: until ``duration`` runs out), sent ``arrivals`` seconds after the
    slice starts (None: as fast as ``concurrency`` allows)."""

    first: int
    count: int | None
    duration: float | None = None
    arrivals: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan(workload: Workload) -> list[Slice]:
    """The measured load cut into ``workload.rounds`` slices (each client runs all of them)."""
    n, rounds = workload.requests, workload.rounds
    if workload.rate is not None:
        rng = random.Random(workload.seed)
        times = arrivals(
            workload.rate, rng, burstiness=workload.burstiness, count=n, until=workload.duration
        )
        total = times[-1] if n is not None else float(workload.duration or 0.0)
        slices: list[Slice] = []
        start = 0
        for r in range(rounds):
            end = (r + 1) * total / rounds
            stop = len(times) if r == rounds - 1 else _first_at_or_after(times, end, start)
            base = times[start] if start < len(times) else 0.0
            if stop > start:
                offsets = [t - base for t in times[start:stop]]
                slices.append(Slice(start, stop - start, None, offsets))
            start = stop
        return slices
    share = None if workload.duration is None else workload.duration / rounds
    if n is None:  # each round's requests numbered apart, so no two share a prompt
        return [Slice(r * ROUND_SPAN, None, share) for r in range(rounds)]
    cuts = [n * r // rounds for r in range(rounds + 1)]
    slices = [Slice(a, b - a, share) for a, b in itertools.pairwise(cuts)]
    return [s for s in slices if s.count]


def _first_at_or_after(times: list[float], t: float, start: int) -> int:
    i = start
    while i < len(times) and times[i] < t:
        i += 1
    return i
