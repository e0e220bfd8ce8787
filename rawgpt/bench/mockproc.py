"""The built-in target: ``rawgpt mock-server`` in a process of its own, paced like a model.

With no ``--base-url`` the benchmark starts it on a free loopback port, so it
runs with no key and no network, and the server's work never counts in a
client's CPU. The pace: the first token ``first_token_ms`` after the request
arrives, then one token (one word) every ``itl_ms``; replies have ``tokens``
words, fewer when a request's ``max_tokens`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .prompts import synthetic

MOCK_KEY = "sk-mock-no-key-needed"
START_SECONDS = 30.0  # the mock server's start-up bound (an import and a bind)
_URL = re.compile(rb"on (http://\S+/v1)")


@dataclass(frozen=True, slots=True)
class Pace:
    first_token_ms: float = 80.0
    itl_ms: float = 10.0
    tokens: int = 50

    def argv(self) -> list[str]:
        import random

        reply = synthetic(self.tokens, random.Random(0))
        return [
            "--first-token-ms", str(self.first_token_ms),
            "--chunk-interval-ms", str(self.itl_ms),
            "--reply", reply,
        ]  # fmt: skip


@contextlib.asynccontextmanager
async def mock_server(pace: Pace) -> AsyncIterator[str]:
    """Run the mock server until the block ends; yields its base URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rawgpt", "mock-server", "--port", "0", *pace.argv(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), START_SECONDS)
        found = _URL.search(line)
        if found is None:
            raise RuntimeError(f"the built-in mock server did not start: {line!r}")
        yield found.group(1).decode()
    finally:
        await stop(proc)


async def stop(proc: asyncio.subprocess.Process, grace: float = 5.0) -> None:
    """Terminate ``proc`` and wait for it; kill it if it outlives ``grace`` seconds."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
