"""Keys and headers (issue 14): refused when they cannot travel, never shown when they do.

Every server here is real, on loopback: an aiohttp server made in the test that echoes
the Authorization header back in a 200 non-JSON body, in a non-JSON stream event and
in an error body, and a raw socket that answers with a reply aiohttp cannot parse.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

import rawgpt
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES

BAD_KEYS = [KEY + "\n", KEY + "\r\n", "sk-a\rb-0123456789", "sk-\x00-0123456789", "sk-\x7f-01234"]


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception chained to it (``__cause__`` and ``__context__``)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
    return iter(seen)


def assert_hidden(exc: BaseException, secret: str) -> None:
    """``secret`` is in no str, repr or traceback of ``exc`` or any exception chained to it."""
    for e in chain(exc):
        assert secret not in str(e), f"{type(e).__name__} str: {e}"
        assert secret not in repr(e), f"{type(e).__name__} repr: {e!r}"
        assert secret not in str(getattr(e, "args", "")), type(e).__name__
    assert secret not in "".join(traceback.format_exception(exc))


async def create(c: rawgpt.AsyncClient, **kw: Any) -> Any:
    return await c.chat.completions.create(model="m", messages=MESSAGES, **kw)


# ----------------------------------------------------------------- keys and headers


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_key_with_a_control_character_is_refused_at_build(bad: str) -> None:
    with pytest.raises(rawgpt.OpenAIError, match="api_key") as info:
        rawgpt.AsyncClient(api_key=bad, base_url="http://127.0.0.1:9/v1")
    assert isinstance(info.value, ValueError)
    assert_hidden(info.value, bad.strip())
    assert "\n" not in str(info.value)  # one line, for the command line


def test_a_key_from_the_environment_with_a_newline_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
    with pytest.raises(rawgpt.OpenAIError, match=r"api_key.*newline") as info:
        rawgpt.AsyncClient(base_url="http://127.0.0.1:9/v1")
    assert_hidden(info.value, KEY)
    with pytest.raises(rawgpt.OpenAIError, match="api_key"):
        rawgpt.Client(base_url="http://127.0.0.1:9/v1")  # the blocking twin too


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"organization": "org-1\n"}, "OpenAI-Organization"),
        ({"project": "proj\r\n1"}, "OpenAI-Project"),
        ({"default_headers": {"X-Trace": "a\nInjected: 1"}}, "X-Trace"),
        ({"default_headers": {"X-Bad\n": "v"}}, "X-Bad"),
        ({"default_headers": {"X-Num": 5}}, "X-Num"),
    ],
)
def test_a_header_with_a_control_character_is_refused_at_build(
    options: dict[str, Any], named: str
) -> None:
    with pytest.raises(rawgpt.OpenAIError, match=named) as info:
        rawgpt.AsyncClient(api_key=KEY, base_url="http://127.0.0.1:9/v1", **options)
    assert "Injected" not in str(info.value) and "org-1" not in str(info.value)


def test_a_tab_and_non_ascii_are_valid_header_characters() -> None:
    headers = {"X-Name": "caf\u00e9\u00a0\u2028x"}  # not printable to Python, fine for HTTP
    rawgpt.AsyncClient(
        api_key=KEY, base_url="http://127.0.0.1:9/v1", project="a\tb", default_headers=headers
    )


async def test_a_callable_key_is_checked_when_it_returns(server: MockServer) -> None:
    async def key() -> str:
        return KEY + "\n"

    async with rawgpt.AsyncClient(api_key=key, base_url=server.base_url, max_retries=0) as c:
        for _ in range(2):  # refused on every call, not just the first
            with pytest.raises(rawgpt.OpenAIError, match="api_key") as info:
                await create(c)
            assert_hidden(info.value, KEY)
        c.api_key = "sk-fine-0123456789"  # a good key later works
        assert (await create(c)).choices
        c.api_key = KEY + "\r"  # and an assigned bad one is refused before sending
        with pytest.raises(rawgpt.OpenAIError, match="api_key"):
            await create(c)
    assert len(server.requests) == 1


async def test_extra_headers_are_checked_before_sending(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    with pytest.raises(rawgpt.OpenAIError, match="X-Tenant") as info:
        await create(client, extra_headers={"X-Tenant": "t1\r\nX-Admin: yes"})
    assert "X-Admin" not in str(info.value)
    assert server.requests == []
    assert (await create(client, extra_headers={"X-Tenant": "t1"})).choices  # fine ones pass


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw-SECRET-1@127.0.0.1:9/v1",
        "https://:pw-SECRET-1@api.example.com/v1",
        "https://pw-SECRET-1@api.example.com/v1",
    ],
)
def test_credentials_in_base_url_are_refused(url: str) -> None:
    with pytest.raises(rawgpt.OpenAIError, match="base_url") as info:
        rawgpt.AsyncClient(api_key=KEY, base_url=url)
    assert isinstance(info.value, ValueError)
    assert_hidden(info.value, "pw-SECRET-1")


def test_a_bad_scheme_does_not_echo_credentials() -> None:
    url = "ftp://u:pw-SECRET-1@host/v1"
    with pytest.raises(ValueError, match="base_url") as info:
        rawgpt.AsyncClient(api_key=KEY, base_url=url)
    assert_hidden(info.value, "pw-SECRET-1")


# ----------------------------------------------------------------- a server that echoes


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """A server that puts the request's Authorization header wherever the path says."""

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        kind = request.path.split("/")[1]
        if kind == "plain":  # a 200 that is not JSON (a captive portal, a debug proxy)
            return web.Response(text=f"<html>you sent {auth}</html>", content_type="text/html")
        if kind == "edge":  # the key straddles the 200 characters a message quotes
            return web.Response(text="x" * 181 + auth, content_type="text/plain")
        if kind == "error":
            return web.Response(status=400, text=f"bad header: {auth}")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if kind == "event":  # a non-JSON stream event
            await resp.write(f"data: echo {auth}\n\n".encode())
        else:  # a non-JSON SSE error event
            await resp.write(f"event: error\ndata: denied {auth}\n\n".encode())
        await resp.write_eof()
        return resp

    server = web.Server(handle)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def failure(
    base: str, call: Callable[[rawgpt.AsyncClient], Awaitable[Any]]
) -> rawgpt.APIError:
    async with rawgpt.AsyncClient(api_key=KEY, base_url=base, max_retries=0) as c:
        with pytest.raises(rawgpt.APIError) as info:
            await call(c)
    return info.value


