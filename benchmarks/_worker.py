"""Measurements in a fresh process: one client, each scenario warmed up then timed.

``python -m benchmarks._worker --client rawgpt --url URL --plan seq:300:50,stream:100:10``
runs each SCENARIO:N:WARMUP in turn on one client and prints one JSON line, a
list with, per scenario, the client process's CPU seconds (``time.process_time``,
every thread of this process, nothing of the server's) and wall seconds spent
on the N measured requests, after the warm-up. ``--profile PATH`` runs the
measured part under cProfile, saves the stats and prints the top entries to
stderr (the timings are then not comparable with unprofiled runs).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._clients import NAMES, Client, Unavailable, make
from benchmarks._payloads import completion_body, stream_content

SCENARIOS = ("seq", "conc", "stream")
UNAVAILABLE_EXIT = 3


def _expected() -> tuple[int, int]:
    import orjson

    body = orjson.loads(completion_body())
    return len(body["choices"][0]["message"]["content"]), len(stream_content())


async def _run(call: Callable[[], Awaitable[str]], n: int, concurrency: int, expected: int) -> None:
    """``n`` calls, ``concurrency`` at a time, each answer's length checked."""
    if concurrency <= 1:
        for _ in range(n):
            if len(await call()) != expected:
                raise RuntimeError("short answer")
        return
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            if len(await call()) != expected:
                raise RuntimeError("short answer")

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))


async def measure(
    client: Client,
    scenario: str,
    n: int,
    warmup: int,
    concurrency: int,
    profile: str | None = None,
) -> dict[str, Any]:
    """Warm up, then time ``n`` calls of ``scenario`` on ``client``."""
    one_len, stream_len = _expected()
    if scenario == "stream":
        call, expected, conc = client.stream, stream_len, 1
    else:
        call, expected = client.one, one_len
        conc = concurrency if scenario == "conc" else 1
    await _run(call, warmup, conc, expected)
    gc.collect()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await _run(call, n, conc, expected)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    if profiler is not None and profile:
        profiler.disable()
        _report_profile(profiler, f"{profile}.{scenario}")
    return {
        "scenario": scenario,
        "n": n,
        "warmup": warmup,
        "concurrency": conc,
        "cpu_s": cpu,
        "user_s": ru1.ru_utime - ru0.ru_utime,
        "sys_s": ru1.ru_stime - ru0.ru_stime,
        "wall_s": wall,
        "cpu_ms_per": cpu / n * 1000.0,
        "per_s": n / wall,
    }


async def measure_all(
    name: str, url: str, plan: list[tuple[str, int, int]], concurrency: int, profile: str | None
) -> list[dict[str, Any]]:
    """Every (scenario, n, warmup) of ``plan`` in turn, on one client."""
    client: Client = make(name, url, max_connections=max(100, concurrency))
    results = []
    try:
        for scenario, n, warmup in plan:
            result = await measure(client, scenario, n, warmup, concurrency, profile)
            results.append({"client": name, **result})
    finally:
        await client.close()
    return results


def _report_profile(profiler: Any, path: str) -> None:
    import pstats

    profiler.dump_stats(path)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(30)


def parse_plan(text: str) -> list[tuple[str, int, int]]:
    """``seq:300:50,conc:2000:256`` -> [(scenario, n, warmup), ...]."""
    plan = []
    for item in text.split(","):
        scenario, n, warmup = item.split(":")
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        plan.append((scenario, int(n), int(warmup)))
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True, choices=NAMES)
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument(
        "--plan",
        default="seq:300:50,conc:1000:200,stream:50:10",
        help="comma-separated SCENARIO:N:WARMUP (scenarios: seq, conc, stream)",
    )
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--profile", metavar="PATH", help="cProfile the measured part; stats go to PATH.SCENARIO"
    )
    args = parser.parse_args(argv)
    try:
        results = asyncio.run(
            measure_all(
                args.client, args.url, parse_plan(args.plan), args.concurrency, args.profile
            )
        )
    except Unavailable as exc:
        print(json.dumps({"client": args.client, "unavailable": str(exc)}))
        return UNAVAILABLE_EXIT
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
