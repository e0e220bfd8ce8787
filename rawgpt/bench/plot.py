"""``--plot FILE.png``: latency CDFs and throughput over time, one line per client.

Needs matplotlib (``pip install matplotlib``, or the ``bench`` extra); ``require``
says so before any request is sent.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from .record import Record
from .runner import ClientRun

BIN_SECONDS = 1.0


def require() -> None:
    """A RuntimeError naming the missing package when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise RuntimeError("--plot needs matplotlib: pip install matplotlib (or 'rawgpt[bench]')")


def plot(path: str, runs: dict[str, ClientRun]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels: tuple[tuple[str, Callable[[list[Record]], list[float]]], ...] = (
        ("time to first token (ms)", lambda r: [x.ttft * 1e3 for x in r if x.ttft is not None]),
        ("inter-token latency (ms)", lambda r: [g * 1e3 for x in r for g in x.gaps]),
        ("end-to-end latency (ms)", lambda r: [x.e2e * 1e3 for x in r]),
    )
    for ax, (title, values) in zip(axes.flat, panels, strict=False):
        for name, run in runs.items():
            data = sorted(values([x for x in run.records if x.ok]))
            if data:
                ax.plot(data, [(i + 1) / len(data) for i in range(len(data))], label=name)
        ax.set_xlabel(title)
        ax.set_ylabel("share of requests")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
        else:  # plain requests have no tokens to time
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax = axes.flat[3]
    for name, run in runs.items():
        bins: dict[int, int] = {}
        for x in run.records:
            if x.ok:
                b = int(x.end // BIN_SECONDS)
                bins[b] = bins.get(b, 0) + x.output_tokens
        if bins:
            xs = range(max(bins) + 1)
            ax.plot([b * BIN_SECONDS for b in xs], [bins.get(b, 0) / BIN_SECONDS for b in xs],
                    label=name)  # fmt: skip
    ax.set_xlabel("seconds of measured load")
    ax.set_ylabel("output tokens/s")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
