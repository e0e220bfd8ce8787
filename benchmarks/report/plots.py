"""PNG plots of one suite run (matplotlib, from the ``bench`` extra).

- ``latency.png``: per-request latency distributions (empirical CDFs) per client;
- ``throughput.png``: requests/s and client CPU per request against requests in flight;
- ``coldstart.png``: cold start split into its phases, per client;
- ``summary.png``: the README's figure: throughput, CPU per stream, cold start, size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.report.figures import LEVELS, MOCK_ONE, Figure
from benchmarks.report.tables import HEADS

COLORS = {
    "bare": "#7f7f7f",
    "rawgpt": "#2ca02c",
    "rawgpt-nolimit": "#98df8a",
    "sdk": "#d62728",
    "sdk-aiohttp": "#ff7f0e",
    "httpx": "#1f77b4",
}
PHASES = [
    ("before_import_ms", "interpreter start-up"),
    ("import_ms", "import"),
    ("build_ms", "build client"),
    ("first_ms", "first response"),
]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _log(ax: Any, axis: str) -> None:
    """A log scale labelled in plain numbers at 1-2-5 steps, without minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def _legend(fig: Any, axes: Any) -> None:
    """One legend for the whole figure, below the plots."""
    handles, labels = axes.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)


def _ecdf(ax: Any, records: list[dict[str, Any]], clients: list[str], scenario: str) -> None:
    for c in clients:
        runs = [r for r in records if r["client"] == c and r["scenario"] == scenario]
        points = sorted(v for r in runs for v in r.get("lat_q_ms", []))
        if points:
            fractions = [(i + 0.5) / len(points) for i in range(len(points))]
            ax.plot(points, fractions, color=COLORS[c], label=HEADS[c], lw=1.8)
    _log(ax, "x")
    ax.set_ylim(0, 1)
    ax.set_xlabel("latency per request (ms, log scale)")
    ax.set_ylabel("fraction of requests")


def latency(records: list[dict[str, Any]], clients: list[str], pace: str, out: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    panels = [(f"one@{c}", f"canned server, {c} in flight") for c in LEVELS]
    panels.append((MOCK_ONE, f"{pace}, 64 in flight"))
    for ax, (scenario, title) in zip(axes.flat, panels, strict=True):
        _ecdf(ax, records, clients, scenario)
        ax.set_title(title, fontsize=10)
    _legend(fig, axes.flat[0])
    fig.suptitle("Non-streamed request latency: empirical CDF, all runs pooled (left is better)")
    path = out / "latency.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _per_level(ax: Any, figures: dict[str, Figure], metric: str, clients: list[str]) -> None:
    for c in clients:
        xs = [n for n in LEVELS if c in figures[f"{metric}_one@{n}"].values]
        ys = [figures[f"{metric}_one@{n}"].values[c] for n in xs]
        ax.plot(xs, ys, marker="o", color=COLORS[c], label=HEADS[c], lw=1.8)
    ax.set_xscale("log", base=2)
    _log(ax, "y")
    ax.set_xticks(list(LEVELS), [str(n) for n in LEVELS])
    ax.set_xlabel("requests in flight")


def throughput(figures: dict[str, Figure], clients: list[str], out: Path) -> Path:
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    _per_level(left, figures, "rps", clients)
    left.set_ylabel("requests/s (log scale)")
    left.set_title("Throughput, canned server (higher is better)", fontsize=10)
    _legend(fig, left)
    _per_level(right, figures, "cpu", clients)
    right.set_ylabel("ms of client CPU per request (log scale)")
    right.set_title("Client CPU per request, canned server (lower is better)", fontsize=10)
    path = out / "throughput.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _phase(cold: dict[str, float], key: str) -> float:
    """One phase's median; "exit" is what the total leaves after the others."""
    return cold[key] if key != "exit" else cold["total_ms"] - sum(cold[k] for k, _ in PHASES)


def _cold_bars(ax: Any, cold: dict[str, dict[str, float]], clients: list[str]) -> None:
    shown = [c for c in clients if c in cold][::-1]
    left = [0.0] * len(shown)
    shades = ["#c7c7c7", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8"]
    for (key, label), shade in zip([*PHASES, ("exit", "close and exit")], shades, strict=True):
        widths = [_phase(cold[c], key) for c in shown]
        ax.barh([HEADS[c] for c in shown], widths, left=left, color=shade, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, total in enumerate(left):
        ax.text(total, y, f" {total:.0f} ms", va="center", fontsize=9)
    ax.set_xlim(0, max(left, default=1) * 1.22)
    ax.set_xlabel("ms from spawn to exit")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)


def coldstart(cold: dict[str, dict[str, float]], clients: list[str], out: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4), constrained_layout=True)
    _cold_bars(ax, cold, clients)
    ax.set_title(
        "Cold start: fresh process, import, build a client, one response, exit (lower is better)"
    )
    path = out / "coldstart.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _bars(ax: Any, figure: Figure, clients: list[str], unit: str) -> None:
    shown = [c for c in clients if c in figure.values]
    values = [figure.values[c] for c in shown]
    ax.bar([HEADS[c] for c in shown], values, color=[COLORS[c] for c in shown])
    for x, v in enumerate(values):
        ax.text(x, v, f"{v:.3g} {unit}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, max(values, default=1) * 1.15)
    ax.tick_params(axis="x", labelrotation=20)


def summary(
    figures: dict[str, Figure],
    cold: dict[str, dict[str, float]],
    clients: list[str],
    title: str,
    out: Path,
) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), constrained_layout=True)
    _per_level(axes[0][0], figures, "rps", clients)
    axes[0][0].set_ylabel("requests/s (log scale)")
    axes[0][0].set_title("Throughput vs requests in flight (higher is better)", fontsize=10)
    axes[0][0].legend(loc="center right", fontsize=8)
    _bars(axes[0][1], figures["cpu_stream@1"], clients, "ms")
    axes[0][1].set_title("Client CPU per 200-chunk stream (lower is better)", fontsize=10)
    axes[0][1].set_ylabel("ms")
    _cold_bars(axes[1][0], cold, clients)
    axes[1][0].set_title("Cold start (lower is better)", fontsize=10)
    if "size" in figures and figures["size"].values:
        _bars(axes[1][1], figures["size"], clients, "MB")
        axes[1][1].set_title("Installed size with dependencies (lower is better)", fontsize=10)
        axes[1][1].set_ylabel("MB")
    fig.suptitle(title, fontsize=11)
    path = out / "summary.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
