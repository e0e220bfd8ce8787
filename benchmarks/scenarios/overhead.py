"""Client overhead: CPU time per request and throughput, rawgpt vs the floor vs the SDK.

    python -m benchmarks.scenarios.overhead [--quick] [--json PATH] [--rounds R] [--clients ...]

A canned OpenAI-compatible server runs in its own process (``benchmarks.procs.canned``),
so ``time.process_time()`` in each client process counts the client's work only.
Five clients are measured on the same server, each round in a fresh process per
client (imports, GC state and pools of one never touch another):

- ``bare``: the floor, one ``aiohttp.ClientSession`` with orjson both ways;
- ``rawgpt``: ``rawgpt.AsyncClient``;
- ``sdk``: ``openai.AsyncOpenAI`` on its default transport (httpx, or httpx2 in openai 3);
- ``sdk-aiohttp``: the same with ``openai.DefaultAioHttpClient()`` (skipped if missing);
- ``httpx``: raw ``httpx.AsyncClient`` with orjson, written like the floor.

Scenarios: non-streamed completions one at a time, non-streamed completions with 64
in flight, a 200-chunk stream one at a time, and a Responses API stream of the same
text (206 events) one at a time. Each worker warms up before it
is timed. Clients run interleaved (round r starts with client r mod 5; bare and
rawgpt, cheap to run but the noisiest pair, run several times per round), and
each cell of the table is the median over runs; the ratios divide those medians.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make this checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.clients import DEFAULT_NAMES, NAMES
from benchmarks.env import ROOT, child_env, load, print_versions, versions
from benchmarks.procs.canned import running_server
from benchmarks.procs.worker import SCENARIOS, UNAVAILABLE_EXIT
from benchmarks.report.overhead_tables import detail_table, main_table, summarize, target_lines

# scenario -> (measured requests, warm-up requests); rounds; runs of bare and rawgpt per round.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "rounds": 3,
        "fast_repeats": 2,
        "seq": (300, 50),
        "conc": (1000, 128),
        "stream": (60, 5),
        "responses": (60, 5),
    },
    "full": {
        "rounds": 5,
        "fast_repeats": 3,
        "seq": (1500, 200),
        "conc": (4000, 256),
        "stream": (150, 10),
        "responses": (150, 10),
    },
}


def run_worker(
    client: str, urls: dict[str, str], plan: str, concurrency: int, env: dict[str, str]
) -> list[dict[str, Any]] | str:
    """One fresh client process; its results, or why the client is unavailable."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.procs.worker",
        "--client",
        client,
        "--url",
        urls["canned"],
    ]
    if "mock" in urls:
        cmd += ["--mock-url", urls["mock"]]
    cmd += ["--plan", plan, "--concurrency", str(concurrency)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    if proc.returncode == UNAVAILABLE_EXIT:
        return str(json.loads(proc.stdout.strip().splitlines()[-1])["unavailable"])
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker for {client} failed (exit {proc.returncode})")
    results: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


def schedule(clients: list[str], r: int, fast_repeats: int) -> list[str]:
    """Round ``r``'s run order: rotated by ``r``; bare and rawgpt ``fast_repeats`` times each.

    The two fast clients cost little per run but vary most from process to
    process on a shared machine, and their ratio is the finest one measured, so
    they get more runs: alternating, spread between the SDK runs.
    """
    order = clients[r % len(clients) :] + clients[: r % len(clients)]
    fast = [c for c in order if c in ("bare", "rawgpt", "rawgpt-nolimit")]
    if not fast or fast_repeats <= 1:
        return order
    slow = [c for c in order if c not in fast]
    runs: list[str] = []
    for i in range(fast_repeats):
        runs += fast if i % 2 == 0 else fast[::-1]
        if i < len(slow):
            runs.append(slow[i])
    return runs + slow[fast_repeats:]


def run_rounds(
    urls: dict[str, str],
    clients: list[str],
    plan: str,
    rounds: int,
    fast_repeats: int,
    concurrency: int,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every client in a fresh process per run, rounds interleaved; all records and the skipped."""
    env = child_env()
    records: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for r in range(rounds):
        active = [c for c in clients if c not in skipped]
        for client in schedule(active, r, fast_repeats) if active else []:
            if client in skipped:
                continue
            started = time.perf_counter()
            got = run_worker(client, urls, plan, concurrency, env)
            if isinstance(got, str):
                skipped[client] = got
                print(f"note: skipping {client}: {got}", file=sys.stderr)
                continue
            cells = ", ".join(f"{x['scenario']} {x['cpu_ms_per']:.3g}" for x in got)
            print(
                f"round {r + 1}/{rounds} {client:<12} CPU ms: {cells}  "
                f"({time.perf_counter() - started:.1f}s)",
                file=sys.stderr,
            )
            records += [{**x, "round": r} for x in got]
    return records, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds (<1 min)")
    parser.add_argument("--json", metavar="PATH", help="write settings and raw results here")
    parser.add_argument("--rounds", type=int, help="rounds per client (default: preset)")
    parser.add_argument(
        "--fast-repeats", type=int, help="runs of bare and rawgpt per round (default: preset)"
    )
    parser.add_argument(
        "--clients",
        default=",".join(DEFAULT_NAMES),
        help=f"comma-separated subset of {','.join(NAMES)} (default: all but rawgpt-nolimit)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="in flight for 'conc'")
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="server writes stream events one by one (many small reads) instead of at once",
    )
    args = parser.parse_args(argv)
    preset = PRESETS["quick" if args.quick else "full"]
    clients = [c for c in NAMES if c in args.clients.split(",")]
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    rounds = args.rounds or preset["rounds"]
    fast_repeats = args.fast_repeats or preset["fast_repeats"]
    plan = ",".join(f"{s}:{preset[s][0]}:{preset[s][1]}" for s in scenarios)
    info = versions()
    print_versions(info)
    print(
        f"preset {'quick' if args.quick else 'full'}: {rounds} rounds "
        f"(bare and rawgpt {fast_repeats}x per round), plan {plan} "
        f"(scenario:requests:warm-up), {args.concurrency} in flight for conc; stream events "
        + ("written one per server loop iteration" if args.per_event else "written at once"),
        flush=True,
    )

    # SIGTERM unwinds like Ctrl-C, so the server and the current worker are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    with running_server(child_env(), str(ROOT), per_event=args.per_event) as url:
        records, skipped = run_rounds(
            {"canned": url}, clients, plan, rounds, fast_repeats, args.concurrency
        )
    elapsed = time.perf_counter() - started
    shown = [c for c in clients if c not in skipped]
    summary = summarize(records)

    print()
    print(
        "Client CPU per request (ms; per stream for the stream row) and requests/s, "
        "median over runs (one fresh process each); ratios divide the CPU medians."
    )
    print()
    print(main_table(summary, shown, scenarios, args.concurrency))
    print()
    print(detail_table(summary, shown, scenarios, args.concurrency))
    print()
    for client, why in skipped.items():
        print(f"note: {client} skipped: {why}")
    print("Targets (context only):")
    print("\n".join(target_lines(summary, scenarios)))
    print(f"\ntotal time {elapsed:.0f}s, load average at the end {load()}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "versions": info,
                    "settings": {
                        "preset": "quick" if args.quick else "full",
                        "rounds": rounds,
                        "fast_repeats": fast_repeats,
                        "plan": plan,
                        "concurrency": args.concurrency,
                        "per_event": args.per_event,
                        "clients": clients,
                    },
                    "skipped": skipped,
                    "summary": summary,
                    "runs": records,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the server and the running worker are already stopped
        sys.exit("interrupted")
