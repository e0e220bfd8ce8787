"""The suite's phases, each returning raw results: load, cold start, imports, SSE, size, limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.env import ROOT, child_env
from benchmarks.procs.cold import measure_cold
from benchmarks.report.figures import IMPORTS
from benchmarks.scenarios import imports
from benchmarks.scenarios.overhead import run_rounds
from benchmarks.scenarios.size import cached_sizes, measure_sizes, save_sizes
from benchmarks.targets import MockPace, running_targets

Skipped = dict[str, str]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plan_text(plan: dict[str, tuple[int, int]]) -> str:
    """``{"one@1": (n, warm-up), ...}`` -> the worker's ``--plan`` argument."""
    return ",".join(f"{scenario}:{n}:{warmup}" for scenario, (n, warmup) in plan.items())


def load_and_cold(
    clients: list[str], preset: dict[str, Any], pace: MockPace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Skipped]:
    """Both servers up; the interleaved load rounds, then the cold starts against the canned one."""
    env = child_env()
    with running_targets(env, str(ROOT), pace) as urls:
        log(f"load: {preset['rounds']} interleaved rounds, one fresh process per client and round")
        records, skipped = run_rounds(
            urls, clients, plan_text(preset["plan"]), preset["rounds"], preset["fast_repeats"], 64
        )
        active = [c for c in clients if c not in skipped]
        log(f"cold start: {preset['cold_rounds']} fresh processes per client, interleaved")
        cold, cold_skipped = measure_cold(
            urls["canned"], active, preset["cold_rounds"], env, str(ROOT)
        )
    return records, cold, {**skipped, **cold_skipped}


def import_times(clients: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Whole-process ``python -c "import ..."`` per client, and a bare interpreter."""
    log(f"imports: {rounds} fresh interpreters per statement, interleaved")
    statements = {"pass": "pass", **{IMPORTS[c]: IMPORTS[c] for c in clients if c in IMPORTS}}
    return imports.summarize(imports.measure(rounds, statements), statements, "pass")


def sse_speeds(megabytes: float, repeats: int) -> dict[str, Any]:
    """The SSE decoder comparison, in a fresh process."""
    log(f"SSE decoders: {megabytes:g} MB per pass, {repeats} passes each")
    cmd = [sys.executable, "-m", "benchmarks.scenarios.sse", "--megabytes", str(megabytes)]
    proc = subprocess.run(
        [*cmd, "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"SSE benchmark failed:\n{proc.stderr[-3000:]}")
    sys.stderr.write(proc.stderr)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def sizes(clients: list[str], cache: Path, measure: bool) -> tuple[dict[str, Any], str]:
    """Installed sizes: measured now when asked (or when nothing is cached), else the cache."""
    cached = None if measure else cached_sizes(cache, clients)
    if cached is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(cache.stat().st_mtime))
        return cached, f"installed sizes from the cache ({cache}, measured {when})"
    log("installed size: one fresh venv per client, pip install, du of site-packages")
    try:
        measured = measure_sizes(clients)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return {}, f"installed size skipped: {str(exc).splitlines()[0]}"
    save_sizes(cache, measured)
    return measured, "installed sizes measured in this run, in fresh venvs (now cached)"


def ratelimit(out: Path, run: bool) -> tuple[dict[str, Any] | None, str]:
    """The rate-limit benchmark's results: run its quick preset now, or reuse its last file."""
    path = out / "ratelimit.json"
    if run:
        log(
            "rate limits: python -m benchmarks ratelimit --quick --scenarios rpm,tpm,burst "
            "(each client in a fresh process)"
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.scenarios.ratelimit",
                "--quick",
                "--scenarios",
                "rpm,tpm,burst",
                "--json",
                str(path),
            ],
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=ROOT,
            check=False,
        )
        if proc.returncode != 0:
            return None, f"rate-limit benchmark failed (exit {proc.returncode}): " + (
                proc.stderr.strip().splitlines() or ["?"]
            )[-1]
        note = "rate-limit goodput measured in this run (its --quick preset)"
    else:
        if not path.exists():
            return None, (
                "rate-limit goodput not shown: no earlier result in "
                f"{path} (the full mode runs it; or python -m benchmarks ratelimit --json {path})"
            )
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        note = f"rate-limit goodput reused from {path} (measured {when}), not rerun in quick mode"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"rate-limit results unreadable: {exc}"
    return data, note
