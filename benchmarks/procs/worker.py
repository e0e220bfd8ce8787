"""Measurements in a fresh process: one client, each scenario warmed up then timed.

``python -m benchmarks.procs.worker --client rawgpt --url URL --plan one@1:300:50,stream@16:64:16``
runs each plan item in turn on one client and prints one JSON line: a list with,
per item, the client process's CPU seconds (``time.process_time``, every thread
of this process, nothing of the server's) and wall seconds spent on the N
measured calls after the warm-up, per-call latency percentiles (and time to
first token for streams), and the process's peak RSS so far.

A plan item is ``[TARGET:]KIND@CONCURRENCY:N:WARMUP``: KIND ``one`` (a
non-streamed completion), ``stream`` or ``responses`` (a Responses API stream);
TARGET ``canned`` (``--url``, the default) or ``mock`` (``--mock-url``). The
overhead benchmark's names still work: ``seq`` is ``one@1``, ``conc`` is
``one@C`` (C from ``--concurrency``), ``stream`` is ``stream@1`` and
``responses`` is ``responses@1``. Every answer must be as long as the first
one, so a truncated reply fails the run. ``--profile PATH`` runs the measured part under
cProfile and saves the stats (the timings are then not comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.clients import NAMES, Client, Unavailable, make

SCENARIOS = ("seq", "conc", "stream", "responses")  # the overhead benchmark's names
UNAVAILABLE_EXIT = 3
TARGETS = ("canned", "mock")
Item = tuple[str, str, str, int, int, int]  # name, target, kind, concurrency, n, warmup


QUANTILE_POINTS = 101  # percentiles 0..100: enough to draw a run's latency distribution


def _at(ordered: Sequence[float], fraction: float) -> float:
    """The value at ``fraction`` (0..1) of sorted ``ordered``, interpolated linearly."""
    at = (len(ordered) - 1) * fraction
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of ``values``; NaN when there are none."""
    return _at(sorted(values), p / 100.0) if values else float("nan")


def quantiles(values: Sequence[float], points: int = QUANTILE_POINTS) -> list[float]:
    """``points`` evenly spaced percentiles of ``values``, rounded to 4 significant digits."""
    ordered = sorted(values)
    if not ordered:
        return []
    return [float(f"{_at(ordered, i / (points - 1)):.4g}") for i in range(points)]


async def _run(client: Client, kind: str, n: int, concurrency: int, check: list[int]) -> Any:
    """``n`` calls, ``concurrency`` at a time: (latencies, times to first token), in seconds."""
    latencies: list[float] = []
    ttfts: list[float] = []
    remaining = n
    clock = time.perf_counter

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = clock()
            if kind != "one":
                text, first = await (client.stream() if kind == "stream" else client.responses())
                ttfts.append(first - started)
            else:
                text = await client.one()
            latencies.append(clock() - started)
            if not check:
                check.append(len(text))
            if not text or len(text) != check[0]:
                raise RuntimeError(f"answer of {len(text)} characters, expected {check[0]}")

    if concurrency <= 1:
        await worker()
    else:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return latencies, ttfts


async def measure(client: Client, item: Item, profile: str | None = None) -> dict[str, Any]:
    """Warm up, then time one plan item on ``client``."""
    name, target, kind, conc, n, warmup = item
    check: list[int] = []
    if warmup:
        await _run(client, kind, warmup, conc, check)
    gc.collect()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    latencies, ttfts = await _run(client, kind, n, conc, check)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    if profiler is not None:
        profiler.disable()
        _report_profile(profiler, f"{profile}.{name.replace(':', '-')}")
    lat_ms = [x * 1000.0 for x in latencies]
    out = {
        "scenario": name,
        "target": target,
        "kind": kind,
        "n": n,
        "warmup": warmup,
        "concurrency": conc,
        "cpu_s": cpu,
        "user_s": ru1.ru_utime - ru0.ru_utime,
        "sys_s": ru1.ru_stime - ru0.ru_stime,
        "wall_s": wall,
        "cpu_ms_per": cpu / n * 1000.0,
        "per_s": n / wall,
        "p50_ms": percentile(lat_ms, 50),
        "p99_ms": percentile(lat_ms, 99),
        "lat_q_ms": quantiles(lat_ms),
        "maxrss_kb": ru1.ru_maxrss,
    }
    if ttfts:
        ttft_ms = [x * 1000.0 for x in ttfts]
        out.update(ttft_p50_ms=percentile(ttft_ms, 50), ttft_p99_ms=percentile(ttft_ms, 99))
    return out


async def measure_all(
    name: str, urls: dict[str, str], plan: list[Item], profile: str | None
) -> list[dict[str, Any]]:
    """Every plan item in turn, on one client per target (built on first use)."""
    most = max(item[3] for item in plan)
    clients: dict[str, Client] = {}
    results = []
    try:
        for item in plan:
            target = item[1]
            if target not in clients:
                clients[target] = make(name, urls[target], max_connections=max(100, most))
            result = await measure(clients[target], item, profile)
            results.append({"client": name, **result})
    finally:
        for client in clients.values():
            await client.close()
    return results


def _report_profile(profiler: Any, path: str) -> None:
    import pstats

    profiler.dump_stats(path)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(30)


def parse_plan(text: str, concurrency: int = 64) -> list[Item]:
    """``one@1:300:50,mock:stream@16:32:16`` (or ``seq:300:50``) -> plan items."""
    legacy = {
        "seq": "one@1",
        "conc": f"one@{concurrency}",
        "stream": "stream@1",
        "responses": "responses@1",
    }
    plan: list[Item] = []
    for entry in text.split(","):
        head, n, warmup = entry.rsplit(":", 2)
        target, _, what = head.rpartition(":")
        kind, _, conc = legacy.get(what, what).partition("@")
        if (
            kind not in ("one", "stream", "responses")
            or not conc.isdigit()
            or target not in ("", *TARGETS)
        ):
            raise ValueError(
                f"bad plan item {entry!r}: want [canned:|mock:]one|stream|responses@C:N:W"
            )
        plan.append((head, target or "canned", kind, int(conc), int(n), int(warmup)))
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True, choices=NAMES)
    parser.add_argument("--url", required=True, help="canned server base URL (.../v1)")
    parser.add_argument("--mock-url", help="MockServer base URL, for mock: items")
    parser.add_argument("--plan", default="seq:300:50,conc:1000:200,stream:50:10")
    parser.add_argument("--concurrency", type=int, default=64, help="in flight for 'conc'")
    parser.add_argument("--profile", metavar="PATH", help="cProfile; stats go to PATH.SCENARIO")
    args = parser.parse_args(argv)
    urls = {"canned": args.url, "mock": args.mock_url or ""}
    plan = parse_plan(args.plan, args.concurrency)
    try:
        results = asyncio.run(measure_all(args.client, urls, plan, args.profile))
    except Unavailable as exc:
        print(json.dumps({"client": args.client, "unavailable": str(exc)}))
        return UNAVAILABLE_EXIT
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
