"""The transport: the one module that imports aiohttp.

It owns the session and its ``TCPConnector`` (built from Limits, Timeout, the
TLS context and the proxy), sends bytes, and maps every aiohttp or socket
failure to rawgpt's tree in exactly one place (``_mapped``). Nothing
aiohttp-typed leaves this module, not even chained: the mapped error is raised
outside the handler, its cause named in its message (masked), because aiohttp's
errors carry the request and its repr shows the Authorization header.

A session belongs to one event loop and one process. When its loop ends (as
``asyncio.run`` ends it) the session is closed on that loop; a forked child
forgets the parent's session without touching it and builds its own.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import ssl
import weakref
from collections.abc import AsyncGenerator, Mapping
from typing import Any, NoReturn, cast

import aiohttp
from aiohttp.client_proto import ResponseHandler

from ._config import Limits, Timeout
from ._errors import APIConnectionError, APIResponseValidationError, APITimeoutError, mask
from ._net import Proxy


def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """Connect and read as separate socket limits; no pool-wait limit; optional total."""
    return aiohttp.ClientTimeout(
        total=timeout.total, connect=None, sock_connect=timeout.connect, sock_read=timeout.read
    )


def _mapped(exc: BaseException, secret: str | None, during: str) -> APIConnectionError:
    """The rawgpt error for an aiohttp/socket failure (the one mapping point).

    The caller raises it after its ``except`` block, so that neither ``__cause__`` nor
    ``__context__`` holds ``exc``: the repr of aiohttp's ClientResponseError shows the
    request headers, the key among them. Its type and (masked, one-line) text stay here.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(f"Connect timed out {during}")
    if isinstance(exc, asyncio.TimeoutError):  # sock_read, or the total deadline
        return APITimeoutError(f"Request timed out {during}: {type(exc).__name__}")
    if isinstance(exc, aiohttp.ClientSSLError) and (tls := _tls_error(exc, secret)) is not None:
        return tls
    detail = " ".join(mask(str(exc), secret).split()) or type(exc).__name__
    return APIConnectionError(f"Connection error {during}: {type(exc).__name__}: {detail}")


_MAPPED = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
_DEFAULT_CAP = Limits().max_response_bytes

# A peer that hangs up mid-handshake may do better next time; any other TLS failure will not.
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError)
_TLS_HINT = "pass ssl= a CA bundle path or an ssl.SSLContext, or set SSL_CERT_FILE"


def _basic(login: str, password: str | None) -> str:
    """A Proxy-Authorization value (aiohttp's own helpers for it differ by version)."""
    return "Basic " + base64.b64encode(f"{login}:{password or ''}".encode()).decode("ascii")


def _tls_error(exc: aiohttp.ClientSSLError, secret: str | None) -> APIConnectionError | None:
    """A certificate or handshake failure: an APIConnectionError saying so, not retried
    (None for a peer that hung up mid-handshake: mapped as any other connection error)."""
    where = f"{exc.host}:{exc.port}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert = exc.certificate_error
        reason = getattr(cert, "verify_message", None) or str(cert)
        text = f"TLS: certificate verify failed for {where}: {reason} (not retried; {_TLS_HINT})"
        return APIConnectionError(mask(text, secret), retryable=False)
    if isinstance(exc.os_error, _TRANSIENT_TLS):
        return None
    text = f"TLS handshake with {where} failed: {exc.os_error} (not retried)"
    return APIConnectionError(mask(text, secret), retryable=False)


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
            error = _mapped(exc, self._secret, "while reading the response body")
        except BaseException:  # cancelled, or past the cap: never left half read
            resp.close()
            raise
        raise error

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
            error = _mapped(exc, self._secret, "while reading the stream")
        raise error

    @property
    def secret(self) -> str | None:
        """The key the request went with: text built from this answer masks it."""
        return self._secret

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


async def _close_with_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Started on the session's loop, this generator is closed when that loop shuts down
    its async generators (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio do, before
    closing the loop): the session's sockets close there, while they still can."""
    try:
        yield
    finally:
        await session.close()


_live: weakref.WeakSet[Transport] = weakref.WeakSet()
_inherited: list[object] = []  # what forked children keep from their parent, untouched


