"""Real networks (issue 14): TLS trust, proxies, redirects, fork and event-loop changes.

Everything runs on loopback sockets: a TLS server with a CA made here by the openssl
CLI, a forward proxy that records what reaches it, and a MockServer.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import os
import signal
import ssl
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import rawgpt
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES, FakeSleep
from .netservers import Proxy, RawServer, make_ca, response
from .test_sync import server_thread  # noqa: F401  (a fixture)

PROXY_VARS = [
    f"{name}{suffix}" for name in ("http", "https", "all", "no") for suffix in ("_proxy", "_PROXY")
]
BODY = {"model": "m", "messages": MESSAGES}


def chain(exc: BaseException) -> str:
    """str and repr of an exception and of every one chained to it."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test without the runner's proxy or CA settings."""
    for name in [*PROXY_VARS, "SSL_CERT_FILE", "SSL_CERT_DIR"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server_tls(certs: tuple[Path, Path, Path]) -> ssl.SSLContext:
    _, cert, key = certs
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# -- TLS ---------------------------------------------------------------------------


async def test_an_untrusted_certificate_fails_once_and_says_so(
    server_tls: ssl.SSLContext, sleeps: FakeSleep
) -> None:
    async with (
        RawServer(tls=server_tls) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, sleep=sleeps) as c,
    ):
        with pytest.raises(rawgpt.APIConnectionError) as info:
            await c.post("/chat/completions", BODY)
    err = info.value
    assert "certificate verify failed" in str(err)
    assert srv.connections == 1 and sleeps.delays == []  # one attempt: never fixes itself
    assert KEY not in chain(err)


async def test_a_failed_tls_handshake_is_not_retried(sleeps: FakeSleep) -> None:
    connections = 0

    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"  # but no TLS there
    try:
        async with rawgpt.AsyncClient(api_key=KEY, base_url=url, sleep=sleeps) as c:
            with pytest.raises(rawgpt.APIConnectionError, match="TLS handshake") as info:
                await c.post("/chat/completions", BODY)
    finally:
        server.close()
        await server.wait_closed()
    assert info.value.retryable is False and KEY not in chain(info.value)
    assert connections == 1 and sleeps.delays == []


async def test_a_ca_bundle_path_or_a_context_is_trusted(
    server_tls: ssl.SSLContext, certs: tuple[Path, Path, Path]
) -> None:
    ca = certs[0]
    own = ssl.create_default_context(cafile=str(ca))
    async with RawServer(tls=server_tls) as srv:
        for option in (str(ca), ca, own):
            async with rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, ssl=option) as c:
                r = await c.post("/chat/completions", BODY)
                assert r.choices[0].message.content == "hi"
    assert srv.connections == 3


async def test_ssl_cert_file_is_read_when_the_client_is_built(
    server_tls: ssl.SSLContext, certs: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs[0]))  # after rawgpt (and aiohttp) imported
    async with (
        RawServer(tls=server_tls) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        r = await c.post("/chat/completions", BODY)
        assert r.choices[0].message.content == "hi"
        tls = c._transport._tls
        assert tls is not None and tls.verify_mode == ssl.CERT_REQUIRED
        system = ssl.get_default_verify_paths().openssl_cafile
        if os.path.isfile(system) and os.path.getsize(system):  # the variable adds trust
            assert len(tls.get_ca_certs()) > 1


def test_bad_ssl_options_are_refused_when_the_client_is_built(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ValueError, match=r"nope\.pem"):
        rawgpt.AsyncClient(api_key=KEY, ssl=str(missing))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"junk\.pem"):
        rawgpt.AsyncClient(api_key=KEY, ssl=junk)
    with pytest.raises(TypeError, match="verification"):
        rawgpt.AsyncClient(api_key=KEY, ssl=False)  # type: ignore[arg-type]


def test_the_blocking_client_and_the_cli_take_the_same_options(
    certs: tuple[Path, Path, Path],
) -> None:
    from rawgpt.cli import _parser

    with rawgpt.Client(api_key=KEY, ssl=str(certs[0]), proxy=False) as c:
        assert c._async._transport._proxy is None
    for command in (["chat", "x"], ["batch", "in.jsonl", "-o", "out.jsonl"]):
        args = _parser().parse_args([*command, "--ca-bundle", "ca.pem", "--proxy", "http://p:1"])
        assert args.ca_bundle == "ca.pem" and args.proxy == "http://p:1"


def test_the_cli_names_a_missing_ca_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rawgpt.cli import main

    missing = str(tmp_path / "corp-ca.pem")
    assert main(["chat", "hi", "--mock", "--ca-bundle", missing]) == 1
    assert f"no CA bundle at {missing!r}" in capsys.readouterr().err


# -- Proxies -----------------------------------------------------------------------


async def test_proxy_option_routes_through_the_proxy(server: MockServer) -> None:
    async with Proxy() as proxy:
        url = proxy.url.replace("://", "://me:s%40cret@")
        async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, proxy=url) as c:
            await c.post("/chat/completions", BODY)
            await c.post("/chat/completions", BODY, extra_headers={"x-a": "1"})
    targets = [line.split(" ")[1] for line, _ in proxy.seen]
    assert targets == [server.base_url + "/chat/completions"] * 2
    basic = "Basic " + base64.b64encode(b"me:s@cret").decode()
    assert [h["proxy-authorization"] for _, h in proxy.seen] == [basic, basic]


