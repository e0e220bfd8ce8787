"""One run of the multi-process rate-limit benchmark: a fresh server, N workers, one limit.

Used by ``benchmarks.scenarios.ratelimit_multi``: starts ``benchmarks.procs.rl_server``, then N
``benchmarks.procs.rl_multi_worker`` workers that all begin on one signal; for the outage run
it kills the redis-server part-way through; merges the workers' results with the
server's counters.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

from benchmarks.env import ROOT
from benchmarks.procs.redis_server import RedisProcess
from benchmarks.procs.rl_server import running_server
from benchmarks.scenarios.ratelimit import FILL, LATENCY_MS, job_work

WORKERS = 8
CONCURRENCY = 200  # in all, split evenly between the workers
DEADLINE = 60.0  # per call, rate-limit waits and retries included
KILL_AT = 0.4  # the outage run kills redis-server this far into the ideal wall time


def run_job(
    spec: dict[str, Any], limiter: str, workers: int, env: dict[str, str], redis: RedisProcess
) -> dict[str, Any]:
    """A fresh server, ``workers`` processes started together; the merged figures."""
    rate = spec["limit"] / 60.0
    initial = FILL * spec["limit"]
    ideal = (job_work(spec) - initial) / rate
    cap = 3 * ideal + 60
    options = [*spec["server"], "--fill", str(FILL), "--latency-ms", str(LATENCY_MS)]
    kill = limiter == "redis-killed"
    namespace = f"bench-{spec['name']}-{limiter}-{time.monotonic_ns()}"
    calls_before = redis.script_calls()
    with running_server(env, str(ROOT), options) as server:
        procs = []
        for index in range(workers):
            plan = {
                "base_url": server.base_url,
                "index": index,
                "workers": workers,
                "total": spec["requests"],
                "prompt_chars": spec["prompt_chars"],
                "max_tokens": spec["max_tokens"],
                "concurrency": CONCURRENCY // workers,
                "limiter": "local" if limiter == "local" else "redis",
                "redis_url": redis.url,
                "namespace": namespace,
                "deadline": DEADLINE,
                "time_cap": cap,
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.procs.rl_multi_worker", json.dumps(plan)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=ROOT,
                )
            )
        for proc in procs:  # all built and connected, then all go at once
            assert proc.stdout is not None and proc.stdin is not None
            if proc.stdout.readline().strip() != "READY":
                raise SystemExit(f"worker failed to start: {proc.communicate()[1][-2000:]}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        killed_at = None
        if kill:
            time.sleep(KILL_AT * ideal)
            killed_at = time.time()
            redis.kill()
        outs, hung = [], 0
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=cap + 60)
            except subprocess.TimeoutExpired:  # a hung worker: exactly what must not happen
                proc.send_signal(signal.SIGKILL)
                out, err = proc.communicate()
                hung += 1
            lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
            if not lines:
                sys.stderr.write(err[-4000:])
                raise SystemExit(f"a worker printed no result (exit {proc.returncode})")
            outs.append(json.loads(lines[-1][7:]))
        stats = server.stop()
    script_calls = redis.script_calls() - calls_before if limiter == "redis" else None
    start = min(r["start"] for r in outs)
    wall = max(r["end"] for r in outs) - start
    ok = sum(r["ok"] for r in outs)
    done = ok if spec["unit"] == "requests" else sum(r["admitted_tokens"] for r in outs)
    errors: dict[str, int] = {}
    for r in outs:
        for name, n in r["errors"].items():
            errors[name] = errors.get(name, 0) + n
    return {
        "scenario": spec["name"],
        "limiter": limiter,
        "workers": workers,
        "requests": spec["requests"],
        "ok": ok,
        "failed": sum(r["failed"] for r in outs),
        "errors": errors,
        "messages": {k: v for r in outs for k, v in r["messages"].items()},
        "wall": wall,
        "ideal_wall": ideal,
        "goodput": (done - initial) / (wall * rate),
        "http_requests": stats["requests"],
        "rate_limited": stats["rate_limited"],
        "rate_limited_pct": 100.0 * stats["rate_limited"] / max(1, stats["requests"]),
        "slowest": max(r["slowest"] for r in outs),
        "slowest_by_worker": [round(r["slowest"], 2) for r in outs],
        "redis_calls_per_request": None if script_calls is None else script_calls / max(1, ok),
        "hung": hung,
        "killed_after": None if killed_at is None else killed_at - start,
        "warned": sum(bool(r["warnings"]) for r in outs),
        "warnings": [w for r in outs for w in r["warnings"]],
        "workers_detail": outs,
    }
