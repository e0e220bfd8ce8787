"""The batch runner's pieces without a network: input parsing, result files, summary."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

import rawgpt
from rawgpt.batch import DuplicateCustomIdError
from rawgpt.batch.input import BadLine, Job, parse_line, read_jobs, scan_input
from rawgpt.batch.io import (
    Appender,
    default_errors_path,
    read_results,
    repair_tail,
    rewrite_without,
)
from rawgpt.batch.progress import BatchSummary, Progress, summary_lines
from rawgpt.batch.records import LINE_START, bad_input, failure, not_ours, success
from rawgpt.types import Response

REC = b'{"id":"batch_req_1","custom_id":"%s","response":null,"error":{"code":"c","message":"m"}'
REC += b',"line":1}\n'  # an errors-file line


def test_default_errors_path() -> None:
    assert default_errors_path("out/results.jsonl") == Path("out/results.errors.jsonl")
    assert default_errors_path("results.txt") == Path("results.txt.errors.jsonl")


def test_parse_line_kinds() -> None:
    chat = {"model": "m", "messages": []}
    job = parse_line(
        orjson.dumps({"custom_id": "a", "url": "/v1/chat/completions", "body": chat}), 4
    )
    assert job == Job(4, "a", "/chat/completions", chat)
    assert parse_line(orjson.dumps({"model": "m", "input": "x"}), 2) == Job(
        2, "line-2", "/embeddings", {"model": "m", "input": "x"}
    )
    unnamed = parse_line(orjson.dumps({"body": {"model": "m", "input": "x"}}), 2)
    assert isinstance(unnamed, BadLine) and unnamed.code == "missing_custom_id"
    bad = parse_line(b"\xff\xfe", 9)
    assert isinstance(bad, BadLine) and (bad.custom_id, bad.code) == ("line-9", "invalid_json")
    url = parse_line(orjson.dumps({"custom_id": "u", "url": 5, "body": chat}), 1)
    assert isinstance(url, BadLine) and url.code == "invalid_url" and url.custom_id == "u"


def test_scan_and_read_skip_done(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b'{"custom_id":"a","body":{"input":"x"}}\n\n  \nnope\n{"input":"y"}\n')
    scan = scan_input(inp, {"a"})
    assert (scan.lines, scan.to_do, scan.ids) == (3, 2, {"a", "line-4", "line-5"})
    assert [item.custom_id for item in read_jobs(inp, {"line-4"})] == ["a", "line-5"]
    inp.write_bytes(b'{"input":"x"}\n{"custom_id":"line-1","input":"y"}\n')
    with pytest.raises(DuplicateCustomIdError, match="'line-1' on lines 1, 2"):
        scan_input(inp, set())


@pytest.mark.parametrize(
    ("content", "after", "note"),
    [
        (None, None, None),
        (b"", b"", None),
        (REC % b"a", REC % b"a", None),
        (REC % b"a" + b'{"id":"batch_req_2","cus', REC % b"a", "torn last line (24 bytes)"),
        (b'{"id":"batch_', b"", "torn last line (13 bytes)"),
        (REC % b"a" + (REC % b"b")[:-1], REC % b"a" + REC % b"b", "missing newline"),
        (REC % b"a" + b"\x00" * 70_000, REC % b"a", "torn last line (70000 bytes)"),
    ],
)
def test_repair_tail(tmp_path: Path, content: bytes | None, after: bytes, note: str | None) -> None:
    path = tmp_path / "out.jsonl"
    if content is not None:
        path.write_bytes(content)
    said = repair_tail(read_results(path, errors=True))
    assert (said is None) if note is None else (note in (said or ""))
    assert (path.read_bytes() if path.exists() else None) == after


def test_read_results_and_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "errors.jsonl"
    path.write_bytes(REC % b"a" + REC % b"b" + REC % b"c")
    assert read_results(path, errors=True).ids == {"a", "b", "c"}
    assert rewrite_without(path, {"b"}) == 1
    assert path.read_bytes() == REC % b"a" + REC % b"c"
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone
    assert read_results(tmp_path / "missing.jsonl", errors=True).ids == set()


def test_appender_writes_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(REC % b"old")
    out = Appender(path, fsync_interval=0.0)
    out.write({"custom_id": "x", "text": "é" * 100_000})
    out.write({"custom_id": "y"})
    out.close()
    out.close()
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(line)["custom_id"] for line in lines] == ["old", "x", "y"]
    assert out.lines == 2


def test_summary_exit_codes_and_text() -> None:
    s = BatchSummary(lines=10, to_do=8, skipped=2, succeeded=8, prices="a table")
    assert s.exit_code == 0 and s.remaining == 0
    s.failed, s.succeeded = 1, 7
    assert s.exit_code == 3
    assert "rerun with --retry-errors" in summary_lines(s, "o", "e")[-1]
    s.stopped = "SIGTERM"
    assert s.exit_code == 143
    s.fatal = "Error code: 401"
    assert s.exit_code == 1
    assert summary_lines(s, "o", "e")[0].startswith("rawgpt batch stopped by an error")
    done = BatchSummary(lines=5, skipped=5)
    assert summary_lines(done, "o", "e") == [
        "rawgpt batch: nothing to do: all 5 lines already have a result in o or e"
    ]


def test_progress_line_counts() -> None:
    s = BatchSummary(to_do=100, succeeded=40, failed=2, in_flight=8, rate_limited=3)
    line = Progress(s, io.StringIO(), interval=1.0).line()
    assert line.startswith("batch: 42/100 done (2 failed, 0 invalid), 8 in flight, ")
    assert "3 429s" in line and "ETA" in line


def test_what_rawgpt_writes_is_what_it_recognises() -> None:
    job = Job(3, "a", "/chat/completions", {})
    written = {
        "output": [success(job, Response({"object": "chat.completion"}, "req_1"))],
        "errors": [
            failure(job, rawgpt.APIConnectionError("reset")),  # no HTTP answer: response null
            failure(job, rawgpt.APIStatusError("boom", status_code=500, body="oops")),
            bad_input(BadLine(3, "line-3", "invalid_json", "not valid JSON")),
        ],
    }
    for kind, lines in written.items():
        for record in lines:
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
            assert line.startswith(LINE_START)  # a torn line is recognised by this start
            parsed = orjson.loads(line)
            assert not_ours(parsed, errors=kind == "errors") is None
            assert not_ours(parsed, errors=kind == "output") is not None  # not the other file's
    ok = orjson.loads(orjson.dumps(written["errors"][0]))
    near_misses = {
        "not a JSON object": [ok],
        "its keys are not": {**ok, "extra": 1},
        "id is not a batch_req_": {**ok, "id": "req_1"},
        "custom_id is not": {**ok, "custom_id": ""},
        "response is not": {
            **ok,
            "response": {"status_code": "500", "request_id": None, "body": 1},
        },
        "error is not {code": {**ok, "error": {"code": "c"}},
        "line is not a line number": {**ok, "line": 0},
    }
    for reason, obj in near_misses.items():
        assert reason in (not_ours(obj, errors=True) or ""), obj
