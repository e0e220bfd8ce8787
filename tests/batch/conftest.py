"""Helpers the batch tests share: JSONL input lines, the records a run wrote, what was sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from rawgpt.testing import MockServer

CHAT = "/v1/chat/completions"


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
