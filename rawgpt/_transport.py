"""The transport: the one module that imports aiohttp.

It owns the session and its ``TCPConnector`` (built from Limits and Timeout),
sends bytes, and maps every aiohttp or socket failure to rawgpt's tree in
exactly one place (``_mapped``). Nothing aiohttp-typed leaves this module.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Mapping
from typing import Any, NoReturn, cast

import aiohttp
from aiohttp.client_proto import ResponseHandler

from ._config import Limits, Timeout
from ._errors import APIConnectionError, APIResponseValidationError, APITimeoutError, mask

_PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """Connect and read as separate socket limits; no pool-wait limit; optional total."""
    return aiohttp.ClientTimeout(
        total=timeout.total, connect=None, sock_connect=timeout.connect, sock_read=timeout.read
    )


def _raise_mapped(exc: BaseException, secret: str | None, during: str) -> NoReturn:
    """Raise the rawgpt error for an aiohttp/socket failure (the one mapping point)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        raise APITimeoutError(f"Connect timed out {during}") from exc
    if isinstance(exc, asyncio.TimeoutError):  # sock_read, or the total deadline
        raise APITimeoutError(f"Request timed out {during}: {type(exc).__name__}") from exc
    detail = mask(str(exc), secret) or type(exc).__name__
    raise APIConnectionError(f"Connection error {during}: {type(exc).__name__}: {detail}") from exc


_MAPPED = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
_DEFAULT_CAP = Limits().max_response_bytes


class LazyReadTimer(ResponseHandler):
    """aiohttp's connection protocol with a lazy read timeout (``sock_read``).

    aiohttp cancels the read timer and builds a new one on every read; with
    thousands of requests a second that churn cost more CPU than the rest of
    rawgpt's request path. Here a read only notes the time, and the one timer,
    when it fires, re-arms itself for the rest of the idle gap or times out: the
    same deadline (the idle gap since the last read), one timer per gap.
    """

    _read_at = 0.0
    _read_due = 0.0  # when the timer out is due

    def _reschedule_timeout(self) -> None:
        timeout = self._read_timeout
        if not timeout:
            self._drop_timeout()
            return
        self._read_at = now = self._loop.time()
        due = now + timeout
        handle = self._read_timeout_handle
        if handle is None or self._read_due > due:  # none out, or a longer timeout's
            if handle is not None:
                handle.cancel()
            self._read_due = due
            self._read_timeout_handle = self._loop.call_at(due, self._read_timer)

    def _read_timer(self) -> None:
        self._read_timeout_handle = None
        timeout = self._read_timeout
        if not timeout:
            return
        due = self._read_at + timeout
        if due - self._loop.time() > 0.001:  # a read came since: wait for the rest of the gap
            self._read_due = due
            self._read_timeout_handle = self._loop.call_at(due, self._read_timer)
        else:
            self._on_read_timeout()


def _lazy_read_timer(connector: aiohttp.TCPConnector) -> None:
    """Build the connector's connections with LazyReadTimer (when this aiohttp allows)."""
    factory = getattr(connector, "_factory", None)
    hooks = ("_reschedule_timeout", "_drop_timeout", "_on_read_timeout", "start_timeout")
    if not all(hasattr(ResponseHandler, name) for name in hooks):
        return  # an aiohttp whose protocol works otherwise: keep its own timer
    if isinstance(factory, functools.partial) and factory.func is ResponseHandler:
        lazy = functools.partial(LazyReadTimer, *factory.args, **factory.keywords)
        connector._factory = cast("functools.partial[ResponseHandler]", lazy)