def _after_fork_in_child() -> None:
    for transport in list(_live):
        transport._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _sockets(connector: aiohttp.BaseConnector | None) -> list[Any]:
    """The sockets of a connector's pooled and in-use connections (best effort: aiohttp
    keeps them in private attributes)."""
    protos: list[Any] = []
    for conns in getattr(connector, "_conns", {}).values():
        protos += [proto for proto, *_ in conns]
    protos += list(getattr(connector, "_acquired", ()))
    sockets = []
    for proto in protos:
        transport = getattr(proto, "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sockets.append(sock)
    return sockets


class Transport:
    """A lazily built aiohttp session bound to the loop that first uses it.

    The session's default headers are the ``defaults`` of the send that built
    it (the client's headers for its key, without any call's extras); a later
    send whose ``headers`` are that same dict object lets aiohttp copy them in C
    instead of merging a dict per request. Any other ``headers`` (another key,
    or extras) name every default header again, so they replace all of them.
    """

    def __init__(
        self,
        limits: Limits,
        timeout: Timeout,
        tls: ssl.SSLContext | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        self._limits = limits
        self._cap = limits.max_response_bytes
        self._timeout = client_timeout(timeout)
        self._tls = tls
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._defaults: Mapping[str, str] | None = None
        self._closer: AsyncGenerator[None, None] | None = None
        # With a proxy: what each request adds, and the session's own default headers.
        self._via: dict[str, Any] | None = None
        self._proxy_defaults: dict[str, str] = {}
        if proxy is not None:
            self._via = {"proxy": proxy.url}
            if proxy.login is not None:
                basic = {"Proxy-Authorization": _basic(proxy.login, proxy.password)}
                if proxy.tunnel:  # for the CONNECT only, never into the tunnel
                    self._via["proxy_headers"] = basic
                else:  # a plain http:// request goes to the proxy itself
                    self._proxy_defaults = basic
        _live.add(self)

    def _new_session(self, headers: Mapping[str, str]) -> aiohttp.ClientSession:
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections,
            limit_per_host=limits.max_connections_per_host,
            keepalive_timeout=limits.keepalive_expiry,
            ttl_dns_cache=300,
            ssl=True if self._tls is None else self._tls,  # True: aiohttp's verified default
        )
        _lazy_read_timer(connector)
        self._defaults = headers
        if self._via is not None:
            # aiohttp copies a session's default headers into what it sends the proxy
            # (CONNECT included): with a proxy, the key goes with each request instead.
            headers = self._proxy_defaults
            self._defaults = None
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers=headers,
            # An API key authenticates every call: no cookie is stored or sent back, and
            # the Set-Cookie fields OpenAI's edge adds to every answer are never parsed.
            cookie_jar=aiohttp.DummyCookieJar(),
            # The proxy was resolved when the client was built; .netrc plays no part.
            trust_env=False,
        )

    async def _current(self, headers: Mapping[str, str]) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop and not session.closed:
            return session
        if session is not None and self._loop is not loop:
            self._abandon(session)
        self._session = session = self._new_session(headers)
        self._loop = loop
        self._closer = closer = _close_with_loop(session)
        await closer.asend(None)
        return session

    def _abandon(self, session: aiohttp.ClientSession) -> None:
        """Drop a session built on another (usually finished) event loop."""
        self._closer = None  # a live loop's finalizer hook closes the session; a closed one's not
        if session.closed:
            return
        connector = session.connector
        session.detach()
        if connector is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(_close_connector(connector), self._loop)
        else:
            connector._close()  # its loop is gone: mark it closed without one

    def _forget(self) -> None:
        """In a forked child: drop the parent's session without using it or its loop.

        Nothing of it is closed through its loop (that loop's epoll set is shared with
        the parent), and it is kept from the garbage collector, whose warnings would go
        through that loop too. Each of its sockets' descriptors is pointed at /dev/null,
        so the child holds no copy of the parent's connections.
        """
        session, self._session, self._loop = self._session, None, None
        closer, self._closer = self._closer, None
        if session is None:
            return
        _inherited.append((session, closer))
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            return
        try:
            for sock in _sockets(session.connector):
                fd = sock.fileno()
                if fd >= 0:
                    os.dup2(null, fd)
        except (OSError, AttributeError, RuntimeError):
            pass  # best effort: an aiohttp that keeps its connections otherwise
        finally:
            os.close(null)

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
            session = await self._current(headers if defaults is None else defaults)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": client_timeout(timeout)}
        if params:
            extra["params"] = params
        if self._via is not None:
            extra.update(self._via)
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
            error = _mapped(exc, secret, "while sending the request")
        else:
            return RawResponse(resp, secret, self._cap)
        raise error

    async def close(self) -> None:
        """Close every connection. The transport can be used again afterwards."""
        session, self._session, self._closer = self._session, None, None
        if session is None or session.closed:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
        else:
            self._abandon(session)
        self._loop = None
