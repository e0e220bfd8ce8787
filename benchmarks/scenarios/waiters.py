"""10,000 calls waiting on the rate limiter: CPU while they wait, and peak memory.

    python -m benchmarks.scenarios.waiters [--quick] [--json PATH] [--calls N] [--seconds S]

``MockServer`` runs in its own process (``benchmarks.procs.rl_server``) with
rpm=3000, i.e. 50 requests per second, its bucket starting 1% full and 50 ms of
latency. A fresh client process gathers all N calls at once on one
``rawgpt.AsyncClient`` (default limiter), lets the initial burst settle, then
samples its own CPU time (``time.process_time``) once a second for S seconds
while the rest wait: CPU as a share of one core, and CPU per completed request
(those 50 requests per second are real work: send, parse, wake the next).
Peak memory is ``ru_maxrss``, beside the RSS before the calls were created.
Then it cancels every call still waiting, checks the limiter is empty again
(cancellation returns reservations), and closes the client.

A control run does the same with ``asyncio.Semaphore(100)`` in front of the
client, so at most 100 calls reach the limiter and the rest wait on the
semaphore: the difference between the rows is what 10,000 limiter waiters cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.env import ROOT, child_env, print_versions, versions
from benchmarks.procs.rl_server import running_server
from benchmarks.report.markdown import fmt, table

RPM = 3000  # 50 requests per second
FILL = 0.01
LATENCY_MS = 50.0
SETTLE_S = 2.0
CONTROL_GATE = 100


def rss_kib() -> int:
    """Current resident set size in KiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return 0
    return pages * resource.getpagesize() // 1024


async def measure(base_url: str, calls: int, seconds: float, gate: int | None) -> dict[str, Any]:
    import rawgpt

    client = rawgpt.AsyncClient(api_key="sk-bench-not-a-real-key", base_url=base_url)
    limiter = client.rate_limiter
    assert limiter is not None
    messages = [{"role": "user", "content": "hi"}]
    sem = asyncio.Semaphore(gate) if gate else None
    completed = 0
    failed = 0

    async def call() -> None:
        await client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=5)

    async def one() -> None:
        nonlocal completed, failed
        try:
            if sem is None:
                await call()
            else:
                async with sem:
                    await call()
        except rawgpt.APIError:
            failed += 1
            return
        completed += 1

    rss_before = rss_kib()
    t0 = time.monotonic()
    cpu0 = time.process_time()
    tasks = [asyncio.ensure_future(one()) for _ in range(calls)]
    await asyncio.sleep(SETTLE_S)
    burst_cpu = time.process_time() - cpu0
    burst_done = completed
    samples: list[dict[str, float]] = []
    for _ in range(round(seconds)):
        c0, w0, n0 = time.process_time(), time.monotonic(), completed
        await asyncio.sleep(1.0)
        wall = time.monotonic() - w0
        samples.append({"cpu": time.process_time() - c0, "wall": wall, "completed": completed - n0})
    (state,) = limiter.snapshot().values()
    waiting_before = state["waiting"]
    cancel_start = time.monotonic()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    cancel_s = time.monotonic() - cancel_start
    (after,) = limiter.snapshot().values()
    await client.close()
    cpu = sum(s["cpu"] for s in samples)
    wall = sum(s["wall"] for s in samples)
    done = sum(s["completed"] for s in samples)
    return {
        "calls": calls,
        "gate": gate,
        "burst_s": SETTLE_S,
        "burst_cpu_s": burst_cpu,
        "burst_completed": burst_done,
        "samples": samples,
        "cpu_pct": 100.0 * cpu / wall,
        "cpu_pct_max": max(100.0 * s["cpu"] / s["wall"] for s in samples),
        "completed_per_s": done / wall,
        "cpu_ms_per_completed": 1000.0 * cpu / done if done else float("nan"),
        "waiting_in_limiter": waiting_before,
        "completed": completed,
        "failed": failed,
        "cancelled": sum(1 for t in tasks if t.cancelled()),
        "cancel_s": cancel_s,
        "after_cancel": after,
        "rss_before_kib": rss_before,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "total_s": time.monotonic() - t0,
    }


def run_worker(base_url: str, calls: int, seconds: float, gate: int | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.scenarios.waiters", "--worker", base_url]
    cmd += ["--calls", str(calls), "--seconds", str(seconds), "--gate", str(gate or 0)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT, timeout=seconds + 120
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"waiters worker failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][7:])
    return result


def one_run(calls: int, seconds: float, gate: int | None) -> dict[str, Any]:
    options = ["--rpm", str(RPM), "--fill", str(FILL), "--latency-ms", str(LATENCY_MS)]
    with running_server(child_env(), str(ROOT), options) as server:
        result = run_worker(server.base_url, calls, seconds, gate)
        result["server"] = server.stop()
    return result


def results_table(rows: list[dict[str, Any]]) -> str:
    header = [
        "run",
        "waiting in limiter",
        "CPU % of a core (mean / max s)",
        "completed/s",
        "CPU ms per completed",
        "RSS before calls",
        "peak RSS",
        "cancel all",
        "429s",
    ]
    cells = []
    for r in rows:
        name = f"{r['calls']:,} gathered" + (f", Semaphore({r['gate']})" if r["gate"] else "")
        cells.append(
            [
                name,
                f"{r['waiting_in_limiter']:,}",
                f"{r['cpu_pct']:.1f}% / {r['cpu_pct_max']:.1f}%",
                fmt(r["completed_per_s"]),
                fmt(r["cpu_ms_per_completed"]),
                f"{r['rss_before_kib'] / 1024:.0f} MiB",
                f"{r['peak_rss_kib'] / 1024:.0f} MiB",
                f"{r['cancel_s'] * 1000:.0f} ms",
                str(r["server"]["rate_limited"]),
            ]
        )
    return table(header, cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sample 5 s instead of 10 s")
    parser.add_argument("--json", metavar="PATH", help="write settings and raw results here")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, help="sampling window (default 10, quick 5)")
    parser.add_argument("--no-control", action="store_true", help="skip the Semaphore control")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--gate", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    if args.worker:
        result = asyncio.run(measure(args.worker, args.calls, seconds, args.gate or None))
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    info = versions()
    print_versions(info)
    print(
        f"{args.calls:,} calls gathered at once; server rpm={RPM} ({RPM // 60}/s), bucket "
        f"{FILL:.0%} full at start, {LATENCY_MS:g} ms latency; {SETTLE_S:g} s to settle, "
        f"then {seconds:g} s sampled",
        flush=True,
    )
    rows = [one_run(args.calls, seconds, None)]
    if not args.no_control:
        rows.append(one_run(args.calls, seconds, CONTROL_GATE))
    print()
    print(results_table(rows))
    print()
    for r in rows:
        after = r["after_cancel"]
        print(
            f"- {r['calls']:,}{' gated' if r['gate'] else ''}: burst (first {r['burst_s']:g} s) "
            f"{r['burst_cpu_s'] * 1000:.0f} ms CPU, {r['burst_completed']} completed; "
            f"{r['completed']} completed, {r['failed']} failed, {r['cancelled']:,} cancelled; "
            f"limiter after cancel: waiting {after['waiting']}, in flight {after['in_flight']}"
        )
    if args.json:
        settings = {"calls": args.calls, "seconds": seconds, "rpm": RPM, "fill": FILL}
        settings |= {"latency_ms": LATENCY_MS, "settle_s": SETTLE_S, "gate": CONTROL_GATE}
        Path(args.json).write_text(
            json.dumps({"versions": info, "settings": settings, "runs": rows}, indent=2) + "\n"
        )
        print(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
