"""The two servers the suite measures against, each in its own process.

- ``canned``: ``benchmarks.procs.canned``, a bare asyncio protocol answering from
  prebuilt bytes, so the client is the bottleneck and client CPU is all that varies;
- ``mock``: rawgpt's ``MockServer`` through its own CLI (``rawgpt mock-server``),
  paced like a real model: a delay before the response headers and a gap
  between stream events, so latencies and time to first token look like life.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from benchmarks.payloads import STREAM_EVENTS
from benchmarks.procs import child_server
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


def running_mock(
    env: Mapping[str, str], cwd: str, pace: MockPace
) -> contextlib.AbstractContextManager[str]:
    """Start ``rawgpt mock-server`` in a child process; yield its base URL; stop it after."""
    return child_server(
        _mock_command(pace), env, cwd, name="rawgpt mock-server", url_of=_url, start_timeout=20.0
    )


def _url(line: str) -> str | None:
    return next((word for word in line.split() if word.startswith("http://")), None)


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
