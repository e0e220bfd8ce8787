"""The final table: one column per client, a ratio column per client after the first."""

from __future__ import annotations

import math

from .stats import Dist, Summary


def num(x: float | None) -> str:
    """A figure with about three significant digits; "-" when there is none."""
    if x is None or math.isnan(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def _dist(d: Dist | None) -> str:
    return "-" if d is None else " / ".join(num(v) for v in (d.p50, d.p90, d.p99, d.mean))


def _rows(s: Summary) -> list[tuple[str, str, float | None]]:
    """(label, cell, value for a ratio or None)."""
    limited = str(s.rate_limited) + ("" if s.sees_retried_429 else " (failures only)")
    rows: list[tuple[str, str, float | None]] = [
        ("requests ok / failed", f"{s.requests_ok} / {s.requests_failed}", None),
        ("429 answers", limited, None),
        ("requests/s", num(s.requests_per_s), None),
        ("output tokens/s", num(s.output_tokens_per_s), None),
        ("TTFT ms  p50 / p90 / p99 / mean", _dist(s.ttft_ms), None),
        ("ITL ms   p50 / p90 / p99 / mean", _dist(s.itl_ms), None),
        ("TPOT ms  p50 / p90 / p99 / mean", _dist(s.tpot_ms), None),
        ("e2e ms   p50 / p90 / p99 / mean", _dist(s.e2e_ms), None),
        (
            "client CPU per request (ms)",
            num(s.client_cpu_ms_per_request),
            s.client_cpu_ms_per_request,
        ),
        (
            "client CPU per output token (µs)",
            num(s.client_cpu_us_per_output_token),
            s.client_cpu_us_per_output_token,
        ),
    ]
    if s.goodput is not None:
        slo = ", ".join(f"{k}<={v:g}" for k, v in s.slo.items())
        rows.append((f"goodput ({slo})", f"{s.goodput:.1%}", None))
    failures = ", ".join(f"{name} {n}" for name, n in s.failures.items()) or "-"
    rows.append(("failures by type", failures, None))
    return rows


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value is not None and base else ""


def render(summaries: dict[str, Summary]) -> str:
    """The table as text (a header line, a rule, one line per figure)."""
    names = list(summaries)
    columns = {name: _rows(s) for name, s in summaries.items()}
    first = names[0]
    header = ["figure", *names, *(f"{n} ÷ {first}" for n in names[1:])]
    lines: list[list[str]] = []
    for i, (label, _, _) in enumerate(columns[first]):
        cells = [columns[n][i][1] for n in names]
        base = columns[first][i][2]
        lines.append([label, *cells, *(_ratio(columns[n][i][2], base) for n in names[1:])])
    widths = [max(len(row[c]) for row in [header, *lines]) for c in range(len(header))]

    def line(row: list[str]) -> str:
        first_cell = row[0].ljust(widths[0])
        return "  ".join(
            [first_cell, *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        )

    rule = "  ".join("-" * w for w in widths)
    return "".join(text.rstrip() + "\n" for text in [line(header), rule, *map(line, lines)])
