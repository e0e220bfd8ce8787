"""The suite's figures: every measured number as (row, client -> median), grouped for tables.

Each ``Figure`` is one table row: a label, whether lower or higher is better,
and one median per client. Ratios are cost ratios (``cost``): time, CPU, bytes
as they are, rates inverted, so "2.00x" always means "twice as costly".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from benchmarks.payloads import RESPONSES_EVENTS, STREAM_EVENTS
from benchmarks.report.markdown import median
from benchmarks.report.overhead_tables import Summary

LEVELS = (1, 64, 256)  # non-streamed requests in flight
STREAM_LEVELS = (1, 16)
MOCK_ONE, MOCK_STREAM = "mock:one@64", "mock:stream@16"
# What a user of each client imports (import time is measured on these statements).
IMPORTS = {
    "bare": "import aiohttp, orjson",
    "rawgpt": "import rawgpt",
    "sdk": "import openai",
    "sdk-aiohttp": "import openai, aiohttp",
    "httpx": "import httpx, orjson",
}


@dataclass
class Figure:
    key: str
    label: str
    values: dict[str, float] = field(default_factory=dict)
    higher_is_better: bool = False
    anchor: bool = False

    def cost(self, client: str) -> float:
        value = self.values.get(client, math.nan)
        return (1.0 / value if value else math.nan) if self.higher_is_better else value


Sections = list[tuple[str, list[Figure]]]
IMPORT_LABEL = '`python -c "import ..."`, whole process (ms)'


PER_CHUNK = 1000.0 / STREAM_EVENTS  # ms per stream -> µs per chunk
PER_EVENT = 1000.0 / RESPONSES_EVENTS  # ms per Responses stream -> µs per event
# metric -> (summary field, scale, higher is better)
METRICS: dict[str, tuple[str, float, bool]] = {
    "cpu": ("cpu_ms", 1.0, False),
    "chunk": ("cpu_ms", PER_CHUNK, False),
    "event": ("cpu_ms", PER_EVENT, False),
    "rps": ("per_s", 1.0, True),
    "p50": ("p50_ms", 1.0, False),
    "p99": ("p99_ms", 1.0, False),
    "ttft": ("ttft_p50_ms", 1.0, False),
    "ttft99": ("ttft_p99_ms", 1.0, False),
}
# (metric, scenario, label); {c} is the number in flight
Row = tuple[str, str, str]
ONE_ROWS: list[Row] = [
    ("cpu", "one@{c}", "client CPU per request, {c} in flight (ms)"),
    ("rps", "one@{c}", "requests/s, {c} in flight"),
    ("p50", "one@{c}", "latency p50, {c} in flight (ms)"),
    ("p99", "one@{c}", "latency p99, {c} in flight (ms)"),
]
STREAM_ROWS: list[Row] = [
    ("cpu", "stream@{c}", "client CPU per stream, {c} in flight (ms)"),
    ("chunk", "stream@{c}", "client CPU per chunk, {c} in flight (µs)"),
    ("rps", "stream@{c}", "streams/s, {c} in flight"),
    ("ttft", "stream@{c}", "time to first token p50, {c} in flight (ms)"),
]
RESPONSES_ROWS: list[Row] = [
    ("cpu", "responses@{c}", "client CPU per Responses stream, {c} in flight (ms)"),
    ("event", "responses@{c}", "client CPU per Responses event, {c} in flight (µs)"),
    ("rps", "responses@{c}", "Responses streams/s, {c} in flight"),
]
MOCK_ROWS: list[Row] = [
    ("p50", MOCK_ONE, "latency p50, 64 in flight (ms)"),
    ("p99", MOCK_ONE, "latency p99, 64 in flight (ms)"),
    ("cpu", MOCK_ONE, "client CPU per request, 64 in flight (ms)"),
    ("ttft", MOCK_STREAM, "time to first token p50, 16 streams in flight (ms)"),
    ("ttft99", MOCK_STREAM, "time to first token p99, 16 streams in flight (ms)"),
    ("chunk", MOCK_STREAM, "client CPU per chunk, 16 streams in flight (µs)"),
]
# The anchor figures (DESIGN.md's table), by key.
ANCHORS = ("cpu_one@1", "rps_one@64", "cpu_stream@1", "import", "size")


def _rows(summary: Summary, rows: list[Row], levels: tuple[int, ...]) -> list[Figure]:
    figures = []
    for c in levels:
        for metric, template, label in rows:
            name, scale, higher = METRICS[metric]
            scenario = template.format(c=c)
            key = f"{metric}_{scenario}"
            values = {
                client: cells[scenario][name] * scale
                for client, cells in summary.items()
                if name in cells.get(scenario, {})
            }
            figures.append(Figure(key, label.format(c=c), values, higher, key in ANCHORS))
    return figures


def load_sections(summary: Summary) -> Sections:
    """Non-streamed and streamed figures on the canned server, then on MockServer."""
    return [
        ("Non-streamed, canned server", _rows(summary, ONE_ROWS, LEVELS)),
        ("Streamed (200 chunks), canned server", _rows(summary, STREAM_ROWS, STREAM_LEVELS)),
        (
            f"Responses API stream ({RESPONSES_EVENTS} events), canned server",
            _rows(summary, RESPONSES_ROWS, (1,)),
        ),
        ("Paced server, MockServer", _rows(summary, MOCK_ROWS, (0,))),
    ]


def cold_summary(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """client -> median of each cold-start phase (ms) and of the peak RSS (kB)."""
    out: dict[str, dict[str, float]] = {}
    for client in dict.fromkeys(r["client"] for r in records):
        runs = [r for r in records if r["client"] == client]
        keys = [k for k, v in runs[0].items() if isinstance(v, int | float) and k != "round"]
        out[client] = {k: median([r[k] for r in runs]) for k in keys}
    return out


def start_section(
    imports: dict[str, dict[str, float]],
    cold: dict[str, dict[str, float]],
    sizes: dict[str, dict[str, Any]],
    summary: Summary,
) -> list[Figure]:
    """Import time, cold start, installed size and memory."""

    def pick(table: dict[str, dict[str, Any]], key: str, scale: float = 1.0) -> dict[str, float]:
        return {c: float(v[key]) * scale for c, v in table.items() if key in v}

    by_client = {c: imports[stmt] for c, stmt in IMPORTS.items() if stmt in imports}
    peak = {
        c: max(v.get("maxrss_kb", 0.0) for v in cells.values()) / 1024
        for c, cells in summary.items()
    }
    return [
        Figure("import", IMPORT_LABEL, pick(by_client, "wall_s", 1e3), anchor=True),
        Figure(
            "import_net",
            "import, net of interpreter start (ms)",
            pick(by_client, "net_wall_s", 1e3),
        ),
        Figure("cold", "cold start: spawn to first response and exit (ms)", pick(cold, "total_ms")),
        Figure("cold_first", "cold start: first response after build (ms)", pick(cold, "first_ms")),
        Figure("size", "installed size with dependencies (MB)", pick(sizes, "du_mb"), anchor=True),
        Figure("rss_cold", "peak RSS after one request (MB)", pick(cold, "maxrss_kb", 1 / 1024)),
        Figure("rss_load", "peak RSS after all load scenarios (MB)", peak),
    ]


def by_key(sections: Sections) -> dict[str, Figure]:
    return {f.key: f for _, figures in sections for f in figures}
