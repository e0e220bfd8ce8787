"""``rawgpt batch``: the batch runner from the command line.

Exit status: 0 every line has a result and nothing failed in this run; 3 every
line has a result but some failed or were invalid (see the errors file); 1 a
fatal error (bad key, no credit) stopped the run; 2 bad usage or input
(duplicate custom_ids, unreadable files, an existing output or errors file that
rawgpt did not write, which is left untouched); 130 / 143 interrupted by SIGINT /
SIGTERM. Ctrl-C once stops new sends and waits ``--grace`` seconds for the
requests in flight; twice abandons them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson

from .. import AsyncClient, Limits, RateLimiter
from .._prices import PRICES, PRICES_DATE, Price
from .._ratelimit import Limiter
from ..batch import BatchRunner, DuplicateCustomIdError, ForeignFileError
from ..batch.shard import Shard, parse_shard
from .chat import MOCK_KEY, add_network_args, new_client


def shard_arg(text: str) -> Shard:
    """``parse_shard`` for argparse's ``type=``: the message reaches the user as is."""
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any) -> None:
    """Add the ``batch`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "batch",
        help="run a JSONL file of requests (OpenAI Batch API format); rerun to resume",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("requests", metavar="REQUESTS.jsonl", help="Batch API lines or plain bodies")
    p.add_argument("--output", "-o", required=True, metavar="RESULTS.jsonl")
    p.add_argument("--errors", metavar="ERRORS.jsonl", help="default: RESULTS.errors.jsonl")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    p.add_argument("--rpm", type=int, help="cap requests per minute")
    p.add_argument("--tpm", type=int, help="cap tokens per minute")
    p.add_argument("--base-url", help="default: $OPENAI_BASE_URL or OpenAI's")
    p.add_argument(
        "--redis-url",
        metavar="URL",
        help="share one rate budget with other processes and machines through Redis "
        "(needs the redis extra)",
    )
    p.add_argument(
        "--redis-namespace",
        default="rawgpt",
        metavar="NAME",
        help="key prefix in Redis: jobs with the same one share a budget (rawgpt)",
    )
    p.add_argument(
        "--shard",
        type=shard_arg,
        metavar="I/N",
        help="handle only shard I of N of the input (by custom_id); one per machine",
    )
    p.add_argument("--retry-errors", action="store_true", help="send the failed lines again")
    p.add_argument(
        "--prices",
        metavar="FILE",
        help='JSON {"model": [input, output]} in USD per 1M tokens, over the built-in table',
    )
    p.add_argument("--max-retries", type=int, default=5, help="retries per request (5)")
    p.add_argument(
        "--grace", type=float, default=10.0, help="seconds to wait for in-flight requests on stop"
    )
    p.add_argument(
        "--mock",
        action="store_true",
        help="answer from an in-process MockServer: no key, no network",
    )
    add_network_args(p)


def load_prices(path: str) -> dict[str, Price]:
    """The built-in table with ``path``'s entries over it; ValueError naming the problem."""
    with open(path, "rb") as f:
        try:
            data = orjson.loads(f.read())
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected {{"model": [input, output], ...}}')
    table = dict(PRICES)
    for model, price in data.items():
        ok = isinstance(price, list) and len(price) == 2
        if not ok or not all(isinstance(x, int | float) and x >= 0 for x in price):
            raise ValueError(f"{path}: the price of {model!r} must be [input, output] USD per 1M")
        table[model] = (float(price[0]), float(price[1]))
    return table


@contextlib.asynccontextmanager
async def _client(
    args: argparse.Namespace, prices: dict[str, Price] | None, limiter: Limiter | None
) -> AsyncIterator[AsyncClient]:
    options: dict[str, Any] = {
        "base_url": args.base_url,
        "max_retries": args.max_retries,
        "limits": Limits(max_connections=max(100, args.concurrency)),
        "prices": prices,
    }
    if limiter is not None:
        options["rate_limiter"] = limiter
    if not args.mock:
        async with new_client(args, **options) as client:
            yield client
        return
    from ..testing import MockServer

    async with MockServer() as server:
        options.update(api_key=MOCK_KEY, base_url=server.base_url)
        async with new_client(args, **options) as client:
            yield client


def _limiter(args: argparse.Namespace) -> Limiter | None:
    """A Redis-shared limiter for ``--redis-url``, an in-process one for ``--rpm``/``--tpm``."""
    if args.redis_url:
        from .. import RedisRateLimiter

        return RedisRateLimiter(
            args.redis_url, namespace=args.redis_namespace, rpm=args.rpm, tpm=args.tpm
        )
    if args.shard is not None and args.shard[1] > 1:
        print(
            f"rawgpt batch: warning: --shard {args.shard[0]}/{args.shard[1]} without --redis-url:"
            " this shard learns and keeps the rate limit on its own, so N shards running at"
            " once send up to N times the limit; pass --redis-url to share one budget",
            file=sys.stderr,
        )
    if args.rpm or args.tpm:
        return RateLimiter(rpm=args.rpm, tpm=args.tpm)
    return None


async def run(args: argparse.Namespace) -> int:
    """Run the batch; the exit status (see the module docstring)."""
    try:
        prices = load_prices(args.prices) if args.prices else None
        limiter = _limiter(args)
    except (OSError, ValueError, ImportError) as exc:
        return _usage_error(exc)
    try:
        return await _run(args, prices, limiter)
    finally:
        if limiter is not None:
            await limiter.aclose()


async def _run(
    args: argparse.Namespace, prices: dict[str, Price] | None, limiter: Limiter | None
) -> int:
    label = f"the built-in price table of {PRICES_DATE}"
    if args.prices:
        label = f"{args.prices} over {label}"
    async with _client(args, prices, limiter) as client:
        try:
            runner = BatchRunner(
                client,
                args.requests,
                args.output,
                errors=args.errors,
                concurrency=args.concurrency,
                retry_errors=args.retry_errors,
                grace=args.grace,
                progress=sys.stderr,
                prices=label,
                shard=args.shard,
            )
        except ValueError as exc:
            return _usage_error(exc)
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still raises
                loop.add_signal_handler(sig, runner.stop, sig.name)
        try:
            summary = await runner.run()
        except (DuplicateCustomIdError, ForeignFileError, OSError) as exc:
            return _usage_error(exc)
        finally:
            for sig in signals:
                with contextlib.suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)
    return summary.exit_code


def _usage_error(exc: Exception) -> int:
    print(f"rawgpt batch: error: {exc}", file=sys.stderr)
    return 2
