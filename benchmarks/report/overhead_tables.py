"""The overhead benchmark's summary: medians per client and scenario, tables, targets."""

from __future__ import annotations

from typing import Any

from benchmarks.clients import LABELS
from benchmarks.payloads import RESPONSES_EVENTS, STREAM_EVENTS
from benchmarks.report.markdown import fmt, median, ratio, table

Summary = dict[str, dict[str, dict[str, float]]]  # client -> scenario -> medians
OPTIONAL = ("p50_ms", "p99_ms", "ttft_p50_ms", "ttft_p99_ms", "maxrss_kb")

SHORT = {
    "bare": "bare",
    "rawgpt": "rawgpt",
    "sdk": "SDK",
    "sdk-aiohttp": "SDK-aio",
    "rawgpt-nolimit": "rawgpt-nolim",
    "httpx": "httpx",
}


def scenario_label(scenario: str, concurrency: int) -> str:
    return {
        "seq": "non-stream, 1 in flight",
        "conc": f"non-stream, {concurrency} in flight",
        "stream": f"{STREAM_EVENTS}-chunk stream, 1 in flight",
        "responses": f"Responses stream ({RESPONSES_EVENTS} events), 1 in flight",
    }[scenario]


def summarize(records: list[dict[str, Any]]) -> Summary:
    """client -> scenario -> medians (and the CPU spread) over runs."""
    out: Summary = {}
    keys = sorted({(x["client"], x["scenario"]) for x in records})
    for client, scenario in keys:
        runs = [x for x in records if x["client"] == client and x["scenario"] == scenario]
        cpu = [x["cpu_ms_per"] for x in runs]
        out.setdefault(client, {})[scenario] = {
            "cpu_ms": median(cpu),
            "cpu_min": min(cpu),
            "cpu_max": max(cpu),
            "per_s": median([x["per_s"] for x in runs]),
            "wall_s": median([x["wall_s"] for x in runs]),
            "core_use": median([x["cpu_s"] / x["wall_s"] for x in runs]),
            "runs": len(runs),
        }
        for key in OPTIONAL:  # the suite's worker records these too
            values = [x[key] for x in runs if x.get(key) is not None]
            if values:
                out[client][scenario][key] = median(values)
    return out


def _cpu(summary: Summary, client: str, scenario: str) -> float:
    return summary.get(client, {}).get(scenario, {}).get("cpu_ms", float("nan"))


def main_table(
    summary: Summary,
    clients: list[str],
    scenarios: list[str],
    concurrency: int,
) -> str:
    header = ["scenario"]
    for c in clients:
        header += [f"{SHORT[c]} CPU ms", f"{SHORT[c]} req/s"]
    ratios = [("rawgpt", "bare", "rawgpt/bare"), ("rawgpt-nolimit", "bare", "rawgpt-nolim/bare")]
    ratios += [(c, "rawgpt", f"{SHORT[c]}/rawgpt") for c in ("sdk", "sdk-aiohttp")]
    ratios = [x for x in ratios if x[0] in clients and x[1] in clients]
    header += [name for _, _, name in ratios]
    rows = []
    for s in scenarios:
        row = [scenario_label(s, concurrency)]
        for c in clients:
            cell = summary.get(c, {}).get(s)
            row += [fmt(cell["cpu_ms"]), fmt(cell["per_s"])] if cell else ["n/a", "n/a"]
        row += [f"{ratio(_cpu(summary, a, s), _cpu(summary, b, s)):.2f}x" for a, b, _ in ratios]
        rows.append(row)
    return table(header, rows)


def detail_table(
    summary: Summary,
    clients: list[str],
    scenarios: list[str],
    concurrency: int,
) -> str:
    header = [
        "scenario",
        "client",
        "CPU ms/req (median)",
        "min..max",
        "req/s",
        "wall s",
        "client CPU/wall",
        "runs",
    ]
    rows = []
    for s in scenarios:
        for c in clients:
            cell = summary.get(c, {}).get(s)
            if cell:
                rows.append(
                    [
                        scenario_label(s, concurrency),
                        LABELS[c],
                        fmt(cell["cpu_ms"]),
                        f"{fmt(cell['cpu_min'])}..{fmt(cell['cpu_max'])}",
                        fmt(cell["per_s"]),
                        f"{cell['wall_s']:.2f}",
                        f"{cell['core_use']:.0%}",
                        str(int(cell["runs"])),
                    ]
                )
    return table(header, rows, right_from=2)


def target_lines(summary: Summary, scenarios: list[str]) -> list[str]:
    """The project's stated targets next to the measured ratios (nothing is tuned to them)."""
    lines = []
    floor = {"seq": 1.10, "conc": 1.10, "stream": 1.0}  # Responses: no target vs the floor
    checks = [(s, "rawgpt", "bare", floor[s], "<=") for s in scenarios if s in floor]
    checks += [(s, sdk, "rawgpt", 6.0, ">=") for s in scenarios for sdk in ("sdk", "sdk-aiohttp")]
    for s, a, b, limit, op in checks:
        value = ratio(_cpu(summary, a, s), _cpu(summary, b, s))
        if value != value:
            continue
        met = value <= limit if op == "<=" else value >= limit
        lines.append(
            f"- {s}: {SHORT[a]}/{SHORT[b]} CPU = {value:.2f}x (target {op} {limit:g}x): "
            + ("met" if met else "MISSED")
        )
    return lines
