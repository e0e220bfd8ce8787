"""A suite run's report: the header, the markdown of every section, the plots, the files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks.env import ROOT, machine
from benchmarks.report import plots as _plots
from benchmarks.report.figures import Figure, Sections
from benchmarks.report.tables import (
    cold_table,
    figures_table,
    ratelimit_section,
    sse_table,
    target_lines,
)
from benchmarks.targets import MockPace


def describe(
    mode: str, info: dict[str, str], loads: tuple[str, str], preset: dict[str, Any]
) -> str:
    """The run's header: date, machine, versions, method."""
    names = ("rawgpt", "aiohttp", "orjson", "openai", "httpx2", "httpx", "pydantic", "httpx-sse")
    return "\n".join(
        [
            f"rawgpt benchmark suite, {mode} mode, {time.strftime('%Y-%m-%d %H:%M %Z')}",
            "",
            f"- Machine: {machine()}; Python {info['python']} ({info['implementation']}); "
            f"1-minute load average {loads[0]} at the start, {loads[1]} at the end "
            "(the machine is shared: other work shows up as noise).",
            "- Versions: " + ", ".join(f"{n} {info.get(n, '?')}" for n in names) + ".",
            f"- Method: each client in a fresh process per run; {preset['rounds']} interleaved "
            f"rounds (bare and rawgpt {preset['fast_repeats']}x per round); medians over runs, "
            "after a warm-up. Client CPU is `time.process_time()` of the client's process; "
            "the servers run in processes of their own.",
            "- Ratios are cost ratios (time, CPU, bytes, or 1/rate): 2.00x means twice as "
            "costly; bold rows are the anchor figures.",
        ]
    )


def render(
    header: str, sections: Sections, clients: list[str], extra: dict[str, Any], notes: list[str]
) -> str:
    anchors = [f for _, figures in sections for f in figures if f.anchor]
    parts = [header, "### Anchor figures", figures_table(anchors, clients)]
    parts += ["### Targets", "\n".join(target_lines(sections))]
    for title, figures in sections:
        parts += [f"### {title}", figures_table(figures, clients)]
    if extra.get("cold"):
        parts += ["### Cold start phases (ms, medians)", cold_table(extra["cold"], clients)]
    if extra.get("sse"):
        parts += ["### SSE decoders, MB/s on the same OpenAI-shaped bytes", sse_table(extra["sse"])]
    if extra.get("ratelimit"):
        parts += [
            "### Rate-limited jobs (benchmarks.scenarios.ratelimit)",
            ratelimit_section(extra["ratelimit"]),
        ]
    parts += ["### Notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts) + "\n"


def plots(
    out: Path,
    records: list[dict[str, Any]],
    figures: dict[str, Figure],
    extra: dict[str, Any],
    clients: list[str],
    title: str,
    pace: MockPace,
) -> list[str]:
    """Draw every plot; the paths written, or a note that matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ["plots skipped: matplotlib is not installed (pip install 'rawgpt[bench]')"]
    paths = []
    if records:
        paths.append(_plots.summary(figures, extra.get("cold", {}), clients, title, out))
        latency_title = f"MockServer, {pace.latency_ms:g} ms latency"
        paths.append(_plots.latency(records, clients, latency_title, out))
        paths.append(_plots.throughput(figures, clients, out))
    if extra.get("cold"):
        paths.append(_plots.coldstart(extra["cold"], clients, out))
    return [f"plot: {p}" for p in paths]


def write(out: Path, markdown: str, raw: dict[str, Any]) -> str:
    """``results.md`` and ``results.json`` in ``out``; a line saying where they went."""
    (out / "results.md").write_text(markdown)
    (out / "results.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    return f"written: {out / 'results.md'}, {out / 'results.json'} (from {ROOT})"
