"""Helpers the batch tests share: JSONL input lines, the records a run wrote, what was sent,
a MockServer on a thread of its own (for the CLI, which runs its own event loop)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from rawgpt.cli import main
from rawgpt.testing import MockServer

CHAT = "/v1/chat/completions"
KEY = "sk-test-batch"


def chat_line(cid: str, text: str = "hi") -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "user": cid}
    return {"custom_id": cid, "method": "POST", "url": CHAT, "body": body}


def write_lines(path: Path, lines: list[Any]) -> Path:
    with open(path, "wb") as f:
        for line in lines:
            f.write(line if isinstance(line, bytes) else orjson.dumps(line))
            f.write(b"\n")
    return path


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def ids(path: Path) -> list[str]:
    return [r["custom_id"] for r in records(path)]


def sent(server: MockServer) -> Counter[str]:
    """custom_id (carried in the body's ``user``) -> times the server received it."""
    return Counter(r.body.get("user", "?") for r in server.requests if isinstance(r.body, dict))


@pytest.fixture
def mock() -> Iterator[MockServer]:
    """A MockServer (20 ms latency) on its own thread and event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = MockServer(latency_ms=20)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return main(["batch", *args])
