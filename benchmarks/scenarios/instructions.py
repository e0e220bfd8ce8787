"""Instructions per request under callgrind: rawgpt beside the floor, counted instead of timed.

    python -m benchmarks.scenarios.instructions [--quick] [--json PATH] [--rawgpt DIR]
    python -m benchmarks instructions ...                     (the same)

To compare two checkouts, run this harness from one checkout (its worker,
clients and canned server are then the same for both) and point ``--rawgpt``
at the checkout whose ``rawgpt/`` package is measured, e.g.::

    cd new-checkout && PYTHONPATH=$PWD python -m benchmarks.scenarios.instructions \\
        --rawgpt ../old-checkout --json /tmp/instr-old.json | tee /tmp/instr-old.txt

Without ``--rawgpt`` the client processes import the ``rawgpt`` of this
checkout. The table's title gives the ``rawgpt/__init__.py`` that was measured
(resolved, as the client processes import it). A full run takes about 10
minutes, ``--quick`` about 3. Keep the machine otherwise idle: ``one@64``
depends on how many answers each event-loop pass finds ready, so a busy
machine (or ``--jobs 2``) moves its counts by a few percent. Even idle, one
1,200-call ``one@64`` run in a few counts about 35 million instructions fewer
than the others (35k per request), for either client; the median of three
counts sets it aside. The other runs repeat within 0.1%.

Method: the canned server (``benchmarks.procs.canned``) runs in its own
process, not under valgrind. Each count is one client process
(``benchmarks.procs.worker``, as in ``benchmarks.scenarios.overhead``) run
whole under ``valgrind --tool=callgrind`` (collection on from the start), for
two clients: ``bare`` (aiohttp and orjson used directly: the floor) and
``rawgpt``. A figure is the difference of two runs that differ only in the
number of measured calls, divided by that difference, so start-up, imports,
warm-up and shutdown cancel out:

- ``one@1``: non-streamed completions one at a time, 1,200 vs 200 calls;
- ``one@64``: non-streamed completions 64 in flight, 1,200 vs 200 calls;
- ``stream@1``: 200-chunk streams one at a time, 120 vs 20 streams;
- ``import``: a whole ``python -c "import rawgpt"`` process vs
  ``python -c "import aiohttp, orjson"`` (not a difference: both whole).

``--quick`` counts 250 vs 50 calls (320 vs 64 at 64 in flight) and 30 vs 5
streams, once each. ``PYTHONHASHSEED=0`` in every client process keeps the
counts repeatable; each run is counted ``--repeat`` times (default 3, quick 1)
and its median taken.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.clients import LABELS
from benchmarks.env import ROOT, child_env, machine, versions
from benchmarks.procs.canned import running_server
from benchmarks.report.figures import IMPORTS
from benchmarks.report.markdown import table

CLIENTS = ("bare", "rawgpt")
# scenario -> (worker plan item, warm-up calls, fewer calls, more calls)
PRESETS: dict[str, dict[str, tuple[str, int, int, int]]] = {
    "full": {
        "one@1": ("one@1", 50, 200, 1200),
        "one@64": ("one@64", 64, 200, 1200),
        "stream@1": ("stream@1", 5, 20, 120),
    },
    "quick": {
        "one@1": ("one@1", 50, 50, 250),
        "one@64": ("one@64", 64, 64, 320),
        "stream@1": ("stream@1", 5, 5, 30),
    },
}
TITLES = {
    "one@1": "non-stream, 1 in flight (per request)",
    "one@64": "non-stream, 64 in flight (per request)",
    "stream@1": "200-chunk stream, 1 in flight (per stream)",
    "import": "python -c 'import ...', whole process",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def client_env(rawgpt_dir: str | None) -> Iterator[tuple[dict[str, str], str]]:
    """The client processes' environment and working directory.

    With ``rawgpt_dir``, a temporary directory holds two links, ``benchmarks``
    to this checkout's package and ``rawgpt`` to ``rawgpt_dir``'s, and is the
    only ``PYTHONPATH`` entry and the working directory (``python -m`` puts the
    working directory first on ``sys.path``).
    """
    env = child_env()
    env["PYTHONHASHSEED"] = "0"
    if rawgpt_dir is None:
        yield env, str(ROOT)
        return
    package = Path(rawgpt_dir).resolve() / "rawgpt"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"--rawgpt {rawgpt_dir}: no rawgpt/__init__.py there")
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        (Path(tmp) / "benchmarks").symlink_to(ROOT / "benchmarks")
        (Path(tmp) / "rawgpt").symlink_to(package)
        env["PYTHONPATH"] = tmp
        yield env, tmp


def python(env: dict[str, str], cwd: str, code: str) -> str:
    """Run ``python -c code`` (not under valgrind) and return its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(f"python -c {code!r} failed:\n{proc.stderr}")
    return proc.stdout.strip()


