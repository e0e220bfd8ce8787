"""Rate-limited jobs: goodput, 429s and failures, rawgpt vs the tutorial patterns.

    python -m benchmarks.scenarios.ratelimit [--quick] [--json PATH] [--clients ...]
        [--scenarios ...]

A job of N chat requests runs at high concurrency against ``MockServer`` in its
own process (``benchmarks.procs.rl_server``), whose buckets start nearly empty and
refill continuously at limit / 60 per second. Two scenarios:

- ``rpm``: the request bucket binds (tiny prompts, TPM not enforced);
- ``tpm``: the token bucket binds (prompts of several known sizes plus
  ``max_tokens``, RPM not enforced).

Three clients, each in a fresh process against a fresh server (so every run
meets the same bucket fill), all running the same requests the same way
(``asyncio.gather`` + ``asyncio.Semaphore(C)``, the slot held for the whole call):

- ``rawgpt``: ``rawgpt.AsyncClient`` with its default header-driven limiter;
- ``sdk``: ``openai.AsyncOpenAI`` with its default retries (``max_retries=2``);
- ``sdk-backoff``: the same plus the cookbook's ``backoff.on_exception(backoff.expo,
  openai.RateLimitError, max_tries=6, max_time=60)`` around the call.

Goodput = (work done - the bucket's initial fill) / (wall time x refill rate),
where work is successful requests (rpm) or their admitted tokens (tpm), and wall
time runs from the job's start to its last call's end. The initial fill is free
capacity any client gets at once, so it is left out of the numerator; the wall
time still includes one request's latency at the start and the end. The
server's clock starts with the first request it receives, so process start-up
refills nothing. A run whose calls fail fast ends early, so read its goodput
beside "ok / calls". 429s come from the server's own counters; "429 %" is the
share of all HTTP requests the server received that it answered 429.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.env import ROOT, child_env, print_versions, versions
from benchmarks.procs.rl_server import running_server
from benchmarks.procs.rl_worker import admission_cost, request_bodies
from benchmarks.report.markdown import fmt, table

CLIENTS = ("rawgpt", "sdk", "sdk-backoff")
LABELS = {
    "rawgpt": "rawgpt (default limiter)",
    "sdk": "SDK + gather + Semaphore",
    "sdk-backoff": "SDK + Semaphore + backoff.expo",
}
SCENARIOS = ("rpm", "tpm")
LATENCY_MS = 75.0
FILL = 0.03
CONCURRENCY = 200
# Prompt sizes (characters) cycled through in the TPM scenario: 50..350 prompt tokens.
TPM_PROMPTS = [200, 600, 1000, 1400]
TPM_MAX_TOKENS = 100
RPM_PROMPTS = [40]
RPM_MAX_TOKENS = 16

PRESETS: dict[str, dict[str, int]] = {
    # requests per job; the limits make each rawgpt run ~13 s (quick) or ~38 s (full)
    "quick": {"requests": 300},
    "full": {"requests": 800},
}
TARGETS = {"goodput": 0.97, "rate_limited_pct": 0.5, "failed": 0}


def scenario_spec(name: str, requests: int) -> dict[str, Any]:
    """Server limits and request shapes for one scenario, sized for ~20 requests/s."""
    if name == "rpm":
        return {
            "name": name,
            "unit": "requests",
            "limit": 1200,  # 20 requests/s
            "server": ["--rpm", "1200"],
            "prompt_chars": RPM_PROMPTS,
            "max_tokens": RPM_MAX_TOKENS,
            "requests": requests,
        }
    bodies = request_bodies(TPM_PROMPTS, len(TPM_PROMPTS), TPM_MAX_TOKENS)
    mean_cost = sum(admission_cost(b) for b in bodies) / len(bodies)
    tpm = int(mean_cost * 20 * 60)  # ~20 requests/s on average
    return {
        "name": name,
        "unit": "tokens",
        "limit": tpm,
        "server": ["--tpm", str(tpm)],
        "prompt_chars": TPM_PROMPTS,
        "max_tokens": TPM_MAX_TOKENS,
        "requests": requests,
    }


def job_work(spec: dict[str, Any]) -> int:
    """The job's total work in the limit's unit (requests, or admitted tokens)."""
    if spec["unit"] == "requests":
        return int(spec["requests"])
    bodies = request_bodies(spec["prompt_chars"], spec["requests"], spec["max_tokens"])
    return sum(admission_cost(b) for b in bodies)


def run_one(client: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """A fresh server and a fresh client process for one run; the merged figures."""
    rate = spec["limit"] / 60.0
    initial = FILL * spec["limit"]
    ideal = (job_work(spec) - initial) / rate
    time_cap = 3 * ideal + 60
    options = [*spec["server"], "--fill", str(FILL), "--latency-ms", str(LATENCY_MS)]
    with running_server(env, str(ROOT), options) as server:
        plan = {
            "client": client,
            "base_url": server.base_url,
            "requests": spec["requests"],
            "prompt_chars": spec["prompt_chars"],
            "max_tokens": spec["max_tokens"],
            "concurrency": CONCURRENCY,
            "time_cap": time_cap,
        }
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.procs.rl_worker", json.dumps(plan)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=time_cap + 120,
        )
        stats = server.stop()
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker for {client} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][7:])
    done = result["ok"] if spec["unit"] == "requests" else result["admitted_tokens"]
    result.update(
        scenario=spec["name"],
        server=stats,
        ideal_wall=ideal,
        goodput=(done - initial) / (result["wall"] * rate),
        http_requests=stats["requests"],
        rate_limited=stats["rate_limited"],
        rate_limited_pct=100.0 * stats["rate_limited"] / max(1, stats["requests"]),
    )
    return result


def scenario_title(spec: dict[str, Any]) -> str:
    limit, unit = spec["limit"], spec["unit"]
    rate = limit / 60.0
    what = (
        f"RPM-bound: rpm={limit:,} ({rate:g} requests/s), TPM not enforced"
        if unit == "requests"
        else f"TPM-bound: tpm={limit:,} ({rate:,.0f} tokens/s), RPM not enforced, "
        f"prompts of {'/'.join(str(c // 4) for c in spec['prompt_chars'])} tokens "
        f"+ max_tokens={spec['max_tokens']}"
    )
    return (
        f"{what}; {spec['requests']} requests, {CONCURRENCY} concurrent, buckets start "
        f"at {FILL:.0%} full, {LATENCY_MS:g} ms latency; ideal wall "
        f"{(job_work(spec) - FILL * limit) / rate:.1f} s"
    )


def results_table(rows: list[dict[str, Any]]) -> str:
    header = [
        "client",
        "ok / calls",
        "failed",
        "HTTP requests",
        "429s",
        "429 %",
        "goodput",
        "wall s",
    ]
    cells = []
    for r in rows:
        failed = str(r["failed"])
        if r["errors"]:
            failed += " (" + ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) + ")"
        cells.append(
            [
                LABELS[r["client"]],
                f"{r['ok']} / {r['requests']}",
                failed,
                str(r["http_requests"]),
                str(r["rate_limited"]),
                f"{r['rate_limited_pct']:.1f}%",
                f"{r['goodput']:.1%}",
                fmt(r["wall"]),
            ]
        )
    return table(header, cells)


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    """rawgpt's figures against the issue's targets (nothing here is tuned to them)."""
    lines = []
    for r in rows:
        if r["client"] != "rawgpt":
            continue
        checks = [
            (r["goodput"] >= TARGETS["goodput"], f"goodput {r['goodput']:.1%} (>= 97%)"),
            (
                r["rate_limited_pct"] <= TARGETS["rate_limited_pct"],
                f"429s {r['rate_limited_pct']:.2f}% (<= 0.5%)",
            ),
            (r["failed"] <= TARGETS["failed"], f"failed {r['failed']} (0)"),
        ]
        verdict = "met" if all(ok for ok, _ in checks) else "MISSED"
        parts = ", ".join(text + ("" if ok else " MISSED") for ok, text in checks)
        lines.append(f"- {r['scenario']}: {parts}: {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller jobs (~1.5 min in all)")
    parser.add_argument("--json", metavar="PATH", help="write settings and raw results here")
    parser.add_argument("--requests", type=int, help="requests per job (default: preset)")
    parser.add_argument(
        "--clients", default=",".join(CLIENTS), help=f"comma-separated subset of {CLIENTS}"
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}"
    )
    args = parser.parse_args(argv)
    preset = "quick" if args.quick else "full"
    requests = args.requests or PRESETS[preset]["requests"]
    clients = [c for c in CLIENTS if c in args.clients.split(",")]
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    info = versions()
    print_versions(info)
    print(f"preset {preset}: {requests} requests per job, {CONCURRENCY} concurrent", flush=True)

    env = child_env()
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    for name in scenarios:
        spec = scenario_spec(name, requests)
        for client in clients:
            r = run_one(client, spec, env)
            results.append(r)
            print(
                f"{name} {client:<12} ok {r['ok']}/{r['requests']}, 429s {r['rate_limited']}, "
                f"goodput {r['goodput']:.1%}, wall {r['wall']:.1f}s",
                file=sys.stderr,
                flush=True,
            )
    elapsed = time.perf_counter() - started

    print()
    print(__doc__.split("\n\n")[-1].strip().replace("\n", " "))
    for name in scenarios:
        spec = scenario_spec(name, requests)
        print(f"\n### {scenario_title(spec)}\n")
        print(results_table([r for r in results if r["scenario"] == name]))
    print("\nrawgpt against the targets:")
    print("\n".join(target_lines(results)))
    print(f"\ntotal time {elapsed:.0f}s")
    if args.json:
        settings = {
            "preset": preset,
            "requests": requests,
            "concurrency": CONCURRENCY,
            "fill": FILL,
            "latency_ms": LATENCY_MS,
            "scenarios": {s: scenario_spec(s, requests) for s in scenarios},
        }
        Path(args.json).write_text(
            json.dumps({"versions": info, "settings": settings, "runs": results}, indent=2) + "\n"
        )
        print(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
