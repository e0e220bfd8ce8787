"""One measured request: when it started and ended, when each token arrived, what failed.

Times are seconds on the client's measured clock (the sum of its measured
slices, so its rounds line up end to end). ``gaps`` are the times between
consecutive content deltas of a stream (inter-token latency); derived figures
(end-to-end, time per output token) are properties, so a record crosses the
process boundary as plain data and nothing is stored twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Record:
    index: int
    start: float
    end: float = 0.0
    ttft: float | None = None  # streams: seconds to the first content delta
    gaps: list[float] = field(default_factory=list)
    output_tokens: int = 0
    prompt_tokens: int | None = None
    tokens_from: str = "usage"  # "usage" (the server's), "deltas" (counted), "none"
    error: str | None = None  # the exception's class name
    status: int | None = None  # HTTP status of a failure, when there was one

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def e2e(self) -> float:
        return self.end - self.start

    @property
    def tpot(self) -> float | None:
        """Seconds per output token after the first (streams with two tokens or more)."""
        if self.ttft is None or self.output_tokens < 2:
            return None
        return (self.e2e - self.ttft) / (self.output_tokens - 1)

    @property
    def max_gap(self) -> float | None:
        return max(self.gaps) if self.gaps else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(**data)