async def test_proxy_env_routes_no_proxy_bypasses_and_false_ignores(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
            await c.post("/chat/completions", BODY)
        assert len(proxy.seen) == 1
        async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, proxy=False) as c:
            await c.post("/chat/completions", BODY)
        assert len(proxy.seen) == 1
        monkeypatch.setenv("no_proxy", "example.com,127.0.0.1")
        async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
            await c.post("/chat/completions", BODY)
        assert len(proxy.seen) == 1


async def test_the_proxy_never_sees_the_key_of_a_tunnelled_call(
    server_tls: ssl.SSLContext, certs: tuple[Path, Path, Path]
) -> None:
    async with RawServer(tls=server_tls) as srv, Proxy() as proxy:
        url = proxy.url.replace("://", "://me:pw@")
        async with rawgpt.AsyncClient(
            api_key=KEY, base_url=srv.base_url, ssl=str(certs[0]), proxy=url
        ) as c:
            r = await c.post("/chat/completions", BODY)
            assert r.choices[0].message.content == "hi"
        ((line, headers),) = proxy.seen
        assert line.startswith(f"CONNECT localhost:{srv.port} ")
        assert "authorization" not in headers and KEY not in repr(proxy.seen)
        assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"me:pw").decode()
        ((_, received),) = srv.requests
        assert received["authorization"] == f"Bearer {KEY}"  # the server got it
        assert "proxy-authorization" not in received  # and not the proxy's credentials


async def test_proxy_credentials_stay_out_of_errors_and_reprs(sleeps: FakeSleep) -> None:
    url = "http://user:pr0xy-PASS@127.0.0.1:9"  # discard port: nothing listens
    async with rawgpt.AsyncClient(
        api_key=KEY, base_url="http://example.invalid/v1", proxy=url, max_retries=0
    ) as c:
        with pytest.raises(rawgpt.APIConnectionError) as info:
            await c.post("/chat/completions", BODY)
    text = chain(info.value) + repr(c) + repr(c._transport.__dict__)
    assert "pr0xy-PASS" not in text and KEY not in text
    with pytest.raises(ValueError, match="proxy") as bad:
        rawgpt.AsyncClient(api_key=KEY, proxy="socks5://user:pr0xy-PASS@h:1")
    assert "pr0xy-PASS" not in str(bad.value)


async def test_netrc_with_a_default_entry_and_a_proxy_env_does_not_break_calls(
    server: MockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    async with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
            r = await c.chat.completions.create(model="m", messages=MESSAGES)
            assert r.choices[0].message.content
        ((_, headers),) = proxy.seen
        assert headers["authorization"] == f"Bearer {KEY}"  # not the .netrc login


# -- Redirects ---------------------------------------------------------------------


async def test_a_redirect_is_not_followed_and_its_error_names_the_location(
    sleeps: FakeSleep,
) -> None:
    where = "https://elsewhere.example/v1/chat/completions"
    answer = response(307, b"", f"Location: {where}\r\n")
    async with (
        RawServer(answer) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, sleep=sleeps) as c,
    ):
        with pytest.raises(rawgpt.APIStatusError) as info:
            await c.post("/chat/completions", BODY)
    assert info.value.status_code == 307 and where in str(info.value)
    assert len(srv.requests) == 1 and sleeps.delays == []


# -- fork and event loops ----------------------------------------------------------


def _wait(pid: int, seconds: float) -> int:
    """The child's exit code; it is killed (and the test fails) if it outlives ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child was still running after {seconds} s")


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_blocking_client_used_before_fork_works_in_the_child(
    server_thread: MockServer,  # noqa: F811
) -> None:
    with rawgpt.Client(api_key=KEY, base_url=server_thread.base_url, timeout=5) as c:
        assert c.chat.completions.create(model="m", messages=MESSAGES).choices
        inherited = c._async._transport._session
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                r = c.chat.completions.create(model="m", messages=MESSAGES)
                fresh = c._async._transport._session is not inherited
                code = 0 if r.choices and fresh else 3
                c.close()
            finally:
                os._exit(code)
        assert _wait(pid, 15) == 0
        assert c.chat.completions.create(model="m", messages=MESSAGES).choices  # parent: fine


def test_an_async_client_across_event_loops_releases_each_loops_session(
    server_thread: MockServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    c = rawgpt.AsyncClient(api_key=KEY, base_url=server_thread.base_url)
    sockets: list[Any] = []

    async def call() -> None:
        await c.post("/chat/completions", BODY)
        session = c._transport._session
        assert session is not None and session.connector is not None
        for conns in session.connector._conns.values():
            sockets.extend(
                proto.transport.get_extra_info("socket") for proto, _ in conns if proto.transport
            )

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always")
        asyncio.run(call())
        asyncio.run(call())
        asyncio.run(c.close())
        gc.collect()
    assert len(sockets) == 2
    assert [s.fileno() for s in sockets] == [-1, -1]  # both loops' connections closed
    assert [str(w.message) for w in caught] == []
    assert "Unclosed" not in caplog.text
