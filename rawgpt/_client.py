"""AsyncClient: configuration, headers, resources, and the request loop of every call.

The hot path per call (``_request``): ``orjson.dumps`` the body, reuse the
per-client header dict, take a ticket from the rate limiter (``_admit`` when it
has to wait), send once, read the body once, parse once, wrap it in a view
(``_finish``; a stream: ``_open_stream``). A failed attempt asks the retry
policy how long to wait; when it says stop, ``_give_up`` records the call and
raises. Only this loop sleeps: the policy and the limiter just compute.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any

import orjson

from ._config import (
    DEFAULT_BASE_URL,
    Limits,
    Timeout,
    check_auth_header,
    check_header,
    check_headers,
    check_name,
    checked_base_url,
    checked_query,
    fingerprint,
)
from ._errors import (
    APIError,
    APIResponseValidationError,
    ConfigurationError,
    mask,
    snippet,
    status_error,
)
from ._net import ProxyOption, SSLOption, proxy_for, tls_context
from ._ratelimit import Limiter, RateLimiter, Ticket
from ._resources import AsyncChat, AsyncEmbeddings, AsyncResponses, Send
from ._retry import Retry
from ._streaming import AsyncStream, SSEStream
from ._transport import RawResponse, Transport
from ._usage import RequestEvent, Usage, event_from
from ._version import user_agent
from .types import Object, Response

ApiKey = str | Callable[[], str] | Callable[[], Awaitable[str]]

log = logging.getLogger("rawgpt")
# What a with_options() client hands the pool as session defaults: nothing (see _headers_for).
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class AsyncClient:
    """An async client for OpenAI's API (or any OpenAI-compatible server).

    Network options (read once, when the client is built):

    - ``ssl``: an ``ssl.SSLContext``, or the path of a CA bundle (a PEM file or a
      hashed directory) to trust instead of the system store. Default: the system
      store plus ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``. Verification cannot be turned
      off with it; a certificate that does not verify is an APIConnectionError with
      ``retryable`` False, never retried.
    - ``proxy``: a proxy URL (``http://user:pass@host:port``) for every request.
      Default None: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` for base_url's
      scheme unless ``NO_PROXY`` covers its host (``.netrc`` is never read); False:
      no proxy, whatever the environment says. The proxy never sees the API key of
      an https:// call (it only carries the tunnel).

    Per-call defaults:

    - ``default_query``: added to every request's URL (Azure's ``api-version``); a
      call's ``extra_query`` merges over it.
    - ``api_key_header``: the header that carries the key: ``Authorization`` (the
      default, as ``Bearer KEY``) or another name, such as Azure's ``api-key``, that
      carries the key as it is (then no Authorization header is sent, and
      ``OPENAI_API_KEY`` is not read: pass ``api_key=``).
    - ``with_options(...)``: a client with other per-call settings over the same
      connection pool, rate limiter and usage totals.
    """

    def __init__(
        self,
        *,
        api_key: ApiKey | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: Timeout | float | None = None,
        limits: Limits | None = None,
        max_retries: int | None = None,
        retry: Retry | None = None,
        rate_limiter: Limiter | bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str | int | float] | None = None,
        api_key_header: str = "Authorization",
        seed: int | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        ssl: SSLOption = None,
        proxy: ProxyOption = None,
    ) -> None:
        check_name("api_key_header", api_key_header)
        bearer = api_key_header.lower() == "authorization"
        key = api_key
        if key is None and bearer:  # OpenAI's key is for Authorization only
            key = os.environ.get("OPENAI_API_KEY")
        if key is None or key == "":
            raise ConfigurationError(
                "Missing API key: pass api_key=... to the client or set the "
                "OPENAI_API_KEY environment variable"
                if bearer
                else f"Missing API key: pass api_key=... (sent as the {api_key_header} "
                "header; OPENAI_API_KEY is not read for another header than Authorization)"
            )
        if isinstance(key, str):  # a callable's key is checked when it returns
            check_header("api_key", key)
        self.api_key: ApiKey = key
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = checked_base_url(url)
        self.organization = organization or os.environ.get("OPENAI_ORG_ID")
        self.project = project or os.environ.get("OPENAI_PROJECT_ID")
        self.timeout = Timeout.coerce(timeout)
        self.limits = limits or Limits()
        policy = retry or Retry()
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        self.retry: Retry = policy
        if rate_limiter is None or rate_limiter is True:
            rate_limiter = RateLimiter()
        self.rate_limiter: Limiter | None = rate_limiter or None  # False: no limiting
        self._rng = random.Random(seed)
        # Only the client waits between retries: ``sleep`` replaces asyncio.sleep there
        # (tests pass a fake that records the delays instead of waiting).
        self._sleep = sleep or asyncio.sleep
        self._proxy = (proxy, proxy_for(proxy, self.base_url))  # the option, and what it gave
        self._transport = Transport(self.limits, self.timeout, tls_context(ssl), self._proxy[1])
        # This client built the pool (the Transport) and closes it; clients from
        # with_options() share it and leave it open when they close.
        self._owns_pool = True
        # The rate limiter's scope: base_url, plus the account for a client from
        # with_options() that sends with other credentials (their limits are not ours).
        self._scope = self.base_url
        self._account = (self.api_key, self.organization, self.project)  # the pool owner's
        self._pool_timeout = self.timeout  # what the pool's session applies by itself
        static = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": user_agent(),
        }
        if self.organization:
            check_header("organization (the OpenAI-Organization header)", self.organization)
            static["OpenAI-Organization"] = self.organization
        if self.project:
            check_header("project (the OpenAI-Project header)", self.project)
            static["OpenAI-Project"] = self.project
        if default_headers:
            check_headers("default_headers", default_headers)
            static.update(default_headers)
        self._auth = (api_key_header, "Bearer " if bearer else "")  # name, value before the key
        check_auth_header(static, api_key_header)
        self._static_headers = static
        self._headers_key: str | None = None
        self._headers: dict[str, str] = {}
        # The session's default headers when this client opens the pool (see _headers_for).
        self._pool_headers: Mapping[str, str] = self._headers
        self._query = checked_query("default_query", default_query) or None
        self.usage = Usage(prices=prices)
        # A wrapper around the request loop (rawgpt.otel.instrument's); None: nothing.
        self._wrap: Callable[[Send], Send] | None = None
        self._bind()

    def _bind(self) -> None:
        """Build the resource namespaces over this client's send: the request loop itself
        for a plain client (nothing in between: the hot path); a thin coroutine adding
        the per-call defaults (with_options' timeout, default_query) when there are
        some; a tracer's wrapper (``rawgpt.otel``) over either."""
        send: Send = self._request
        # None when the pool's session applies this client's timeout by itself.
        self._call_timeout = None if self.timeout == self._pool_timeout else self.timeout
        if self._query is not None or self._call_timeout is not None:
            send = self._request_with_defaults
        if self._wrap is not None:
            send = self._wrap(send)
        self._send = send
        self.chat = AsyncChat(send)
        self.embeddings = AsyncEmbeddings(send)
        self.responses = AsyncResponses(send)

    async def _request_with_defaults(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: Timeout | float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """The request loop with this client's timeout (when the pool's session has
        another) and default_query (a call's extra_query merged over it)."""
        query = self._query
        if query is not None:
            if extra_query:
                checked_query("extra_query", extra_query)
                extra_query = {**query, **extra_query}
            else:
                extra_query = query
        if timeout is None:
            timeout = self._call_timeout
        return await self._request(path, body, timeout=timeout, extra_query=extra_query, **options)

    def wrap_send(self, wrap: Callable[[Send], Send] | None) -> None:
        """Put ``wrap(send)`` between every call of this client and its request loop, or
        take it away (None): the hook tracing uses (``rawgpt.otel``). ``send(path, body,
        **options)`` returns a Response view or an AsyncStream. Clients made by
        with_options() afterwards keep it."""
        self._wrap = wrap
        self._bind()

    def with_options(
        self,
        *,
        api_key: ApiKey | None = None,
        organization: str | None = None,
        project: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | None = None,
        retry: Retry | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str | int | float] | None = None,
        limits: None = None,
        ssl: None = None,
        proxy: None = None,
    ) -> AsyncClient:
        """A client with other per-call settings that shares this one's connection pool,
        rate limiter, usage totals and hooks (and its tracing, if instrumented).

        Options left out keep this client's values (as they are now: a later change to
        this client, ``api_key`` included, is not seen by the new one);
        ``default_headers`` and ``default_query`` merge over this client's;
        ``organization=""`` / ``project=""`` drop this client's. Options that would need
        another pool (``limits``, ``ssl``, ``proxy``) are refused: build a new client for
        them. This client owns the pool: closing the new one leaves it open (a no-op),
        closing this one closes it for both. A client with other credentials (key,
        organization or project) keeps its own rate-limit state in the shared limiter.
        """
        pool = [n for n, v in (("limits", limits), ("proxy", proxy), ("ssl", ssl)) if v is not None]
        if pool:
            raise ConfigurationError(
                f"with_options() cannot change {', '.join(pool)}: the new client shares "
                "this one's connection pool, which they configure; build a new client"
            )
        new = copy.copy(self)
        new._owns_pool = False
        new._pool_headers = _NO_HEADERS
        if api_key is not None:
            if api_key == "":
                raise ConfigurationError("with_options(api_key='') : the key is empty")
            if isinstance(api_key, str):
                check_header("api_key", api_key)
            new.api_key = api_key
        if base_url is not None:
            new.base_url = checked_base_url(base_url)
            option, via = self._proxy
            if proxy_for(option, new.base_url) != via:
                raise ConfigurationError(
                    f"with_options(base_url={new.base_url!r}) would go through another proxy "
                    "than this client's pool (the proxy setting or the environment's "
                    "NO_PROXY decide per host); build a new client"
                )
        if timeout is not None:
            new.timeout = Timeout.coerce(timeout)
        if retry is not None or max_retries is not None:
            policy = retry or self.retry
            if max_retries is not None:
                policy = policy.replace(max_retries=max_retries)
            new.retry = policy
        static = dict(self._static_headers)
        if organization is not None:
            static.pop("OpenAI-Organization", None)
            new.organization = organization or None
            if organization:
                check_header("organization (the OpenAI-Organization header)", organization)
                static["OpenAI-Organization"] = organization
        if project is not None:
            static.pop("OpenAI-Project", None)
            new.project = project or None
            if project:
                check_header("project (the OpenAI-Project header)", project)
                static["OpenAI-Project"] = project
        if default_headers:
            check_headers("default_headers", default_headers)
            static.update(default_headers)
            check_auth_header(static, self._auth[0])
        if static != self._static_headers:
            new._static_headers = static
            new._headers_key = None  # rebuilt on the first call
        if default_query:
            query = checked_query("default_query", default_query)
            new._query = {**(self._query or {}), **query}
        account = (new.api_key, new.organization, new.project)
        new._scope = new.base_url
        if account != self._account:
            new._scope += f" (account {fingerprint(account)})"
        new._bind()
        return new

    def add_hook(self, hook: Callable[[RequestEvent], None]) -> None:
        """Call ``hook(event)`` after every request (for metrics systems)."""
        self.usage.hooks.append(hook)

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    @property
    def rate_limits(self) -> dict[str, dict[str, Any]]:
        """What the rate limiter knows now, per (base_url, model): the limits learned from
        the headers, what remains, what waits and what is in flight ({} without a limiter)."""
        return {} if self.rate_limiter is None else self.rate_limiter.snapshot()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def _key(self) -> str:
        key = self.api_key
        if not isinstance(key, str):
            got = key()
            key = await got if isinstance(got, Awaitable) else got
            if not isinstance(key, str) or not key:
                raise ConfigurationError("the api_key callable must return a non-empty str")
        return key

    def _headers_for(self, key: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The headers for ``key``: rebuilt (and the key checked) only when the key changes;
        a call's extras are checked before they go anywhere."""
        if key != self._headers_key:
            check_header("api_key", key)  # a callable's or an assigned key, before sending
            name, prefix = self._auth
            self._headers = {**self._static_headers, name: prefix + key}
            self._headers_key = key
            if self._owns_pool:
                # The session takes the headers of the send that opens it as its defaults:
                # a later send passing that same dict lets aiohttp copy them (no merge).
                # A with_options() client passes none of its own: one of its extra
                # headers must not become a default of its parent's requests.
                self._pool_headers = self._headers
        if not extra:
            return self._headers
        check_headers("extra_headers", extra)
        return {**self._headers, **extra}

    async def _request(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        shape: type[Response],
        stream: bool = False,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        stream_class: type[SSEStream[Any]] = AsyncStream,
    ) -> Any:
        """POST ``body`` to ``path`` with retries; a Response view, or a ``stream_class``
        stream (an AsyncStream of chat chunks unless told)."""
        try:
            data = orjson.dumps(body)
        except TypeError as exc:
            raise TypeError(f"request body is not JSON-serializable: {exc}") from None
        base = self.base_url
        url = base + path if path.startswith("/") else f"{base}/{path}"
        key = self.api_key
        secret = key if type(key) is str else await self._key()
        headers = self._headers_for(secret, extra_headers)
        per_call = None if timeout is None else Timeout.coerce(timeout)
        limiter = self.rate_limiter
        start = time.monotonic()
        if limiter is not None:
            limit_key = (self._scope, body.get("model") or path)
            cost = limiter.cost(body)
        retries = limited = 0  # retries so far; attempts answered 429
        while True:
            ticket = None
            if limiter is not None:  # its errors (deadline, too large) are final, not retried
                ticket = limiter.try_acquire(limit_key, cost)
                if ticket is None:
                    data = _compact(data)
                    ticket = await self._admit(limiter, limit_key, cost, start, per_call)
            # Send once. Written out here, not a coroutine of its own: every suspension in the
            # transport's send would pass through one more coroutine frame (2,000 instructions
            # a request, measured). The ticket goes back to the limiter with what came back:
            # headers and status error, the connection error alone, or nothing if cancelled.
            failed: APIError | None = None
            answered: Mapping[str, str] | None = None
            try:
                try:
                    raw = await self._transport.send(
                        "POST",
                        url,
                        headers,
                        data,
                        timeout=per_call,
                        params=extra_query,
                        secret=secret,
                        defaults=self._pool_headers,
                    )
                    if raw.status >= 300:
                        content = await raw.read()
                        failed = status_error(raw.status, content, raw.headers, secret=secret)
                    answered = raw.headers
                except APIError as err:
                    failed = err
                    raise
                finally:
                    if ticket is not None:
                        limiter.release(ticket, answered, failed)  # type: ignore[union-attr]
                if failed is not None:
                    raise failed
                if stream and not raw.headers.get("content-type", "").startswith(
                    "application/json"
                ):
                    return self._open_stream(
                        raw, path, body, start, retries + 1, limited, secret, stream_class
                    )
                content = await raw.read()
            except APIError as error:
                delay = self.retry.next_delay(
                    retries, error, elapsed=time.monotonic() - start, rng=self._rng
                )
                status = getattr(error, "status_code", None)
                limited += status == 429
                _log(path, status, retries, start, secret, error, delay)
                if delay is None:
                    self._give_up(path, body, error, retries + 1, start, stream, limited)
                    raise
                data = _compact(data)
                await self._sleep(delay)
                retries += 1
                continue
            return self._finish(raw, content, path, body, shape, start, retries, limited, stream)

    async def _admit(
        self,
        limiter: Limiter,
        key: Hashable,
        cost: int,
        start: float,
        timeout: Timeout | None,
    ) -> Ticket:
        """Wait for the rate limiter's word, no later than the call's deadline."""
        total = (timeout or self.timeout).total
        most = self.retry.deadline
        limit = min(most, total) if most and total else (most or total)
        return await limiter.acquire(key, cost, deadline=start + limit if limit else None)

    def _give_up(
        self,
        path: str,
        body: Mapping[str, Any],
        error: APIError,
        attempts: int,
        start: float,
        stream: bool,
        limited: int,
    ) -> None:
        """Record a call that failed for good (the caller raises its error)."""
        self.usage.record(
            RequestEvent(
                path,
                _model(body),
                getattr(error, "status_code", None),
                attempts,
                time.monotonic() - start,
                request_id=getattr(error, "request_id", None),
                stream=stream,
                error=type(error).__name__,
                rate_limited=limited,
            )
        )

    def _finish(
        self,
        raw: RawResponse,
        content: bytes,
        path: str,
        body: Mapping[str, Any],
        shape: type[Response],
        start: float,
        retries: int,
        limited: int,
        stream: bool,
    ) -> Response:
        """A JSON answer: parsed once, counted in the usage, wrapped in its view."""
        debug = log.isEnabledFor(logging.DEBUG)
        if debug:
            _log(path, raw.status, retries, start, "")
        result = _parse(content, shape, raw, stream)
        self.usage.count(
            path,
            _model(body),
            result._d,
            raw.headers,
            raw.status,
            retries + 1,
            start,
            debug,
            limited,
        )
        return result

    def _open_stream(
        self,
        raw: RawResponse,
        path: str,
        body: Mapping[str, Any],
        start: float,
        attempts: int,
        limited: int,
        secret: str,
        stream_class: type[SSEStream[Any]],
    ) -> SSEStream[Any]:
        """An event-stream answer: the stream records the call in the usage when it ends."""
        _log(path, raw.status, attempts - 1, start, secret)
        on_end = functools.partial(
            self._stream_ended, path, _model(body), raw.headers, start, attempts, limited
        )
        return stream_class(
            raw, secret=secret, on_end=on_end, max_event_bytes=self.limits.max_event_bytes
        )

    def _stream_ended(
        self,
        path: str,
        model: str | None,
        headers: Mapping[str, str],
        start: float,
        attempts: int,
        limited: int,
        summary: Mapping[str, Any],
        first_chunk_at: float | None,
        error: BaseException | None,
    ) -> None:
        event = event_from(
            path,
            model,
            summary,
            headers,
            status=getattr(error, "status_code", 200),
            attempts=attempts,
            rate_limited=limited,
            latency=time.monotonic() - start,
            stream=True,
            ttft=None if first_chunk_at is None else first_chunk_at - start,
            error=None if error is None else type(error).__name__,
        )
        self.usage.record(event)

    async def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> Object:
        """POST a JSON body to ``path`` under base_url; the JSON answer as a view."""
        if body.get("stream"):
            raise ValueError(
                "post() reads JSON answers; stream with chat.completions.create() "
                "or responses.create()"
            )
        result: Object = await self._send(
            path,
            body,
            shape=Object,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        return result

    async def close(self) -> None:
        """Close every pooled connection (a client from with_options() leaves its
        parent's pool open: the parent owns it)."""
        if self._owns_pool:
            await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _compact(data: bytes) -> bytes:
    """The body for a call about to wait: orjson's result keeps a 4 KB buffer even for a
    small body, which 10,000 calls waiting on the rate limit would hold (40 MB)."""
    return bytes(memoryview(data)) if len(data) < 2048 else data


def _model(body: Mapping[str, Any]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) else None


def _log(
    path: str,
    status: int | None,
    retries: int,
    start: float,
    secret: str,
    err: APIError | None = None,
    delay: float | None = None,
) -> None:
    if not log.isEnabledFor(logging.DEBUG):
        return
    ms = (time.monotonic() - start) * 1000.0
    what = "" if err is None else f" {type(err).__name__}: {mask(str(err), secret)}"
    then = "" if delay is None or err is None else f"; retrying in {delay:.2f}s"
    log.debug(
        "POST %s attempt %d -> %s after %.1f ms%s%s", path, retries + 1, status, ms, what, then
    )


def _parse(content: bytes, shape: type[Response], raw: RawResponse, stream: bool) -> Response:
    try:
        obj = orjson.loads(content)
    except orjson.JSONDecodeError:  # its str and repr hold no part of the body
        text = snippet(content, raw.secret)
        raise APIResponseValidationError(
            f"response body is not valid JSON ({len(content)} bytes): {text!r}"
        ) from None
    if type(obj) is not dict:
        kind = type(obj).__name__
        raise APIResponseValidationError(f"response body is not a JSON object: {kind}")
    if stream:
        raise APIResponseValidationError("asked for a stream, got a JSON body")
    return shape(obj, None, raw.headers)
