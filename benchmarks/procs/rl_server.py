"""MockServer in its own process for the rate-limit benchmarks.

    python -m benchmarks.procs.rl_server [--rpm N] [--tpm N] [--fill F] [--latency-ms X]
        [--latency-jitter-ms J --seed S]

Prints ``PORT <n>`` once it listens; on SIGTERM (or SIGINT) it stops and prints
``STATS <json>`` (the server's counters) before exiting.

The buckets' clock stands still until the first request arrives, so every run
meets buckets at exactly ``--fill`` however long the client process took to
start (an ordinary monotonic clock would refill them while the client imports).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any


class StartOnFirstUse:
    """A monotonic clock reading 0.0 until armed, then starting at its first reading."""

    def __init__(self) -> None:
        self.armed = False
        self.origin: float | None = None

    def __call__(self) -> float:
        if not self.armed:
            return 0.0
        now = time.monotonic()
        if self.origin is None:
            self.origin = now
        return now - self.origin


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    from rawgpt.testing import MockServer

    clock = StartOnFirstUse()
    server = MockServer(
        port=args.port,
        rpm=args.rpm,
        tpm=args.tpm,
        fill=args.fill,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        seed=args.seed,
        record_requests=False,
        clock=clock,
    )
    clock.armed = True  # the buckets exist (at ``fill``); time starts with the first request
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"PORT {server.port}", flush=True)
        await stop.wait()
        first = clock.origin
        stats = server.stats
        return {
            "requests": stats.requests,
            "by_status": {str(k): v for k, v in sorted(stats.by_status.items())},
            "rate_limited": stats.rate_limited,
            "clock_started": first is not None,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rpm", type=int)
    parser.add_argument("--tpm", type=int)
    parser.add_argument("--fill", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    stats = asyncio.run(serve(args))
    print("STATS " + json.dumps(stats), flush=True)


@dataclass
class ServerProcess:
    """A running ``rl_server`` child: its base URL, and its stats once stopped."""

    proc: subprocess.Popen[bytes]
    base_url: str
    errors: IO[bytes]
    stats: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> dict[str, Any]:
        """SIGTERM the server and return the counters it prints on the way out."""
        proc = self.proc
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        for line in out.decode().splitlines():
            if line.startswith("STATS "):
                self.stats = json.loads(line[6:])
        if not self.stats:
            self.errors.seek(0)
            err = self.errors.read().decode()[-2000:]
            raise RuntimeError(f"mock server printed no stats (exit {proc.returncode})\n{err}")
        return self.stats


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str], cwd: str, options: Sequence[str]
) -> Iterator[ServerProcess]:
    """Start a fresh server process with ``options``; stop it (collecting stats) after."""
    # stderr goes to a file, not a pipe: a chatty server can never block on it
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.procs.rl_server", *options],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=dict(env),
            cwd=cwd,
        )
        server: ServerProcess | None = None
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            if not line.startswith("PORT "):
                proc.kill()
                proc.wait()
                errors.seek(0)
                err = errors.read().decode()
                raise RuntimeError(f"mock server did not start: {line!r}\n{err}")
            server = ServerProcess(proc, f"http://127.0.0.1:{int(line.split()[1])}/v1", errors)
            yield server
        finally:
            if server is None or not server.stats:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            if proc.stdout is not None:
                with contextlib.suppress(OSError):
                    proc.stdout.close()


if __name__ == "__main__":
    main()
