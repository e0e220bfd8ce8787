"""Import cost: ``python -c "import rawgpt"`` vs aiohttp+orjson vs ``import openai``.

    python -m benchmarks.scenarios.imports [--quick] [--rounds R] [--importtime] [--json PATH]

Each statement runs in a fresh interpreter, interleaved (round r starts with
statement r mod k), after one untimed warm-up run each so bytecode caches exist.
Reported per statement: the median wall time of the whole process, its CPU time
(user + system of the child), and both net of a bare ``python -c pass``. Rows
that also build a client show what a first use costs when a package defers
imports until then. ``--importtime`` adds the heaviest modules by
``-X importtime`` (the fastest of 3 runs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.env import child_env, load, print_versions, versions
from benchmarks.report.markdown import fmt, median, ratio, table

STATEMENTS: dict[str, str] = {
    "python -c pass": "pass",
    "aiohttp, orjson": "import aiohttp, orjson",
    "rawgpt": "import rawgpt",
    "openai": "import openai",
    "rawgpt + AsyncClient()": "import rawgpt; rawgpt.AsyncClient(api_key='sk-x')",
    "openai + AsyncOpenAI()": "import openai; openai.AsyncOpenAI(api_key='sk-x')",
}
BASELINE = "python -c pass"
RATIOS = [
    ("rawgpt", "aiohttp, orjson"),
    ("openai", "rawgpt"),
    ("openai + AsyncOpenAI()", "rawgpt + AsyncClient()"),
]


def run_once(code: str, env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh ``python -c code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(rounds: int, statements: dict[str, str] = STATEMENTS) -> list[dict[str, Any]]:
    """``rounds`` fresh processes per statement, interleaved, after one warm-up run each."""
    env = child_env()
    names = list(statements)
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as cwd:
        for name in names:  # warm-up: bytecode caches, page cache
            run_once(statements[name], env, cwd)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                wall, cpu = run_once(statements[name], env, cwd)
                records.append({"statement": name, "round": r, "wall_s": wall, "cpu_s": cpu})
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    return records


def summarize(
    records: list[dict[str, Any]], statements: dict[str, str] = STATEMENTS, baseline: str = BASELINE
) -> dict[str, dict[str, float]]:
    """Per statement: median wall and CPU seconds, the wall range, and both net of ``baseline``."""
    out = {}
    for name in statements:
        runs = [x for x in records if x["statement"] == name]
        out[name] = {
            "wall_s": median([x["wall_s"] for x in runs]),
            "cpu_s": median([x["cpu_s"] for x in runs]),
            "wall_min": min(x["wall_s"] for x in runs),
            "wall_max": max(x["wall_s"] for x in runs),
        }
    base = out[baseline]
    for cell in out.values():
        cell["net_wall_s"] = cell["wall_s"] - base["wall_s"]
        cell["net_cpu_s"] = cell["cpu_s"] - base["cpu_s"]
    return out


def importtime(code: str, env: dict[str, str], top: int) -> tuple[float, list[tuple[int, str]]]:
    """``-X importtime`` of ``code``: the total cumulative seconds and the top self times."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:") :].split("|", 2)
        rows.append((int(self_us), int(cumulative), name.rstrip()))
    # The statement's own top-level modules (not the interpreter's start-up imports).
    wanted = {m.strip() for m in code.split(";")[0].removeprefix("import ").split(",")}
    total = sum(cum for _, cum, name in rows if name.strip() in wanted and not name[1:2].isspace())
    heaviest = sorted(((s, n.strip()) for s, _, n in rows), reverse=True)[:top]
    return total / 1e6, heaviest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds instead of 30")
    parser.add_argument("--rounds", type=int, help="fresh processes per statement")
    parser.add_argument("--importtime", action="store_true", help="add -X importtime details")
    parser.add_argument("--json", metavar="PATH", help="write raw results here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (10 if args.quick else 30)
    info = versions()
    print_versions(info)
    print(f"{rounds} fresh processes per statement, interleaved; medians", flush=True)
    records = measure(rounds)
    summary = summarize(records)

    header = ["statement", "wall ms", "min..max", "CPU ms", "net wall ms", "net CPU ms"]
    rows = []
    for name, cell in summary.items():
        rows.append(
            [
                name,
                fmt(cell["wall_s"] * 1e3),
                f"{fmt(cell['wall_min'] * 1e3)}..{fmt(cell['wall_max'] * 1e3)}",
                fmt(cell["cpu_s"] * 1e3),
                "" if name == BASELINE else fmt(cell["net_wall_s"] * 1e3),
                "" if name == BASELINE else fmt(cell["net_cpu_s"] * 1e3),
            ]
        )
    print()
    print(table(header, rows))
    print()
    print(
        table(
            ["ratio", "whole process (wall)", "net of interpreter start (wall)"],
            [
                [
                    f"{a} / {b}",
                    f"{ratio(summary[a]['wall_s'], summary[b]['wall_s']):.2f}x",
                    f"{ratio(summary[a]['net_wall_s'], summary[b]['net_wall_s']):.2f}x",
                ]
                for a, b in RATIOS
            ],
        )
    )
    print(f"load average at the end {load()}")
    extra: dict[str, Any] = {}
    if args.importtime:
        env = child_env()
        for name in ("aiohttp, orjson", "rawgpt", "openai"):
            total, heaviest = min(importtime(STATEMENTS[name], env, 8) for _ in range(3))
            extra[name] = {"total_s": total, "heaviest_self_us": heaviest}
            print(f"\n-X importtime {name}: {total * 1e3:.0f} ms of imports; heaviest (self):")
            print(", ".join(f"{mod} {us / 1e3:.1f} ms" for us, mod in heaviest))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "versions": info,
                    "rounds": rounds,
                    "statements": STATEMENTS,
                    "summary": summary,
                    "importtime": extra,
                    "runs": records,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
