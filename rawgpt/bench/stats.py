"""Per-client figures from the records: percentiles, rates, CPU, failures, goodput."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .runner import ClientRun
from .slo import meets


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of ``values``, linearly interpolated; NaN if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    at = (len(ordered) - 1) * p / 100.0
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


@dataclass(frozen=True, slots=True)
class Dist:
    """p50, p90, p99 and mean of some milliseconds."""

    p50: float
    p90: float
    p99: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Dist | None:
        if not values:
            return None
        ps = [percentile(values, p) for p in (50, 90, 99)]
        return cls(ps[0], ps[1], ps[2], sum(values) / len(values))

    def to_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "mean": self.mean}


@dataclass(slots=True)
class Summary:
    """What the table, ``--json`` and the README report for one client."""

    requests_ok: int
    requests_failed: int
    rate_limited: int
    sees_retried_429: bool
    failures: dict[str, int]
    requests_per_s: float
    output_tokens_per_s: float
    output_tokens: int
    tokens_from: dict[str, int]
    client_cpu_ms_per_request: float
    client_cpu_us_per_output_token: float | None
    wall_s: float
    ttft_ms: Dist | None
    itl_ms: Dist | None
    tpot_ms: Dist | None
    e2e_ms: Dist | None
    goodput: float | None = None  # share of requests meeting every objective
    slo: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.to_dict() if isinstance(value, Dist) else value
        return out


def summarize(run: ClientRun, slo: dict[str, float] | None = None) -> Summary:
    records = run.records
    ok = [r for r in records if r.ok]
    failures = Counter(r.error or "" for r in records if not r.ok)
    tokens = sum(r.output_tokens for r in ok)
    wall = run.wall_s or float("nan")
    n = len(records)
    ms = 1000.0
    return Summary(
        requests_ok=len(ok),
        requests_failed=n - len(ok),
        rate_limited=run.rate_limited,
        sees_retried_429=run.sees_retried_429,
        failures=dict(failures.most_common()),
        requests_per_s=len(ok) / wall,
        output_tokens_per_s=tokens / wall,
        output_tokens=tokens,
        tokens_from=dict(Counter(r.tokens_from for r in ok)),
        client_cpu_ms_per_request=run.cpu_s * ms / n if n else float("nan"),
        client_cpu_us_per_output_token=run.cpu_s * 1e6 / tokens if tokens else None,
        wall_s=run.wall_s,
        ttft_ms=Dist.of([r.ttft * ms for r in ok if r.ttft is not None]),
        itl_ms=Dist.of([g * ms for r in ok for g in r.gaps]),
        tpot_ms=Dist.of([t * ms for r in ok if (t := r.tpot) is not None]),
        e2e_ms=Dist.of([r.e2e * ms for r in ok]),
        goodput=sum(meets(r, slo) for r in records) / n if slo and n else None,
        slo=dict(slo or {}),
    )
