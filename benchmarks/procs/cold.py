"""Cold start, the serverless figure: a fresh process imports, builds a client, gets one answer.

``python -m benchmarks.procs.cold CLIENT URL`` is the child: it imports the client's
libraries, builds the client (``benchmarks.clients.make``), awaits one
non-streamed completion from the canned server, closes, and prints one JSON
line with the three phases it timed itself and its peak RSS. The parent
(``measure_cold``) times the whole process from spawn to exit, so the total
includes interpreter start-up and shutdown. Runs are interleaved across
clients, after one untimed warm-up run each (bytecode and page caches).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402  (timed from the first line on)
import importlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

# What each client's user imports before building it (the client imports them again, for free).
MODULES: dict[str, tuple[str, ...]] = {
    "bare": ("aiohttp", "orjson"),
    "rawgpt": ("rawgpt",),
    "rawgpt-nolimit": ("rawgpt",),
    "sdk": ("openai",),
    "sdk-aiohttp": ("openai", "aiohttp"),
    "httpx": ("httpx", "orjson"),
}


async def _first(name: str, url: str, marks: dict[str, float]) -> None:
    from benchmarks.clients import make

    client = make(name, url, max_connections=100)
    marks["built"] = time.perf_counter()
    try:
        if not await client.one():
            raise RuntimeError("empty answer")
        marks["answered"] = time.perf_counter()
    finally:
        await client.close()


def child(name: str, url: str) -> dict[str, float]:
    """Import, build, answer once; the phases in milliseconds."""
    begun = time.perf_counter()
    for module in MODULES[name]:
        importlib.import_module(module)
    marks = {"imported": time.perf_counter()}
    asyncio.run(_first(name, url, marks))
    return {
        "import_ms": (marks["imported"] - begun) * 1e3,
        "build_ms": (marks["built"] - marks["imported"]) * 1e3,
        "first_ms": (marks["answered"] - marks["built"]) * 1e3,
        "before_import_ms": (begun - STARTED) * 1e3,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def run_once(name: str, url: str, env: dict[str, str], cwd: str) -> dict[str, Any] | str:
    """One cold process: its phases and total wall time, or why it could not run."""
    import subprocess  # here, not at the top: the child process never needs it

    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.procs.cold", name, url],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    total = (time.perf_counter() - started) * 1e3
    if proc.returncode != 0:
        return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"client": name, "total_ms": total, **result}


def measure_cold(
    url: str, clients: list[str], rounds: int, env: dict[str, str], cwd: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``rounds`` cold processes per client, interleaved, after a warm-up; records and skips."""
    skipped: dict[str, str] = {}
    for name in clients:
        got = run_once(name, url, env, cwd)
        if isinstance(got, str):
            skipped[name] = got
    active = [c for c in clients if c not in skipped]
    records: list[dict[str, Any]] = []
    for r in range(rounds):
        for name in active[r % len(active) :] + active[: r % len(active)] if active else []:
            got = run_once(name, url, env, cwd)
            if isinstance(got, str):
                raise SystemExit(f"cold start of {name} failed: {got}")
            records.append({**got, "round": r})
    return records, skipped


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
