"""A bad key stops a batch at once (issue 14), and no file a batch writes holds the key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

import rawgpt
from rawgpt.batch import run_batch
from rawgpt.cli import main
from rawgpt.testing import MockServer

from .conftest import KEY, chat_line, records, write_lines


def lines(tmp_path: Path, n: int = 10) -> Path:
    return write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(n)])


@pytest.mark.parametrize("key", [KEY + "\n", KEY + "\r\n", "sk-\x1b-batch"])
def test_cli_batch_with_a_bad_key_stops_with_one_line(
    tmp_path: Path,
    key: str,
    mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    out = tmp_path / "out.jsonl"
    code = main(["batch", str(lines(tmp_path)), "-o", str(out), "--base-url", mock.base_url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("rawgpt: error: ") and "api_key" in err
    assert "Traceback" not in err and KEY not in err
    assert records(out) == [] and records(tmp_path / "out.errors.jsonl") == []
    assert mock.requests == []


def test_cli_chat_with_a_bad_key_from_the_environment(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
    assert main(["chat", "hi", "--base-url", mock.base_url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rawgpt: error: ") and "api_key" in err
    assert KEY not in err and mock.requests == []


def test_cli_batch_with_credentials_in_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    url = "http://user:hunter2@127.0.0.1:9/v1"
    assert (
        main(["batch", str(lines(tmp_path)), "-o", str(tmp_path / "o.jsonl"), "--base-url", url])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("rawgpt: error: ") and "base_url" in err and "hunter2" not in err


async def test_a_callable_key_gone_bad_is_fatal_not_per_line(
    tmp_path: Path, server: MockServer
) -> None:
    def key() -> str:
        return KEY + "\n"

    out = tmp_path / "out.jsonl"
    client = rawgpt.AsyncClient(api_key=key, base_url=server.base_url, max_retries=0)
    async with client:
        summary = await run_batch(lines(tmp_path, 50), out, client=client, concurrency=4)
    assert summary.fatal is not None and "api_key" in summary.fatal and KEY not in summary.fatal
    assert summary.exit_code == 1 and summary.failed == 0 and summary.remaining == 50
    assert records(out) == [] and records(tmp_path / "out.errors.jsonl") == []
    assert server.requests == []


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """Answers 200 with a page that quotes the Authorization header (no JSON)."""

    async def handle(request: web.BaseRequest) -> web.Response:
        return web.Response(text=f"proxy says: {request.headers.get('Authorization')}")

    runner = web.ServerRunner(web.Server(handle))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


async def test_the_errors_file_never_holds_the_key(tmp_path: Path, echo: str) -> None:
    out = tmp_path / "out.jsonl"
    summary = await run_batch(lines(tmp_path, 5), out, api_key=KEY, base_url=echo, max_retries=0)
    assert summary.failed == 5
    errors = (tmp_path / "out.errors.jsonl").read_bytes()
    assert b"invalid_response" in errors and b"sk-***" in errors
    assert KEY.encode() not in errors and KEY.encode() not in out.read_bytes()
