"""rawgpt's benchmark suite: rawgpt beside the floor, raw httpx and the official SDK.

    python -m benchmarks [--quick] [--out DIR] [--clients ...] [--skip PHASES]
    python -m benchmarks SCENARIO [ARGS ...]

The second form runs one module of ``benchmarks/scenarios/`` on its own, as
``python -m benchmarks.scenarios.SCENARIO [ARGS ...]`` does (``python -m
benchmarks cookies``, ``python -m benchmarks overhead --quick``).

One invocation runs five clients side by side: ``rawgpt``; ``bare`` (aiohttp
and orjson used directly: the floor any aiohttp client pays); the official SDK
on its default transport (``sdk``) and on its aiohttp backend
(``sdk-aiohttp``); raw ``httpx`` with orjson. Every measurement of a client runs
in a fresh process of its own; load runs are interleaved (round r starts with
client r mod 5) and every figure is the median over runs, after a warm-up.

Phases: load on a canned server in its own process (non-streamed at 1, 64 and
256 in flight; 200-chunk streams at 1 and 16) and on a paced ``rawgpt
mock-server`` (latency before the headers, a gap between stream events); cold
start (spawn, import, build, one response, exit); import time; the SSE
decoders' MB/s; installed size in fresh venvs (cached by versions; the quick
mode reuses the cache); the rate-limit goodput table (the full mode runs
``benchmarks.scenarios.ratelimit --quick``; the quick mode shows its last result if any).

Writes ``results.md`` (the tables), ``results.json`` (every raw run) and PNG
plots to the output directory (default ``bench-results/``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import suite
from benchmarks.clients import DEFAULT_NAMES, LABELS, NAMES
from benchmarks.env import load, machine, versions
from benchmarks.report import results
from benchmarks.report.figures import by_key, cold_summary, load_sections, start_section
from benchmarks.report.overhead_tables import summarize
from benchmarks.report.tables import target_lines
from benchmarks.targets import MockPace

PHASES = ("load", "imports", "sse", "size", "ratelimit")
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "rounds": 2,
        "fast_repeats": 1,
        "cold_rounds": 3,
        "import_rounds": 5,
        "sse": (1.0, 5),
        "plan": {  # scenario: (measured calls, warm-up calls)
            "one@1": (150, 30),
            "one@64": (256, 64),
            "one@256": (256, 256),
            "stream@1": (12, 3),
            "stream@16": (32, 16),
            "responses@1": (12, 3),
            "mock:one@64": (64, 64),
            # no warm-up of its own (a 200-chunk paced stream takes ~1.1 s): the code paths
            # are warm from the canned streams, the connections from mock:one@64
            "mock:stream@16": (16, 0),
        },
    },
    "full": {
        "rounds": 5,
        "fast_repeats": 2,
        "cold_rounds": 7,
        "import_rounds": 15,
        "sse": (2.0, 9),
        "plan": {
            "one@1": (800, 100),
            "one@64": (1500, 128),
            "one@256": (1500, 256),
            "stream@1": (40, 10),
            "stream@16": (64, 16),
            "responses@1": (40, 10),
            "mock:one@64": (192, 64),
            "mock:stream@16": (32, 0),  # as in quick: warm from the scenarios before it
        },
    },
}


def scenarios() -> list[str]:
    """The modules of ``benchmarks/scenarios/``, each a benchmark of its own."""
    import benchmarks.scenarios

    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.scenarios.__path__))


def run_scenario(name: str, argv: list[str]) -> int:
    """``python -m benchmarks.scenarios.NAME ARGV``, in this process."""
    sys.argv[0] = f"python -m benchmarks {name}"  # argparse's usage line
    module = importlib.import_module(f"benchmarks.scenarios.{name}")
    code: int = module.main(argv)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in scenarios():
        return run_scenario(argv[0], argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=f"or: python -m benchmarks SCENARIO [ARGS ...]: {', '.join(scenarios())}",
    )
    parser.add_argument("--quick", action="store_true", help="about a minute (default: full)")
    parser.add_argument("--out", default="bench-results", help="output directory")
    parser.add_argument("--clients", default=",".join(DEFAULT_NAMES), help=f"subset of {NAMES}")
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma-separated phases to skip: {PHASES} (load: cold start too)",
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    preset, pace = PRESETS[mode], MockPace()
    clients = [c for c in NAMES if c in args.clients.split(",")]
    skip = set(args.skip.split(",")) - {""}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info, start_load, started = versions(), load(), time.perf_counter()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: servers and workers stop
    suite.log(f"{mode} mode on {machine()}, load average {start_load}")

    records: list[dict[str, Any]] = []
    cold_runs: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    extra: dict[str, Any] = {}
    notes = [
        pace.describe() + "; canned server: answers from prebuilt bytes",
        "connection pools: the floor and raw httpx get max(100, most in flight) = 256 "
        "connections; rawgpt (100) and the SDK (1,000, 100 kept alive) keep their defaults",
    ]
    if "load" not in skip:
        records, cold_runs, skipped = suite.load_and_cold(clients, preset, pace)
        extra["cold"] = cold_summary(cold_runs)
    shown = [c for c in clients if c not in skipped]
    imports = {} if "imports" in skip else suite.import_times(shown, preset["import_rounds"])
    if "sse" not in skip:
        extra["sse"] = suite.sse_speeds(*preset["sse"])
    sizes: dict[str, Any] = {}
    if "size" not in skip:
        sizes, note = suite.sizes(shown, out / "cache" / "installed-size.json", mode == "full")
        notes.append(note)
    if "ratelimit" not in skip:
        extra["ratelimit"], note = suite.ratelimit(out, run=mode == "full")
        notes.append(note)
    notes += [f"{LABELS[c]} skipped: {why}" for c, why in skipped.items()]
    elapsed = time.perf_counter() - started
    notes.append(f"total time {elapsed:.0f} s")

    summary = summarize(records)
    sections = load_sections(summary) if records else []
    sections.append(
        ("Start-up and footprint", start_section(imports, extra.get("cold", {}), sizes, summary))
    )
    header = results.describe(mode, info, (start_load, load()), preset)
    figures = by_key(sections)
    notes += results.plots(out, records, figures, extra, shown, header.splitlines()[0], pace)
    markdown = results.render(header, sections, shown, extra, notes)
    print(markdown)
    raw = {
        "mode": mode, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
        "versions": info, "load_average": [start_load, load()], "preset": preset,
        "pace": vars(pace), "clients": clients, "skipped": skipped, "notes": notes,
        "figures": {k: {"label": f.label, "values": f.values} for k, f in figures.items()},
        "target_lines": target_lines(sections), "load_summary": summary, "load_runs": records,
        "cold_runs": cold_runs, "imports": imports, "sizes": sizes, **extra,
    }  # fmt: skip
    print(results.write(out, markdown, raw))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted")