async def read_stream(c: rawgpt.AsyncClient) -> None:
    async with await create(c, stream=True) as stream:
        async for _ in stream:
            pass


@pytest.mark.parametrize("kind", ["plain", "edge"])
async def test_an_echoed_key_in_a_200_non_json_body_is_masked(echo: str, kind: str) -> None:
    err = await failure(f"{echo}/{kind}", create)
    assert isinstance(err, rawgpt.APIResponseValidationError)
    assert "sk-***" in str(err) or kind == "edge"
    assert_hidden(err, KEY)
    assert_hidden(err, KEY[:12])  # not even the part of it a truncated message would show


async def test_an_echoed_key_in_a_non_json_stream_event_is_masked(echo: str) -> None:
    err = await failure(f"{echo}/event", read_stream)
    assert isinstance(err, rawgpt.APIResponseValidationError) and "sk-***" in str(err)
    assert_hidden(err, KEY)


async def test_an_echoed_key_in_a_stream_error_event_is_masked(echo: str) -> None:
    err = await failure(f"{echo}/sse-error", read_stream)
    assert isinstance(err, rawgpt.APIStatusError) and "sk-***" in str(err)
    assert_hidden(err, KEY)
    assert KEY not in repr(err.body)


async def test_an_echoed_key_in_an_error_body_is_masked(echo: str) -> None:
    err = await failure(f"{echo}/error", create)
    assert isinstance(err, rawgpt.BadRequestError) and "sk-***" in str(err)
    assert_hidden(err, KEY)
    assert KEY not in repr(err.body)


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",  # aiohttp: ClientResponseError
        b"HTTZ/9 what\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{",  # cut: ClientPayloadError
    ],
)
async def test_a_malformed_reply_chains_no_error_that_shows_the_key(reply: bytes) -> None:
    """aiohttp's ClientResponseError repr carries the request headers, Authorization too."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        err = await failure(f"http://127.0.0.1:{port}/v1", create)
    finally:
        server.close()
        await server.wait_closed()
    assert isinstance(err, rawgpt.APIConnectionError)
    assert_hidden(err, KEY)
    assert "\n" not in str(err)
    assert err.__cause__ is None and err.__context__ is None


# ----------------------------------------------------------------- http:// to another host


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3:8000/v1", "http://api.example.com/v1", "http://[2001:db8::1]/v1"],
)
def test_a_key_over_plain_http_to_another_host_warns_once(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rawgpt")
    rawgpt.AsyncClient(api_key=KEY, base_url=url)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "rawgpt"
    text = warnings[0].getMessage()
    assert "http://" in text and "https://" in text and KEY not in text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://127.8.9.10/v1",
        "http://localhost:8000/v1",
        "http://LOCALHOST/v1",
        "http://[::1]:8000/v1",
        "https://api.example.com/v1",
        "https://10.1.2.3/v1",
    ],
)
def test_no_warning_for_loopback_or_https(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rawgpt")
    rawgpt.AsyncClient(api_key=KEY, base_url=url)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
