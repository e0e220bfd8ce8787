"""The suite's markdown: figure tables with ratios, targets, SSE decoders, rate limits."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.report.figures import Figure, by_key
from benchmarks.report.markdown import fmt, table

HEADS = {
    "bare": "floor: aiohttp+orjson",
    "rawgpt": "rawgpt",
    "rawgpt-nolimit": "rawgpt, no limiter",
    "sdk": "SDK",
    "sdk-aiohttp": "SDK, aiohttp",
    "httpx": "raw httpx",
}
# Cost ratios shown beside every row: (numerator, denominator, column title).
RATIOS = [
    ("rawgpt", "bare", "rawgpt ÷ floor"),
    ("sdk", "rawgpt", "SDK ÷ rawgpt"),
    ("sdk-aiohttp", "rawgpt", "SDK aiohttp ÷ rawgpt"),
]
# (figure key, numerator, denominator, limit, "<=" or ">=", what the target says)
Target = tuple[str, str, str, float, str, str]
PER_REQUEST = ("cpu_one@1", "cpu_one@64", "cpu_one@256", "cpu_mock:one@64")
PER_STREAM = ("cpu_stream@1", "cpu_stream@16", "chunk_mock:stream@16")
VS_SDK = (
    "cpu_one@1",
    "cpu_one@64",
    "rps_one@64",
    "cpu_stream@1",
    "cpu_stream@16",
    "cpu_responses@1",
)
TARGETS: list[Target] = [
    *((k, "rawgpt", "bare", 1.10, "<=", "per request <= 1.10x floor") for k in PER_REQUEST),
    *((k, "rawgpt", "bare", 1.0, "<=", "per stream <= 1.0x floor") for k in PER_STREAM),
    *((k, "sdk", "rawgpt", 6.0, ">=", ">= 6x faster than the SDK") for k in VS_SDK),
    *((k, "sdk-aiohttp", "rawgpt", 6.0, ">=", ">= 6x faster than the SDK") for k in VS_SDK),
    ("import", "rawgpt", "bare", 1.05, "<=", "import <= 1.05x aiohttp+orjson"),
]
SIZE_LIMIT_MB = 17.0


def cost_ratio(figure: Figure, a: str, b: str) -> float:
    ca, cb = figure.cost(a), figure.cost(b)
    return ca / cb if cb and not math.isnan(cb) else math.nan


def figures_table(figures: list[Figure], clients: list[str]) -> str:
    """One row per figure, one column per client, then the cost ratios."""
    ratios = [r for r in RATIOS if r[0] in clients and r[1] in clients]
    header = ["figure", *(HEADS[c] for c in clients), *(title for _, _, title in ratios)]
    rows = []
    for f in figures:
        if not f.values:  # its phase was skipped
            continue
        label = f"**{f.label}**" if f.anchor else f.label
        cells = [fmt(f.values[c]) if c in f.values else "n/a" for c in clients]
        quotients = [cost_ratio(f, a, b) for a, b, _ in ratios]
        rows.append([label, *cells, *("n/a" if math.isnan(q) else f"{q:.2f}x" for q in quotients)])
    return table(header, rows)


def target_lines(sections: list[tuple[str, list[Figure]]]) -> list[str]:
    """Every target beside its measured ratio, met or MISSED (nothing is tuned to them)."""
    figures = by_key(sections)
    where = {f.key: title.split(",")[-1].strip() for title, fs in sections for f in fs}
    lines = []
    for key, a, b, limit, op, what in TARGETS:
        f = figures.get(key)
        value = cost_ratio(f, a, b) if f else math.nan
        if f is None or math.isnan(value):
            continue
        met = value <= limit if op == "<=" else value >= limit
        lines.append(
            f"- {what}: {f.label}, {where[key]}: {HEADS[a]} ÷ {HEADS[b]} = {value:.2f}x: "
            + ("met" if met else "**MISSED**")
        )
    size = figures.get("size")
    if size and "rawgpt" in size.values:
        mb = size.values["rawgpt"]
        verdict = "met" if mb <= SIZE_LIMIT_MB else "**MISSED**"
        lines.append(f"- installed size <= {SIZE_LIMIT_MB:g} MB: rawgpt {mb:.1f} MB: {verdict}")
    return lines


def cold_table(cold: dict[str, dict[str, float]], clients: list[str]) -> str:
    """The cold-start phases, medians in ms."""
    header = [
        "client",
        "start-up",
        "import",
        "build client",
        "first response",
        "close, exit",
        "total",
    ]
    rows = []
    for c in clients:
        if c not in cold:
            continue
        x = cold[c]
        phases = [x["before_import_ms"], x["import_ms"], x["build_ms"], x["first_ms"]]
        rest = x["total_ms"] - sum(phases)
        rows.append([HEADS[c], *map(fmt, phases), fmt(rest), fmt(x["total_ms"])])
    return table(header, rows)


def sse_table(sse: dict[str, Any]) -> str:
    """MB/s per decoder and cut, and rawgpt's speed-up over the other two."""
    cuts = [k for k, v in sse.items() if isinstance(v, dict)]
    names = list(sse[cuts[0]]) if cuts else []
    header = ["input cut", *(f"{n} MB/s" for n in names)]
    others = [n for n in names if n != "rawgpt"]
    header += [f"rawgpt ÷ {n}" for n in others]
    rows = []
    for cut in cuts:
        speeds = {n: sse[cut][n]["mb_s"] for n in names}
        row = [f"{cut} ({sse[cut][names[0]]['pieces']:,} pieces)", *map(fmt, speeds.values())]
        row += [f"{speeds['rawgpt'] / speeds[n]:.2f}x" for n in others if "rawgpt" in speeds]
        rows.append(row)
    return table(header, rows)


def ratelimit_section(data: dict[str, Any]) -> str:
    """The rate-limit benchmark's tables, rendered by its own code when it can."""
    runs: list[dict[str, Any]] = data.get("runs", [])
    specs: dict[str, Any] = data.get("settings", {}).get("scenarios", {})
    names = list(dict.fromkeys([*specs, *(r.get("scenario", "?") for r in runs)]))
    parts = []
    try:
        from benchmarks.scenarios.ratelimit import results_table, rows_of, scenario_title

        for name in names:
            title = scenario_title(specs[name]) if name in specs else name
            parts.append(f"{title}\n\n{results_table(rows_of(runs, name))}")
    except Exception:  # its format moved on: fall back to the common fields
        header = ["scenario", "client", "ok / calls", "429 %", "goodput", "wall s"]
        rows = [
            [str(r.get(k, "?")) for k in ("scenario", "client")]
            + [f"{r.get('ok', '?')} / {r.get('requests', '?')}"]
            + [f"{r.get('rate_limited_pct', math.nan):.1f}%", f"{r.get('goodput', math.nan):.1%}"]
            + [fmt(float(r.get("wall", math.nan)))]
            for r in runs
        ]
        parts = [table(header, rows, right_from=2)]
    return "\n\n".join(parts)
