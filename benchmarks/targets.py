"""The two servers the suite measures against, each in its own process.

- ``canned``: ``benchmarks.procs.canned``, a bare asyncio protocol answering from
  prebuilt bytes, so the client is the bottleneck and client CPU is all that varies;
- ``mock``: rawgpt's ``MockServer`` through its own CLI (``rawgpt mock-server``),
  paced like a real model: a delay before the response headers and a gap
  between stream events, so latencies and time to first token look like life.
"""

from __future__ import annotations

import contextlib
import select
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from benchmarks.payloads import STREAM_EVENTS
from benchmarks.procs.canned import running_server


@dataclass(frozen=True)
class MockPace:
    """How the mock server paces its answers."""

    latency_ms: float = 100.0  # before the response headers, plain and streamed
    chunk_interval_ms: float = 5.0  # between stream events: 200 events/s, a fast model

    def describe(self) -> str:
        return (
            f"MockServer, {self.latency_ms:g} ms latency, "
            f"{self.chunk_interval_ms:g} ms between stream events"
        )


def _mock_command(pace: MockPace) -> list[str]:
    # role chunk + content pieces + finish chunk: as many events as the canned stream
    pieces = STREAM_EVENTS - 2
    return [
        sys.executable,
        "-m",
        "rawgpt",
        "mock-server",
        "--port",
        "0",
        "--latency-ms",
        str(pace.latency_ms),
        "--chunk-interval-ms",
        str(pace.chunk_interval_ms),
        "--stream-chunks",
        str(pieces),
    ]


@contextlib.contextmanager
def running_mock(env: Mapping[str, str], cwd: str, pace: MockPace) -> Iterator[str]:
    """Start ``rawgpt mock-server`` in a child process; yield its base URL; stop it after."""
    proc = subprocess.Popen(
        _mock_command(pace),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20.0)
        line = proc.stdout.readline().decode() if ready else ""
        urls = [word for word in line.split() if word.startswith("http://")]
        if not urls:
            proc.kill()
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"rawgpt mock-server did not start: {line!r}\n{err[-2000:]}")
        yield urls[0]
        if proc.poll() is not None:
            raise RuntimeError(f"rawgpt mock-server died (exit {proc.returncode})")
    finally:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


@contextlib.contextmanager
def running_targets(
    env: Mapping[str, str], cwd: str, pace: MockPace, per_event: bool = False
) -> Iterator[dict[str, str]]:
    """Both servers at once: ``{"canned": url, "mock": url}``."""
    with (
        running_server(env, cwd, per_event=per_event) as canned,
        running_mock(env, cwd, pace) as mock,
    ):
        yield {"canned": canned, "mock": mock}
