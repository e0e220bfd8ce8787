"""rawgpt bench end to end on loopback: the mock server and every client in processes of
their own, as the command runs them. These take seconds (real pacing), so they are few."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rawgpt.bench import Target, Workload, run, summarize
from rawgpt.bench.mockproc import MOCK_KEY, Pace, mock_server

ROOT = Path(__file__).resolve().parents[2]
KEY_ENV = "RAWGPT_BENCH_TEST_KEY"
SCHEMA = {"requests_ok", "requests_failed", "rate_limited", "requests_per_s",
          "output_tokens_per_s", "client_cpu_ms_per_request"}  # fmt: skip
FIGURES = ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms")


def _env() -> dict[str, str]:
    """This checkout first on the path, for the worker and mock processes."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture(autouse=True)
def checkout_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])


async def test_the_figures_match_the_servers_pace() -> None:
    """First token after 80 ms, then one every 10 ms, 50 tokens, 4 in flight."""
    workload = Workload(model="gpt-4o-mini", requests=8, concurrency=4, warmup=4, max_tokens=50)
    async with mock_server(Pace(80.0, 10.0, 50)) as url:
        runs = await run(["rawgpt"], Target(url, KEY_ENV, {KEY_ENV: MOCK_KEY}), workload)
    s = summarize(runs["rawgpt"])
    assert s.requests_ok == 8 and s.requests_failed == 0 and s.output_tokens == 8 * 50
    assert s.tokens_from == {"usage": 8}
    assert s.ttft_ms is not None and abs(s.ttft_ms.p50 - 80.0) <= 5.0, s.ttft_ms
    assert s.itl_ms is not None and abs(s.itl_ms.p50 - 10.0) <= 2.0, s.itl_ms
    assert s.e2e_ms is not None and abs(s.e2e_ms.p50 - 570.0) <= 0.05 * 570.0, s.e2e_ms
    assert s.client_cpu_ms_per_request > 0


async def test_clients_side_by_side_take_turns() -> None:
    pytest.importorskip("openai")
    workload = Workload(model="gpt-4o-mini", requests=4, concurrency=2, warmup=1, rounds=2,
                        max_tokens=5)  # fmt: skip
    turns: list[tuple[str, int]] = []

    def progress(client: str, round_: int, done: int, size: int) -> None:
        if done == 0:
            turns.append((client, round_))

    async with mock_server(Pace(5.0, 1.0, 5)) as url:
        target = Target(url, KEY_ENV, {KEY_ENV: MOCK_KEY})
        runs = await run(["rawgpt", "sdk"], target, workload, progress)
    assert turns == [("rawgpt", 0), ("sdk", 0), ("sdk", 1), ("rawgpt", 1)]
    for name in ("rawgpt", "sdk"):
        s = summarize(runs[name])
        assert s.requests_ok == 4 and s.output_tokens == 20 and s.ttft_ms is not None
        assert s.client_cpu_ms_per_request > 0
        assert sorted(r.index for r in runs[name].records) == [0, 1, 2, 3]
    assert not runs["sdk"].sees_retried_429 and runs["rawgpt"].sees_retried_429


def _bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rawgpt", "bench", *args],
        capture_output=True,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def test_the_command_runs_against_the_built_in_mock(tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "b.json", tmp_path / "b.csv"
    proc = _bench("--requests", "5", "--json", str(out_json), "--csv", str(out_csv))
    assert proc.returncode == 0, proc.stderr
    assert "client CPU per request (ms)" in proc.stdout and "5 / 0" in proc.stdout
    assert "built-in mock server" in proc.stderr and "5/5 done" in proc.stderr
    doc = json.loads(out_json.read_text())
    assert doc["workload"]["requests"] == 5 and doc["workload"]["stream"] is True
    client = doc["clients"]["rawgpt"]
    assert set(client) >= SCHEMA and client["requests_ok"] == 5
    for figure in FIGURES:
        assert set(client[figure]) == {"p50", "p90", "p99", "mean"}
        assert all(isinstance(v, float) for v in client[figure].values())
    assert "process_time" in doc["meta"]["client_cpu"]
    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and {r["client"] for r in rows} == {"rawgpt"}
    assert all(r["ok"] == "1" and int(r["output_tokens"]) == 50 for r in rows)
    assert sorted(int(r["index"]) for r in rows) == list(range(5))


def test_a_remote_host_without_a_terminal_or_yes_is_refused_before_any_request() -> None:
    env_key = "RAWGPT_BENCH_TEST_REMOTE_KEY"
    os.environ[env_key] = "sk-test-not-sent"
    try:
        proc = _bench("--base-url", "https://api.example.invalid/v1", "--api-key-env", env_key,
                      "--requests", "1000", timeout=30)  # fmt: skip
    finally:
        del os.environ[env_key]
    assert proc.returncode == 1
    assert "1008 requests to api.example.invalid" in proc.stderr  # 1000 + 8 warm-up
    assert "estimated cost at most $" in proc.stderr and "--yes" in proc.stderr
    assert "sk-test-not-sent" not in proc.stderr + proc.stdout
    assert proc.stdout == ""  # no table: nothing was measured


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clients", "rawgpt,nope"], "unknown client 'nope'"),
        (["--clients", "rawgpt,rawgpt"], "names a client twice"),
        (["--slo", "ttft=5"], "--slo"),
        (["--rate", "0"], "--rate must be > 0"),
        (["--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "RAWGPT_NO_SUCH_VAR"],
         "$RAWGPT_NO_SUCH_VAR is not set"),
        (["--json", "/no/such/dir/x.json"], "no such directory"),
        (["--base-url", "localhost:8000/v1", "--yes"], "must be an http:// or https:// URL"),
        (["--base-url", "https://u:p@example.com/v1", "--yes"], "carries credentials"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_any_request(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from rawgpt.cli import main

    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "rawgpt bench: error:" in err


def test_an_absent_sdk_or_matplotlib_is_named_before_any_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from rawgpt.cli import main

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name in ("openai", "matplotlib") else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(["bench", "--clients", "rawgpt,sdk"]) == 2
    assert "--clients sdk needs the openai package: pip install openai" in capsys.readouterr().err
    assert main(["bench", "--plot", "x.png"]) == 2
    assert "--plot needs matplotlib: pip install matplotlib" in capsys.readouterr().err


def test_import_rawgpt_does_not_import_the_benchmark() -> None:
    code = "import sys, rawgpt; print([m for m in sys.modules if m.startswith('rawgpt.bench')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