class RawResponse:
    """A received response: status, headers, and the body read once or in chunks."""

    __slots__ = ("_cap", "_resp", "_secret", "headers", "status")

    def __init__(
        self, resp: aiohttp.ClientResponse, secret: str | None, cap: int = _DEFAULT_CAP
    ) -> None:
        self._resp = resp
        self._secret = secret
        self._cap = cap  # Limits.max_response_bytes
        self.status: int = resp.status
        self.headers: Mapping[str, str] = resp.headers

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool (or is closed on error).

        At most ``max_response_bytes`` after decompression: a Content-Length above
        it fails before the body is read, a longer body once the cap is passed.
        """
        resp = self._resp
        headers = self.headers
        length = headers.get("Content-Length")
        try:
            if length is not None:
                if int(length) > self._cap:
                    self._too_large(f"response body of {length} bytes (its Content-Length)")
                if "Content-Encoding" not in headers:  # exactly length bytes: read whole
                    return await resp.read()
            return await self._read_capped()
        except _MAPPED as exc:
            resp.close()
            _raise_mapped(exc, self._secret, "while reading the response body")
        except BaseException:  # cancelled, or past the cap: never left half read
            resp.close()
            raise

    async def _read_capped(self) -> bytes:
        """The body in pieces as they arrive (decompressed), counted against the cap."""
        cap = self._cap
        content = self._resp.content
        pieces: list[bytes] = []
        total = 0
        while piece := await content.readany():
            total += len(piece)
            if total > cap:
                self._too_large("response body (counted after decompression)")
            pieces.append(piece)
        self._resp.release()
        return b"".join(pieces)

    def _too_large(self, what: str) -> NoReturn:
        self._resp.close()  # the rest is never read: the connection cannot be reused
        raise APIResponseValidationError(
            f"{what} is larger than max_response_bytes ({self._cap} bytes); "
            "raise rawgpt.Limits(max_response_bytes=...) to accept it"
        )

    async def next_chunk(self) -> bytes:
        """Whatever bytes have arrived (waiting up to the read timeout); b"" at the end."""
        try:
            return await self._resp.content.readany()
        except _MAPPED as exc:
            self._resp.close()
            _raise_mapped(exc, self._secret, "while reading the stream")

    def at_eof(self) -> bool:
        return self._resp.content.at_eof()

    def release(self) -> None:
        """Return the connection to the pool (the body must have been read to the end)."""
        self._resp.release()

    def close(self) -> None:
        """Drop the connection: for a response abandoned before its end."""
        self._resp.close()


async def _close_connector(connector: aiohttp.BaseConnector) -> None:
    await connector.close()


class Transport:
    """A lazily built aiohttp session bound to the loop that first uses it.

    The session's default headers are the ``defaults`` of the send that built
    it (the client's headers for its key, without any call's extras); a later
    send whose ``headers`` are that same dict object lets aiohttp copy them in C
    instead of merging a dict per request. Any other ``headers`` (another key,
    or extras) name every default header again, so they replace all of them.
    """

    def __init__(self, limits: Limits, timeout: Timeout) -> None:
        self._limits = limits
        self._cap = limits.max_response_bytes
        self._timeout = client_timeout(timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._defaults: Mapping[str, str] | None = None

    def _new_session(self, headers: Mapping[str, str]) -> aiohttp.ClientSession:
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections,
            limit_per_host=limits.max_connections_per_host,
            keepalive_timeout=limits.keepalive_expiry,
            ttl_dns_cache=300,
        )
        _lazy_read_timer(connector)
        self._defaults = headers
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers=headers,
            # An API key authenticates every call: no cookie is stored or sent back, and
            # the Set-Cookie fields OpenAI's edge adds to every answer are never parsed.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Proxy variables are read per request when trusted: only pay for it when set.
            trust_env=any(v in os.environ for v in _PROXY_VARS),
        )

    def _current(self, headers: Mapping[str, str]) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop and not session.closed:
            return session
        if session is not None and self._loop is not loop:
            self._abandon(session)
        self._session = session = self._new_session(headers)
        self._loop = loop
        return session

    def _abandon(self, session: aiohttp.ClientSession) -> None:
        """Drop a session built on another (usually finished) event loop."""
        connector = session.connector
        session.detach()
        if connector is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(_close_connector(connector), self._loop)
        else:
            connector._close()  # its loop is gone: mark it closed without one

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        timeout: Timeout | None = None,
        params: Mapping[str, Any] | None = None,
        secret: str | None = None,
        defaults: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """Send one request and return once the response headers are in."""
        session = self._session
        if session is None or session.closed or self._loop is not asyncio.get_running_loop():
            session = self._current(headers if defaults is None else defaults)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": client_timeout(timeout)}
        if params:
            extra["params"] = params
        try:
            resp = await session.request(
                method,
                url,
                data=body,
                headers=None if headers is self._defaults else headers,
                allow_redirects=False,
                **extra,
            )
        except _MAPPED as exc:
            _raise_mapped(exc, secret, "while sending the request")
        return RawResponse(resp, secret, self._cap)

    async def close(self) -> None:
        """Close every connection. The transport can be used again afterwards."""
        session, self._session = self._session, None
        if session is None or session.closed:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
        else:
            self._abandon(session)
        self._loop = None
