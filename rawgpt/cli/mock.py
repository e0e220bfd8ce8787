"""``rawgpt mock-server``: MockServer from the command line, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``mock-server`` subcommand to the CLI's subparsers."""
    p = sub.add_parser("mock-server", help="run the OpenAI-compatible mock server")
    p.add_argument(
        "--host", default="127.0.0.1", help="127.0.0.1; another address warns (reachable from afar)"
    )
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument(
        "--api-key",
        metavar="KEY",
        help="the only key let in (another gets OpenAI's 401 invalid_api_key); default: any",
    )
    p.add_argument("--rpm", type=int, help="enforce requests per minute")
    p.add_argument("--tpm", type=int, help="enforce tokens per minute")
    p.add_argument("--fill", type=float, default=1.0, help="initial bucket fill, 0..1")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay before headers")
    p.add_argument(
        "--latency-jitter-ms",
        type=float,
        default=0.0,
        help="random delays of up to this much before and after admission: requests are "
        "admitted and answered out of order, each with the rate-limit headers of its admission",
    )
    p.add_argument("--chunk-interval-ms", type=float, default=0.0, help="pace of stream chunks")
    p.add_argument(
        "--stream-chunks",
        type=int,
        help="content (or tool-call argument) chunks per streamed choice or response",
    )
    p.add_argument("--reply", help="fixed reply text (chat and responses)")
    p.add_argument("--fail-rate", type=float, default=0.0, help="fraction of random failures")
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--quota-exhausted", action="store_true", help="answer every request 429 insufficient_quota"
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="queue a fault for the next request (repeatable), e.g. status:500, rate_limit:2, "
        "cut:3 (stream dropped), end:3 (stream ended cleanly, no terminal event), stall:2:5, "
        "stream_error, stream_error_flat, failed, refusal; see rawgpt.testing",
    )


async def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from ..testing import MockServer

    server = MockServer(
        host=args.host,
        port=args.port,
        rpm=args.rpm,
        tpm=args.tpm,
        fill=args.fill,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        chunk_interval_ms=args.chunk_interval_ms,
        stream_chunks=args.stream_chunks,
        reply=args.reply,
        fail_rate=args.fail_rate,
        fail_status=args.fail_status,
        seed=args.seed,
        quota_exhausted=args.quota_exhausted,
        api_key=args.api_key,
        record_requests=False,
    )
    for spec in args.fault:
        server.add_fault(spec)
    async with server:
        print(f"rawgpt mock server on {server.base_url} (Ctrl-C stops it)", flush=True)
        await asyncio.Event().wait()
    return 0
