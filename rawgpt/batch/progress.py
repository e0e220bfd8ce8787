"""Batch counters, the progress line on stderr, and the final summary.

On a terminal the progress line redraws in place a few times a second; when
stderr is a file or a pipe, a plain line is printed every few seconds instead.
Rates (requests/s, tokens/s) are over the last ~10 seconds; the ETA divides
what is left by that rate.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .._usage import RequestEvent

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MB (None where it cannot be read)."""
    if resource is None:  # pragma: no cover
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


@dataclass
class BatchSummary:
    """What a batch run did. Live while it runs; final when ``run()`` returns."""

    lines: int = 0  # non-blank input lines
    skipped: int = 0  # already in the output (or errors) from an earlier run
    to_do: int = 0  # lines this run had to handle
    succeeded: int = 0
    failed: int = 0  # requests that failed: in the errors file
    invalid: int = 0  # bad input lines: in the errors file
    in_flight: int = 0
    abandoned: int = 0  # in flight when the grace period ran out: sent again next run
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_models: set[str] = field(default_factory=set)
    rate_limited: int = 0  # 429 answers, the retried ones included
    retries: int = 0  # extra attempts the client made (retried 429s among them)
    wall_time: float = 0.0
    stopped: str | None = None  # why the run stopped early (e.g. "SIGINT"), else None
    fatal: str | None = None  # the error that stopped the run, if one did
    prices: str = ""  # where the cost estimate's prices come from
    repairs: list[str] = field(default_factory=list)
    peak_rss_mb: float | None = None

    @property
    def handled(self) -> int:
        return self.succeeded + self.failed + self.invalid

    @property
    def remaining(self) -> int:
        """Lines still without a result in either file."""
        return self.to_do - self.handled

    @property
    def exit_code(self) -> int:
        """0 all done and nothing failed this run; 3 done with failures; 1 fatal error;
        130 / 143 stopped by SIGINT / SIGTERM (or 1 when stopped otherwise)."""
        if self.fatal is not None:
            return 1
        if self.stopped is not None:
            return {"SIGINT": 130, "SIGTERM": 143}.get(self.stopped, 1)
        return 3 if self.failed or self.invalid else 0

    def add_event(self, event: RequestEvent) -> None:
        """Count one finished request's tokens, cost, retries and 429 (a client hook)."""
        self.prompt_tokens += event.prompt_tokens
        self.completion_tokens += event.completion_tokens
        if event.cost_usd is not None:
            self.cost_usd += event.cost_usd
        elif event.prompt_tokens or event.completion_tokens:
            self.unpriced_models.add(event.model or "unknown")
        self.retries += event.attempts - 1
        self.rate_limited += event.rate_limited


def _num(n: float) -> str:
    return f"{n:,.0f}"


def _eta(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN or no rate yet
        return "?"
    s = int(seconds)
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """Reports a BatchSummary's counters on ``stream`` until stopped."""

    def __init__(self, summary: BatchSummary, stream: TextIO, *, interval: float | None = None):
        self.summary = summary
        self.stream = stream
        self.tty = stream.isatty()
        self.interval = interval if interval is not None else (0.25 if self.tty else 5.0)
        self.start = time.monotonic()
        self._samples: deque[tuple[float, int, int]] = deque()
        self._drawn = False

    def line(self) -> str:
        """The progress line for now."""
        s = self.summary
        now = time.monotonic()
        tokens = s.prompt_tokens + s.completion_tokens
        self._samples.append((now, s.handled, tokens))
        while now - self._samples[0][0] > 10.0:
            self._samples.popleft()
        t0, done0, tok0 = self._samples[0]
        if now - t0 < 1.0:  # too short a window: average since the start
            t0, done0, tok0 = self.start, 0, 0
        span = max(now - t0, 1e-9)
        rps = (s.handled - done0) / span
        tps = (tokens - tok0) / span
        eta = s.remaining / rps if rps > 0 else float("inf")
        return (
            f"batch: {_num(s.handled)}/{_num(s.to_do)} done ({_num(s.failed)} failed, "
            f"{_num(s.invalid)} invalid), {s.in_flight} in flight, {rps:,.0f} req/s, "
            f"{tps:,.0f} tok/s, {_num(s.rate_limited)} 429s, {_num(s.retries)} retries, "
            f"ETA {_eta(eta) if s.remaining else '0m00s'}"
        )

    def draw(self) -> None:
        """Write the line once: redrawn in place on a terminal, appended otherwise."""
        if self.tty:  # cut to the terminal's width: a wrapped line cannot be redrawn
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r\x1b[2K" + self.line()[:width])
            self._drawn = True
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Remove the live line (on a terminal) so the summary starts clean."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False

    def report(self, output: str, errors: str) -> None:
        """Replace the live line with the repairs made and the summary."""
        self.clear()
        for note in self.summary.repairs:
            self.stream.write(f"rawgpt batch: {note}\n")
        lines = summary_lines(self.summary, output, errors)
        if self.summary.stopped is not None:  # interrupted: one line
            lines = [lines[0] + "; rerun the same command to resume"]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    async def run(self) -> None:
        """Draw every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            self.draw()


def summary_lines(s: BatchSummary, output: str, errors: str) -> list[str]:
    """The final summary: the first line alone is the one-line form."""
    if not s.to_do:
        return [
            f"rawgpt batch: nothing to do: all {_num(s.lines)} lines already have a result "
            f"in {output} or {errors}"
        ]
    how = "finished"
    if s.fatal is not None:
        how = f"stopped by an error ({s.fatal})"
    elif s.stopped is not None:
        how = f"interrupted ({s.stopped})"
    rps = s.handled / s.wall_time if s.wall_time > 0 else 0.0
    head = (
        f"rawgpt batch {how} in {s.wall_time:.1f}s: {_num(s.succeeded)} ok, "
        f"{_num(s.failed)} failed, {_num(s.invalid)} invalid, {_num(s.skipped)} already done"
    )
    if s.remaining:
        head += f", {_num(s.remaining)} not done ({s.abandoned} abandoned in flight)"
    if s.retries or s.rate_limited:
        head += f"; {_num(s.retries)} retries, {_num(s.rate_limited)} answers 429"
    cost = f"~${s.cost_usd:.4f}"
    if s.unpriced_models:
        cost += f" (no price for {', '.join(sorted(s.unpriced_models))})"
    lines = [
        head + (f"; {rps:,.0f} req/s" if s.handled else ""),
        f"  tokens: {_num(s.prompt_tokens)} prompt + {_num(s.completion_tokens)} completion; "
        f"estimated cost {cost} from {s.prices}",
        f"  results in {output}; errors in {errors}"
        + (f"; peak memory {s.peak_rss_mb:.0f} MB" if s.peak_rss_mb else ""),
    ]
    if s.remaining and s.fatal is None:
        lines.append("  rerun the same command to resume")
    elif s.failed and not s.remaining:
        lines.append("  rerun with --retry-errors to send the failed requests again")
    return lines
