"""``rawgpt batch`` as a process: killed (SIGKILL, SIGINT) part way and resumed.

The MockServer runs on a thread of this process so the test can count what
it received per custom_id (carried in each body's ``user`` field) while the
batch runs in a subprocess on real loopback sockets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
import redis

from rawgpt.batch.shard import in_shard
from rawgpt.cli import main
from rawgpt.testing import MockServer

from ..redis_server import RedisServer
from .conftest import KEY, chat_line, records, run_cli, sent, write_lines

BAD = [b"{not json", {"custom_id": "nobody", "url": "/v1/chat/completions"}, {"url": "/v1/x"}]
BAD_IDS = {"line-1", "nobody", "line-3"}


def batch_input(path: Path, n: int = 600) -> tuple[Path, set[str]]:
    """3 bad lines first, then ``n`` valid requests."""
    valid = [f"req-{i:04d}" for i in range(n)]
    return write_lines(path, BAD + [chat_line(cid, f"q{cid}") for cid in valid]), set(valid)


def start(inp: Path, out: Path, server: MockServer, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "rawgpt", "batch", str(inp), "--output", str(out)]
    cmd += ["--base-url", server.base_url, "--concurrency", "8", *extra]
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def whole_lines(path: Path) -> list[bytes]:
    data = path.read_bytes() if path.exists() else b""
    return data.splitlines()[: data.count(b"\n")]  # a torn last line does not count


def wait_for(out: Path, proc: subprocess.Popen[bytes], lines: int) -> None:
    deadline = time.monotonic() + 60
    while len(whole_lines(out)) < lines:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.02)


def check_end_state(out: Path, valid: set[str]) -> None:
    """Every line is JSON; every custom_id is in exactly one of the two files."""
    done, failed = records(out), records(out.with_name("out.errors.jsonl"))
    assert all(r["error"] is None and r["response"]["status_code"] == 200 for r in done)
    assert {r["custom_id"] for r in failed} == BAD_IDS
    every = Counter(r["custom_id"] for r in done + failed)
    assert set(every) == valid | BAD_IDS and set(every.values()) == {1}


def finished_ids(out: Path) -> set[str]:
    return {orjson.loads(line)["custom_id"] for line in whole_lines(out)}


def test_sigkill_then_resume(tmp_path: Path, mock: MockServer) -> None:
    inp, valid = batch_input(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    proc = start(inp, out, mock)
    wait_for(out, proc, 100)
    proc.kill()
    proc.communicate()
    finished = finished_ids(out)
    assert 100 <= len(finished) < 600
    rerun = start(inp, out, mock)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err  # the bad lines were recorded by the first run
    check_end_state(out, valid)
    counts = sent(mock)
    assert set(counts) == valid
    assert all(counts[cid] == 1 for cid in finished)  # nothing finished was sent again
    assert max(counts.values()) <= 2  # only what was in flight at the kill
    assert sum(counts.values()) - 600 <= 8

    mock.requests.clear()
    again = start(inp, out, mock)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0 and mock.requests == []
    assert b"nothing to do" in err


def test_sigint_waits_for_in_flight_and_resumes(tmp_path: Path, mock: MockServer) -> None:
    inp, valid = batch_input(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    proc = start(inp, out, mock)
    wait_for(out, proc, 100)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("rawgpt batch interrupted (SIGINT)") and "not done" in last
    assert len(finished_ids(out)) < 600
    rerun = start(inp, out, mock)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert b"rawgpt batch finished" in err and b"already done" in err
    check_end_state(out, valid)
    assert Counter(sent(mock).values()) == {1: 600}  # in-flight answers were kept: none resent


def test_sigterm_exit_status(tmp_path: Path, mock: MockServer) -> None:
    inp, _ = batch_input(tmp_path / "in.jsonl", 300)
    out = tmp_path / "out.jsonl"
    proc = start(inp, out, mock, "--concurrency", "2")
    wait_for(out, proc, 10)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and b"interrupted (SIGTERM)" in err


def test_cli_mock_prices_and_retry_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inp, _ = batch_input(tmp_path / "in.jsonl", 20)
    out, prices = tmp_path / "out.jsonl", tmp_path / "prices.json"
    prices.write_text('{"gpt-4o-mini": [1000000, 0]}')
    assert main(["batch", str(inp), "-o", str(out), "--mock", "--prices", str(prices)]) == 3
    err = capsys.readouterr().err
    assert "20 ok, 0 failed, 3 invalid" in err and "over the built-in price table of" in err
    tokens = sum(r["response"]["body"]["usage"]["prompt_tokens"] for r in records(out))
    assert f"estimated cost ~${tokens:.4f}" in err  # $1 per prompt token, as the file says
    assert main(["batch", str(inp), "-o", str(out), "--mock", "--retry-errors"]) == 3
    assert "3 invalid, 20 already done" in capsys.readouterr().err
    assert len(records(tmp_path / "out.errors.jsonl")) == 3


def test_cli_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dup = write_lines(tmp_path / "dup.jsonl", [chat_line("x"), chat_line("y"), chat_line("x")])
    out = str(tmp_path / "out.jsonl")
    assert run_cli([str(dup), "-o", out, "--base-url", "http://127.0.0.1:9/v1"], monkeypatch) == 2
    assert "duplicate custom_id" in capsys.readouterr().err and not Path(out).exists()
    assert run_cli([str(tmp_path / "missing.jsonl"), "-o", out, "--mock"], monkeypatch) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    bad_prices = tmp_path / "p.json"
    bad_prices.write_text('{"m": [1]}')
    assert run_cli([str(dup), "-o", out, "--mock", "--prices", str(bad_prices)], monkeypatch) == 2
    assert "the price of 'm'" in capsys.readouterr().err


def test_shards_split_one_input_and_share_a_redis_budget(
    tmp_path: Path,
    mock: MockServer,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inp, valid = batch_input(tmp_path / "in.jsonl", 200)
    namespace = f"shards-{time.monotonic_ns()}"
    seen: Counter[str] = Counter()
    for i in (1, 2):
        mine = {cid for cid in valid | BAD_IDS if in_shard(cid, (i, 2))}
        out = tmp_path / f"out-{i}.jsonl"
        args = [str(inp), "-o", str(out), "--base-url", mock.base_url, "--shard", f"{i}/2"]
        args += ["--redis-url", redis_server.url, "--redis-namespace", namespace, "--rpm", "60000"]
        assert run_cli(args, monkeypatch) == (3 if mine & BAD_IDS else 0)
        assert f"{len(mine - BAD_IDS)} ok" in capsys.readouterr().err
        got = finished_ids(out) | finished_ids(tmp_path / f"out-{i}.errors.jsonl")
        assert got == mine and 50 < len(mine) < 150  # this shard's half, no other's
        seen.update(got)
        assert run_cli(args, monkeypatch) == 0  # rerun: the shard's own lines are all done
        assert f"all {len(mine)} lines already have a result" in capsys.readouterr().err
    assert seen == Counter(valid | BAD_IDS)  # every line in exactly one shard
    assert sent(mock) == Counter(valid)  # each sent once, by its own shard
    keys = redis.Redis.from_url(redis_server.url).keys(f"{namespace}*")
    assert keys  # the two runs kept their budget in Redis


def test_shard_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inp, _ = batch_input(tmp_path / "in.jsonl", 3)
    for bad in ("3/2", "0/2", "1/0", "half"):
        with pytest.raises(SystemExit) as exit_:
            run_cli([str(inp), "-o", str(tmp_path / "o.jsonl"), "--shard", bad], monkeypatch)
        assert exit_.value.code == 2
        assert f"--shard must be I/N with 1 <= I <= N (as 1/4 ... 4/4), got {bad!r}" in (
            capsys.readouterr().err
        )
    assert not (tmp_path / "o.jsonl").exists()
    args = [str(inp), "-o", str(tmp_path / "o.jsonl"), "--shard", "1/2", "--mock"]
    run_cli(args, monkeypatch)
    assert "--shard 1/2 without --redis-url" in capsys.readouterr().err
