"""Reading batch input: one request per line, checked, with a custom_id for every line.

A line is either an OpenAI Batch API request (``custom_id``, ``method``,
``url``, ``body``) or a plain request body. Every non-blank line gets an id:
its ``custom_id`` when that is a string, else ``line-<n>`` (1-based), so bad
lines can be reported, and resumed past, like any other. A plain body's id is
therefore its line number: edit the file and the ids after the edit move. A
Batch API request must carry its own ``custom_id`` (the hosted Batch API
refuses a file without): one that has none is a bad line
(``missing_custom_id``), never sent under a made-up id. Blank lines are not
requests and are skipped.

The input is streamed, never loaded whole: ``scan_input`` is the first pass
(ids and duplicates only, O(ids) memory); ``read_jobs`` is the second.
"""

from __future__ import annotations

import os
from collections.abc import Container, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

# Batch API url -> path under the client's base_url (which ends in /v1).
PATHS = {
    "/v1/chat/completions": "/chat/completions",
    "/v1/embeddings": "/embeddings",
    "/v1/responses": "/responses",
}
_BATCH_KEYS = ("custom_id", "method", "url", "body")


@dataclass(frozen=True, slots=True)
class Job:
    """One valid request to send."""

    line: int
    custom_id: str
    path: str  # under base_url: "/chat/completions", "/embeddings" or "/responses"
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be sent, and why."""

    line: int
    custom_id: str
    code: str
    message: str


class DuplicateCustomIdError(ValueError):
    """The input uses a custom_id more than once; nothing was sent."""

    def __init__(self, duplicates: dict[str, list[int]]) -> None:
        self.duplicates = duplicates
        shown = "; ".join(
            f"{cid!r} on lines {', '.join(map(str, lines))}"
            for cid, lines in list(duplicates.items())[:10]
        )
        more = len(duplicates) - 10
        extra = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"duplicate custom_id in the input ({len(duplicates)} ids): {shown}{extra}; "
            "nothing was sent"
        )


@dataclass(slots=True)
class InputScan:
    """What the first pass learned: every line's id, and how many still need work."""

    ids: set[str]
    lines: int = 0
    to_do: int = 0


def iter_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """``(line number, stripped line)`` for each non-blank line, streamed from disk."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if line:
                yield number, line


def _id_of(obj: Any, number: int) -> str:
    if type(obj) is dict:
        cid = obj.get("custom_id")
        if type(cid) is str and cid:
            return cid
    return f"line-{number}"


def _load(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return exc


def scan_input(path: str | os.PathLike[str], done: Container[str]) -> InputScan:
    """First pass: every line's id; raise DuplicateCustomIdError naming the lines."""
    first: dict[str, int] = {}
    duplicates: dict[str, list[int]] = {}
    scan = InputScan(ids=set())
    for number, line in iter_lines(path):
        cid = _id_of(_load(line), number)
        scan.lines += 1
        seen = first.setdefault(cid, number)
        if seen != number:
            duplicates.setdefault(cid, [seen]).append(number)
        elif cid not in done:
            scan.to_do += 1
    if duplicates:
        raise DuplicateCustomIdError(duplicates)
    scan.ids = set(first)
    return scan


def parse_line(line: bytes, number: int) -> Job | BadLine:
    """The request on one line, or the reason it cannot be sent."""
    obj = _load(line)
    if isinstance(obj, orjson.JSONDecodeError):
        return BadLine(number, f"line-{number}", "invalid_json", f"not valid JSON: {obj}")
    cid = _id_of(obj, number)
    if type(obj) is not dict:
        return BadLine(number, cid, "invalid_line", "a line must be a JSON object")
    if not any(key in obj for key in _BATCH_KEYS):
        return _plain(obj, number, cid)
    if "custom_id" not in obj:
        return BadLine(
            number,
            cid,
            "missing_custom_id",
            "a Batch API request needs a custom_id (a line with method, url or body is one)",
        )
    if type(obj["custom_id"]) is not str or not obj["custom_id"]:
        return BadLine(number, cid, "invalid_custom_id", "custom_id must be a non-empty string")
    method = obj.get("method", "POST")
    if method != "POST":
        return BadLine(number, cid, "invalid_method", f"unsupported method {method!r}: use POST")
    if "body" not in obj:
        return BadLine(number, cid, "missing_body", "the request has no body")
    body = obj["body"]
    if type(body) is not dict:
        return BadLine(number, cid, "invalid_body", "body must be a JSON object")
    url = obj.get("url")
    if url is None:
        return _plain(body, number, cid)
    path = PATHS.get(url) if type(url) is str else None
    if path is None:
        wanted = " or ".join(PATHS)
        return BadLine(number, cid, "invalid_url", f"unsupported url {url!r}: use {wanted}")
    return _checked(Job(number, cid, path, body))


def _plain(body: dict[str, Any], number: int, cid: str) -> Job | BadLine:
    """A bare request body: the endpoint follows from its fields."""
    if "messages" in body:
        return _checked(Job(number, cid, "/chat/completions", body))
    if "input" in body:
        return _checked(Job(number, cid, "/embeddings", body))
    return BadLine(
        number, cid, "invalid_body", "cannot tell the endpoint: a body needs messages or input"
    )


def _checked(job: Job) -> Job | BadLine:
    if job.body.get("stream"):
        return BadLine(
            job.line, job.custom_id, "invalid_body", "stream is not supported in a batch"
        )
    return job


def read_jobs(
    path: str | os.PathLike[str], skip: Container[str]
) -> Generator[Job | BadLine, None, None]:
    """Second pass: each line whose id is not in ``skip``, parsed and checked."""
    for number, line in iter_lines(path):
        item = parse_line(line, number)
        if item.custom_id not in skip:
            yield item