def callgrind(args: list[str], env: dict[str, str], cwd: str) -> int:
    """Instructions executed by ``python ARGS``, the whole process, under callgrind."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=yes",
            f"--callgrind-out-file={out}",
            sys.executable,
            *args,
        ]
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(args)} failed under callgrind:\n{proc.stderr[-3000:]}")
        for line in out.read_text().splitlines():
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in callgrind's output for {' '.join(args)}")


def measure(
    preset: dict[str, tuple[str, int, int, int]],
    scenarios: list[str],
    env: dict[str, str],
    cwd: str,
    url: str,
    repeat: int,
    jobs: int,
) -> dict[str, Any]:
    """Every count: per scenario and client, the runs' instruction counts."""
    runs: list[tuple[str, str, int, list[str]]] = []  # scenario, client, calls, python args
    for scenario in scenarios:
        for client in CLIENTS:
            if scenario == "import":
                runs.append((scenario, client, 1, ["-c", IMPORTS[client]]))
                continue
            item, warmup, few, many = preset[scenario]
            for n in (few, many):
                plan = f"{item}:{n}:{warmup}"
                args = ["-m", "benchmarks.procs.worker", "--client", client, "--url", url]
                runs.append((scenario, client, n, [*args, "--plan", plan]))
    started = time.perf_counter()

    def count(run: tuple[str, str, int, list[str]]) -> int:
        scenario, client, n, args = run
        instructions = callgrind(args, env, cwd)
        log(
            f"  {scenario:<8} {client:<6} {n:>5} calls: {instructions:>15,} instructions "
            f"({time.perf_counter() - started:.0f} s)"
        )
        return instructions

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        counts = list(pool.map(count, [r for r in runs for _ in range(repeat)]))
    results: dict[str, Any] = {}
    for i, (scenario, client, n, _) in enumerate(runs):
        per = results.setdefault(scenario, {}).setdefault(client, {})
        per[str(n)] = counts[i * repeat : (i + 1) * repeat]
    return results


def per_call(runs: dict[str, list[int]]) -> float:
    """Instructions per call: the difference of the two runs' medians over the difference in calls;
    for a single run (the import), its median."""
    medians = {int(n): statistics.median(counts) for n, counts in runs.items()}
    if len(medians) == 1:
        return next(iter(medians.values()))
    few, many = sorted(medians)
    return (medians[many] - medians[few]) / (many - few)


def human(instructions: float) -> str:
    if instructions >= 1e9:
        return f"{instructions / 1e9:.3f}G"
    if instructions >= 1e6:
        return f"{instructions / 1e6:.2f}M"
    return f"{instructions / 1e3:.1f}k"


def report(data: dict[str, Any]) -> str:
    rows = []
    for scenario, by_client in data["counts"].items():
        figures = {client: per_call(runs) for client, runs in by_client.items()}
        calls = sorted(int(n) for n in by_client["bare"])
        counted = "1 process" if len(calls) == 1 else f"{calls[1]:,} - {calls[0]:,}"
        ratio = figures["rawgpt"] / figures["bare"]
        rows.append(
            [
                f"{scenario}: {TITLES[scenario]}",
                counted,
                human(figures["bare"]),
                human(figures["rawgpt"]),
                f"{ratio:.3f}x",
            ]
        )
    header = ["scenario", "calls counted", LABELS["bare"], "rawgpt", "rawgpt / floor"]
    return "\n".join(
        [
            f"Instructions (callgrind, client process only), {data['mode']} mode, "
            f"{data['date']}, median of {data['repeat']} count(s) per run",
            f"rawgpt measured: {data['rawgpt_file']}",
            f"Python {data['versions']['python']}, aiohttp {data['versions']['aiohttp']}, "
            f"orjson {data['versions']['orjson']}, {data['valgrind']}",
            "",
            table(header, rows, right_from=2),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per run")
    parser.add_argument("--json", metavar="PATH", help="also write every count to PATH")
    parser.add_argument(
        "--rawgpt", metavar="DIR", help="measure DIR/rawgpt (default: this checkout's)"
    )
    parser.add_argument(
        "--scenarios",
        default="one@1,one@64,stream@1,import",
        help="comma-separated subset of one@1, one@64, stream@1, import",
    )
    parser.add_argument("--repeat", type=int, help="counts per run, median taken (3; quick: 1)")
    parser.add_argument("--jobs", type=int, default=1, help="valgrind processes at once")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: apt-get install valgrind")
    mode = "quick" if args.quick else "full"
    repeat = max(1, args.repeat or (1 if args.quick else 3))
    scenarios = [s for s in TITLES if s in args.scenarios.split(",")]
    with client_env(args.rawgpt) as (env, cwd):
        # compile every module once outside valgrind, so no count includes writing bytecode
        probe = "import os, rawgpt, aiohttp, orjson, benchmarks.procs.worker as w"
        rawgpt_file = python(env, cwd, f"{probe}; print(os.path.realpath(rawgpt.__file__))")
        log(f"instructions: {mode} mode, rawgpt from {rawgpt_file}")
        valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True)
        with running_server(env, cwd) as url:
            counts = measure(PRESETS[mode], scenarios, env, cwd, url, repeat, max(1, args.jobs))
    data = {
        "mode": mode,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "versions": versions(),
        "valgrind": valgrind.stdout.strip(),
        "rawgpt_file": rawgpt_file,
        "repeat": repeat,
        "plan": {s: PRESETS[mode][s] for s in scenarios if s in PRESETS[mode]},
        "counts": counts,
    }
    data["per_call"] = {
        scenario: {client: per_call(runs) for client, runs in by_client.items()}
        for scenario, by_client in counts.items()
    }
    print(report(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
