"""Eight processes, one rate limit: shared through Redis vs each process on its own.

    python -m benchmarks.scenarios.ratelimit_multi [--quick] [--workers N] [--json PATH] [--no-kill]

One ``MockServer`` in its own process (``benchmarks.procs.rl_server``: buckets start
nearly empty and refill at limit / 60 per second, its clock starting with the
first request) enforces one limit. N worker processes (``benchmarks.procs.rl_multi_worker``)
split one job, each running its share through a ``rawgpt.AsyncClient`` with
``asyncio.gather`` + ``asyncio.Semaphore``; they start together on a signal.
Two limiters, each run on a fresh server:

- ``redis``: every worker has a ``rawgpt.RedisRateLimiter`` on one redis-server
  and one namespace: one budget, learned once, shared by all;
- ``local``: every worker has the default in-process limiter, learning the same
  limit on its own.

Goodput = (work done - the buckets' initial fill) / (wall time x refill rate),
work being successful requests (RPM-bound) or their admitted tokens (TPM-bound),
wall time from the common start to the last call's end. "429 %" is the share of
the HTTP requests the server received that it answered 429 (its own counters).
A run whose calls fail fast ends early, so read its goodput beside "ok / calls".
"Redis calls / request" counts the scripts Redis ran (admissions, waits and
reports) per successful request. Clients keep their defaults (2 retries) plus a
per-call deadline.

Last, the outage run: the ``redis`` set-up again, and the redis-server is killed
(SIGKILL) part-way through. Every call must complete, or fail with a clear error,
within its deadline; the table says what happened.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.env import child_env, print_versions, versions
from benchmarks.procs.redis_server import redis_server
from benchmarks.procs.rl_multi_job import CONCURRENCY, DEADLINE, KILL_AT, WORKERS, run_job
from benchmarks.report.markdown import fmt, table
from benchmarks.scenarios.ratelimit import FILL, LATENCY_MS, job_work, scenario_spec

PRESETS = {"quick": 400, "full": 800}
TARGETS = {"goodput": 0.95, "rate_limited_pct": 1.0, "failed": 0}


LABELS = {
    "redis": "RedisRateLimiter (one shared budget)",
    "local": "in-process limiter in each process",
    "redis-killed": "RedisRateLimiter, redis-server killed mid-run",
}


def results_table(rows: list[dict[str, Any]]) -> str:
    header = ["limiter", "ok / calls", "failed", "HTTP requests", "429s", "429 %", "goodput"]
    header += ["wall s", "slowest call s", "Redis calls / request"]
    cells = []
    for r in rows:
        failed = str(r["failed"])
        if r["errors"]:
            failed += " (" + ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) + ")"
        cells.append(
            [
                LABELS[r["limiter"]],
                f"{r['ok']} / {r['requests']}",
                failed,
                str(r["http_requests"]),
                str(r["rate_limited"]),
                f"{r['rate_limited_pct']:.1f}%",
                f"{r['goodput']:.1%}",
                fmt(r["wall"]),
                fmt(r["slowest"]),
                ""
                if r["redis_calls_per_request"] is None
                else f"{r['redis_calls_per_request']:.2f}",
            ]
        )
    return table(header, cells)


def title(spec: dict[str, Any], workers: int) -> str:
    limit, rate = spec["limit"], spec["limit"] / 60.0
    what = (
        f"RPM-bound: rpm={limit:,} ({rate:g} requests/s)"
        if spec["unit"] == "requests"
        else f"TPM-bound: tpm={limit:,} ({rate:,.0f} tokens/s)"
    )
    ideal = (job_work(spec) - FILL * limit) / rate
    return (
        f"{what}; {spec['requests']} requests split over {workers} processes, {CONCURRENCY} "
        f"concurrent in all, buckets start at {FILL:.0%} full, {LATENCY_MS:g} ms latency, "
        f"deadline {DEADLINE:g} s per call; ideal wall {ideal:.1f} s"
    )


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        if r["limiter"] != "redis":
            continue
        checks = [
            (r["goodput"] >= TARGETS["goodput"], f"goodput {r['goodput']:.1%} (>= 95%)"),
            (
                r["rate_limited_pct"] <= TARGETS["rate_limited_pct"],
                f"429s {r['rate_limited_pct']:.2f}% (<= 1%)",
            ),
            (r["failed"] <= TARGETS["failed"], f"failed {r['failed']} (0)"),
        ]
        verdict = "met" if all(ok for ok, _ in checks) else "MISSED"
        parts = ", ".join(text + ("" if ok else " MISSED") for ok, text in checks)
        lines.append(f"- {r['scenario']}: {parts}: {verdict}")
    return lines


def outage_lines(r: dict[str, Any]) -> list[str]:
    within = r["slowest"] <= DEADLINE + 1.0
    return [
        f"- redis-server killed {r['killed_after']:.1f} s into the run; {r['warned']} of "
        f"{r['workers']} workers logged the fallback warning "
        f"({len(r['warnings'])} warnings in all)",
        f"- {r['ok']} calls completed, {r['failed']} failed"
        + (
            ": " + "; ".join(f"{k}: {v!r}" for k, v in r["messages"].items())
            if r["messages"]
            else ""
        ),
        f"- slowest call {r['slowest']:.1f} s, deadline {DEADLINE:g} s: "
        + ("every call ended within its deadline" if within else "DEADLINE EXCEEDED"),
        f"- hung workers: {r['hung']}" + (" (none: nothing hung)" if not r["hung"] else ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{PRESETS['quick']} requests per job")
    parser.add_argument("--requests", type=int, help="requests per job (default: preset)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="worker processes (8)")
    parser.add_argument("--scenarios", default="rpm,tpm", help="comma-separated: rpm, tpm")
    parser.add_argument("--no-kill", action="store_true", help="skip the outage run")
    parser.add_argument("--json", metavar="PATH", help="write settings and raw results here")
    args = parser.parse_args(argv)
    requests = args.requests or PRESETS["quick" if args.quick else "full"]
    scenarios = [s for s in ("rpm", "tpm") if s in args.scenarios.split(",")]
    info = versions()
    print_versions(info)
    env = child_env()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis:
        print(f"redis-server {redis.version} on {redis.url}", flush=True)
        runs = [(s, m) for s in scenarios for m in ("redis", "local")]
        if not args.no_kill:
            runs.append((scenarios[0], "redis-killed"))
        for name, limiter in runs:
            spec = scenario_spec(name, requests)
            if not redis.alive():
                redis.start()
            r = run_job(spec, limiter, args.workers, env, redis)
            results.append(r)
            print(
                f"{name} {limiter:<13} ok {r['ok']}/{r['requests']}, 429s {r['rate_limited']}, "
                f"goodput {r['goodput']:.1%}, wall {r['wall']:.1f}s",
                file=sys.stderr,
                flush=True,
            )
    print()
    print(__doc__.split("\n\n")[4].strip().replace("\n", " "))
    for name in scenarios:
        print(f"\n### {title(scenario_spec(name, requests), args.workers)}\n")
        print(results_table([r for r in results if r["scenario"] == name]))
    print("\nRedis against the targets:")
    print("\n".join(target_lines(results)))
    for r in results:
        if r["limiter"] == "redis-killed":
            print(f"\nOutage run ({r['scenario']}):")
            print("\n".join(outage_lines(r)))
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    if args.json:
        settings = {"requests": requests, "workers": args.workers, "concurrency": CONCURRENCY}
        settings.update(fill=FILL, latency_ms=LATENCY_MS, deadline=DEADLINE, kill_at=KILL_AT)
        data = {"versions": info, "settings": settings, "runs": results}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
        print(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
