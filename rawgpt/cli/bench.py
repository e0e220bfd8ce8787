"""``rawgpt bench``: load-test an OpenAI-compatible endpoint, each client in its own process.

Every option is checked before any request is sent: the clients (the SDK only
when installed), ``--plot`` (matplotlib), the prompts file, ``--slo``, the
workload, the key. Then, for a host that is not loopback, the request count and
an estimated cost from the price table, and a confirmation (``--yes``, or a
terminal). With no ``--base-url`` the built-in mock server runs in a process of
its own, paced like a model. Exit status: 0 measured, 1 refused or failed, 2 bad
options.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import sys
from typing import Any
from urllib.parse import urlsplit

import orjson

from .._net import is_loopback
from .._prices import PRICES_DATE, price_for
from ..bench import BenchError, Target, Workload, summarize
from ..bench import run as run_bench
from ..bench.drivers import missing
from ..bench.files import report, write_csv, write_json
from ..bench.mockproc import MOCK_KEY, Pace, mock_server
from ..bench.plot import plot, require
from ..bench.progress import Progress
from ..bench.prompts import load
from ..bench.safety import Refused, confirm, estimate, summary
from ..bench.slo import parse_slo
from ..bench.table import render

DEFAULT_MODEL = "gpt-4o-mini"
MOCK_KEY_ENV = "RAWGPT_BENCH_MOCK_KEY"


def add_parser(sub: Any) -> None:
    """Add the ``bench`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "bench",
        help="load-test an OpenAI-compatible endpoint (default: the built-in mock)",
        description="Measure time to first token, inter-token latency, throughput and the "
        "client's own CPU under load, for rawgpt and the official SDK side by side.",
    )
    p.add_argument("--base-url", help="the endpoint, .../v1 (default: the built-in mock server)")
    p.add_argument("--model", help=f"default: {DEFAULT_MODEL} (with --prompts: each line's)")
    p.add_argument(
        "--api-key-env",
        metavar="NAME",
        default="OPENAI_API_KEY",
        help="the environment variable holding the key (default: OPENAI_API_KEY)",
    )
    load_ = p.add_argument_group("workload")
    load_.add_argument("--requests", type=int, help="measured requests per client (default 100)")
    load_.add_argument("--concurrency", type=int, help="in flight at most (default 10)")
    load_.add_argument("--rate", type=float, help="requests/s, Poisson arrivals (open loop)")
    load_.add_argument(
        "--burstiness", type=float, default=1.0, help="with --rate: 1 Poisson, < 1 burstier"
    )
    load_.add_argument("--duration", type=float, help="seconds of measured load per client")
    load_.add_argument("--warmup", type=int, help="unmeasured requests per client first")
    load_.add_argument("--rounds", type=int, help="slices run in turn (default 3, 1 client: 1)")
    load_.add_argument("--seed", type=int, default=0, help="prompts and arrivals")
    body = p.add_argument_group("requests")
    body.add_argument("--prompt-tokens", type=int, default=100, help="synthetic prompt size")
    body.add_argument("--prompts", metavar="FILE", help="JSONL: chat bodies or Batch API lines")
    body.add_argument("--max-tokens", type=int, help="default 50 (with --prompts: each line's)")
    body.add_argument("--stream", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--clients",
        default="rawgpt",
        help="comma-separated: rawgpt, sdk, sdk-aiohttp (default: rawgpt)",
    )
    p.add_argument("--slo", help="objectives for goodput, e.g. ttft_ms=500,itl_ms=50")
    p.add_argument("--no-retries", action="store_true", help="max_retries=0 for every client")
    p.add_argument("--yes", action="store_true", help="send to a non-loopback host without asking")
    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="the summary as JSON")
    out.add_argument("--csv", metavar="FILE", help="one row per request")
    out.add_argument("--plot", metavar="FILE.png", help="latency CDFs and throughput (matplotlib)")
    mock = p.add_argument_group("built-in mock server (no --base-url)")
    mock.add_argument("--mock-first-token-ms", type=float, default=80.0)
    mock.add_argument("--mock-itl-ms", type=float, default=10.0, help="between tokens")
    mock.add_argument("--mock-tokens", type=int, help="reply length (default: --max-tokens or 50)")


class UsageError(Exception):
    pass


def _workload(args: argparse.Namespace, clients: list[str]) -> Workload:
    slo = parse_slo(args.slo) if args.slo else {}
    bodies = load(args.prompts) if args.prompts else None
    requests = args.requests
    if requests is None and args.duration is None:
        requests = len(bodies) if bodies is not None else 100
    concurrency = args.concurrency
    if concurrency is None and args.rate is None:
        concurrency = 10
    max_tokens = args.max_tokens if args.max_tokens is not None or bodies else 50
    warmup = args.warmup
    if warmup is None:
        warmup = min(concurrency or 8, 8)
    rounds = args.rounds if args.rounds is not None else (3 if len(clients) > 1 else 1)
    if requests is not None:
        rounds = min(rounds, requests)
    return Workload(
        model=args.model or (DEFAULT_MODEL if bodies is None else None),
        requests=requests,
        concurrency=concurrency,
        rate=args.rate,
        burstiness=args.burstiness,
        duration=args.duration,
        warmup=warmup,
        rounds=rounds,
        stream=args.stream,
        max_tokens=max_tokens,
        prompt_tokens=args.prompt_tokens,
        prompts=args.prompts,
        retries=not args.no_retries,
        seed=args.seed,
        slo=slo,
    )


def _clients(text: str) -> list[str]:
    clients = [c.strip() for c in text.split(",") if c.strip()]
    if not clients:
        raise UsageError("--clients: name at least one of rawgpt, sdk, sdk-aiohttp")
    if len(set(clients)) != len(clients):
        raise UsageError(f"--clients {text!r} names a client twice")
    for name in clients:
        problem = missing(name)
        if problem is not None:
            raise UsageError(problem)
    return clients


def _check_outputs(args: argparse.Namespace) -> None:
    if args.plot:
        require()
    for flag, path in (("--json", args.json), ("--csv", args.csv), ("--plot", args.plot)):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise UsageError(f"{flag} {path}: no such directory {folder}")


def _cost_check(args: argparse.Namespace, workload: Workload, clients: list[str]) -> None:
    """Ask before sending to a host that is not loopback (see rawgpt.bench.safety)."""
    host = urlsplit(args.base_url).hostname or ""
    per_client: int | None = None
    if workload.requests is not None:
        per_client = workload.requests
    elif workload.rate is not None and workload.duration is not None:
        per_client = round(workload.rate * workload.duration)
    requests = None if per_client is None else (per_client + workload.warmup) * len(clients)
    if args.prompts:
        bodies = load(args.prompts)
        prompt = sum(len(orjson.dumps(b.get("messages"))) // 4 for b in bodies) // len(bodies)
        out = workload.max_tokens or max(
            int(b.get("max_tokens") or b.get("max_completion_tokens") or 0) for b in bodies
        )
        models = {workload.model} if workload.model else {str(b.get("model")) for b in bodies}
    else:
        prompt, out = workload.prompt_tokens, workload.max_tokens or 0
        models = {workload.model or DEFAULT_MODEL}
    model = sorted(models)[0]
    price = price_for(model) if len(models) == 1 else None
    cost = None if requests is None else estimate(requests, prompt, out, price)
    note = f"{prompt} prompt + {out} output tokens per request, prices of {PRICES_DATE}"
    message = summary(host, requests, cost, model if len(models) == 1 else "several models", note)
    if requests is None:
        message += " The count is bounded only by --duration."
    confirm(
        loopback=is_loopback(host),
        yes=args.yes,
        tty=sys.stdin.isatty(),
        message=message,
        ask=input,
        say=lambda text: print(text, file=sys.stderr),
    )


def _bad_base_url(url: str) -> str | None:
    """Why ``url`` cannot be a base URL to measure (before any prompt or request)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http:// or https:// URL with a host, got {url!r}"
    if "@" in parts.netloc:
        return "carries credentials (user:password@): pass the key in --api-key-env's variable"
    return None


def _shown(url: str) -> str:
    """The base URL as reports show it: scheme, host, port and path (no query: a key may
    hide there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _meta(args: argparse.Namespace, clients: list[str], target: str) -> dict[str, Any]:
    versions = {"rawgpt": _version("rawgpt")}
    if any(c.startswith("sdk") for c in clients):
        versions["openai"] = _version("openai")
    return {
        "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "target": target,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "versions": versions,
        "client_cpu": "each client process's own CPU time over its measured slices "
        "(time.process_time: the client, its event loop, parsing, the timing bookkeeping; "
        "not the server's, not the parent's)",
    }


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


async def run(args: argparse.Namespace) -> int:
    """Check every option, then measure; the exit status."""
    try:
        clients = _clients(args.clients)
        _check_outputs(args)
        workload = _workload(args, clients)
        if args.base_url is None:
            if args.mock_first_token_ms < 0 or args.mock_itl_ms < 0:
                raise UsageError("--mock-first-token-ms and --mock-itl-ms must be >= 0")
            tokens = args.mock_tokens or workload.max_tokens or 50
            if tokens < 1:
                raise UsageError(f"--mock-tokens must be >= 1, got {tokens}")
        elif (problem := _bad_base_url(args.base_url)) is not None:
            raise UsageError(f"--base-url {problem}")
        elif not os.environ.get(args.api_key_env):
            raise UsageError(
                f"no API key: ${args.api_key_env} is not set (set it, or name another variable "
                "with --api-key-env)"
            )
    except (UsageError, ValueError, RuntimeError) as exc:
        print(f"rawgpt bench: error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.base_url is not None:
            _cost_check(args, workload, clients)
            target = Target(args.base_url, args.api_key_env)
            return await _measure(args, clients, workload, target, _shown(args.base_url))
        pace = Pace(args.mock_first_token_ms, args.mock_itl_ms, tokens)
        async with mock_server(pace) as url:
            target = Target(url, MOCK_KEY_ENV, {MOCK_KEY_ENV: MOCK_KEY})
            label = (
                f"the built-in mock server ({url}, its own process): first token after "
                f"{num(pace.first_token_ms)} ms, then one every {num(pace.itl_ms)} ms, "
                f"{pace.tokens}-token replies"
            )
            return await _measure(args, clients, workload, target, label)
    except (Refused, BenchError) as exc:
        print(f"rawgpt bench: {exc}", file=sys.stderr)
        return 1


def num(x: float) -> str:
    return f"{x:g}"


async def _measure(
    args: argparse.Namespace, clients: list[str], workload: Workload, target: Target, label: str
) -> int:
    size = f"{workload.requests} requests" if workload.requests else f"{workload.duration} s"
    load_ = (
        f"{workload.concurrency} in flight"
        if workload.rate is None
        else f"{workload.rate:g} req/s Poisson"
        + ("" if workload.burstiness == 1 else f" (burstiness {workload.burstiness:g})")
        + ("" if workload.concurrency is None else f", at most {workload.concurrency} in flight")
    )
    retries = "retries on" if workload.retries else "no retries"
    print(
        f"rawgpt bench: {size} per client ({workload.warmup} warm-up), {load_}, "
        f"{'streamed' if workload.stream else 'not streamed'}, {retries}; "
        f"clients {', '.join(clients)}; against {label}",
        file=sys.stderr,
    )
    progress = Progress(sys.stderr, workload.rounds)
    try:
        runs = await run_bench(clients, target, workload, progress)
    finally:
        progress.close()
    summaries = {name: summarize(r, workload.slo) for name, r in runs.items()}
    sys.stdout.write(render(summaries))
    sys.stdout.flush()
    if args.json:
        document = report(summaries, workload.to_dict(), _meta(args, clients, label))
        write_json(args.json, document)
    if args.csv:
        write_csv(args.csv, runs)
    if args.plot:
        plot(args.plot, runs)
    return 0
