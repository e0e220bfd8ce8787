"""The mock server as a network service (issue 14): its key, where it listens, body sizes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

import rawgpt
from rawgpt.cli import _parser
from rawgpt.cli import mock as mock_cli
from rawgpt.testing import MockServer

from .conftest import CHAT

RIGHT = "sk-right-0123456789abcdefWXYZ"
WRONG = "sk-wrong-9876543210zyxwvuABCD"


async def test_cli_api_key_lets_only_that_key_in(
    http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parser().parse_args(["mock-server", "--port", "0", "--api-key", RIGHT])
    task = asyncio.ensure_future(mock_cli.run(args))
    try:
        url = ""
        for _ in range(500):
            if match := re.search(r"http://\S+/v1", capsys.readouterr().out):
                url = match.group(0)
                break
            await asyncio.sleep(0.01)
        assert url, "the mock server never said where it listens"
        wrong = {"Authorization": f"Bearer {WRONG}"}
        async with http.post(url + "/chat/completions", json=CHAT, headers=wrong) as resp:
            assert resp.status == 401
            body = await resp.json()
        # OpenAI's shape, the key shown the way OpenAI shows it: never whole
        assert body == {
            "error": {
                "message": body["error"]["message"],
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        assert body["error"]["message"].startswith("Incorrect API key provided: sk-")
        assert WRONG not in str(body) and WRONG[3:-4] not in str(body)
        right = {"Authorization": f"Bearer {RIGHT}"}
        async with http.post(url + "/chat/completions", json=CHAT, headers=right) as resp:
            assert resp.status == 200
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_listening_beyond_loopback_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rawgpt")
    async with MockServer(host="0.0.0.0", api_key=RIGHT) as srv:
        assert srv.port
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name.startswith("rawgpt")
    text = warnings[0].getMessage()
    assert "0.0.0.0" in text and "loopback" in text and RIGHT not in text
    caplog.clear()
    async with MockServer(host="0.0.0.0") as srv:  # and any key gets in: say so
        pass
    assert "any key" in caplog.records[0].getMessage()


def test_cli_listening_beyond_loopback_warns_on_stderr() -> None:
    cmd = [sys.executable, "-m", "rawgpt", "mock-server", "--host", "0.0.0.0", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "rawgpt mock server on http://0.0.0.0:" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "listening on 0.0.0.0, not loopback" in err and "any key is let in" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
async def test_loopback_does_not_warn(host: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rawgpt")
    try:
        async with MockServer(host=host):
            pass
    except OSError:  # no IPv6 on this machine
        pytest.skip(f"cannot bind {host}")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# aiohttp's client warns on any bytes body over 1 MiB; it is sent all the same
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_request_bodies_of_32_mib_are_read(srv: MockServer) -> None:
    """OpenAI takes large bodies (images inline); aiohttp's server stops at 1 MiB."""
    big = "a" * (33 * 1024 * 1024)
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": big}]}
    async with rawgpt.AsyncClient(
        api_key=RIGHT, base_url=srv.base_url, max_retries=0, rate_limiter=False
    ) as c:
        r = await c.chat.completions.create(**body, max_tokens=5)
    assert r.choices[0].message.content
    assert srv.requests[-1].body["messages"][0]["content"] == big
