"""One API call: rate-limit admission, send, classify, retry. The client's hot path.

Per attempt: acquire a ticket from the rate limiter (if any), send, build the
status error for a non-2xx answer, release the ticket with the headers and
error, then either return (a parsed view or a stream) or ask the retry policy
how long to wait. Only this loop sleeps; the policy and limiter just compute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ._config import Timeout
from ._errors import APIError, APIResponseValidationError, mask, status_error
from ._models import Response
from ._streaming import AsyncStream
from ._usage import RequestEvent, event_from

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._ratelimit.state import Ticket

log = logging.getLogger("rawgpt")


async def request(
    client: AsyncClient,
    path: str,
    body: Mapping[str, Any],
    *,
    shape: type[Response],
    stream: bool = False,
    timeout: Timeout | float | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, Any] | None = None,
) -> Any:
    """POST ``body`` to ``path`` with retries; a Response view, or an AsyncStream."""
    try:
        data = orjson.dumps(body)
    except TypeError as exc:
        raise TypeError(f"request body is not JSON-serializable: {exc}") from None
    base = client.base_url
    url = base + path if path.startswith("/") else f"{base}/{path}"
    key = client.api_key
    secret = key if type(key) is str else await client._key()
    headers = client._headers_for(secret, extra_headers)
    defaults = client._headers  # this key's headers, no extras: the session's defaults
    per_call = None if timeout is None else Timeout.coerce(timeout)
    limiter = client.rate_limiter
    policy = client.retry
    start = time.monotonic()
    if limiter is not None:
        limit_key = (base, body.get("model") or path)
        cost = limiter.cost(body)
    retries = limited = 0  # retries so far; attempts answered 429
    while True:
        ticket: Ticket | None = None
        error: APIError | None = None
        if limiter is not None:  # its errors (deadline, too large) are final, not retried
            ticket = limiter.try_acquire(limit_key, cost)
            if ticket is None:
                data = _compact(data)
                deadline = _deadline(start, per_call or client.timeout, policy.deadline)
                ticket = await limiter.acquire(limit_key, cost, deadline=deadline)
                ticket.at = limiter.now()  # admission is measured from the send, not the grant
        try:
            raw = await client._transport.send(
                "POST",
                url,
                headers,
                data,
                timeout=per_call,
                params=extra_query,
                secret=secret,
                defaults=defaults,
            )
            if raw.status >= 300:
                error = status_error(raw.status, await raw.read(), raw.headers, secret=secret)
            if ticket is not None:
                limiter.release(ticket, raw.headers, error)  # type: ignore[union-attr]
            if error is None:
                if stream and not raw.headers.get("content-type", "").startswith(
                    "application/json"
                ):
                    _log(path, raw.status, retries, start, secret)
                    on_end = _stream_end(
                        client, path, body, raw.headers, start, retries + 1, limited
                    )
                    return AsyncStream(raw, secret=secret, on_end=on_end)
                content = await raw.read()
                break
        except APIError as err:
            error = err
        finally:
            if ticket is not None and not ticket.done:  # failed before an answer, or cancelled
                limiter.release(ticket, None, error)  # type: ignore[union-attr]
        delay = policy.next_delay(retries, error, elapsed=time.monotonic() - start, rng=client._rng)
        status = getattr(error, "status_code", None)
        limited += status == 429
        _log(path, status, retries, start, secret, error, delay)
        if delay is None:
            client.usage.record(
                RequestEvent(
                    path,
                    _model(body),
                    status,
                    retries + 1,
                    time.monotonic() - start,
                    request_id=getattr(error, "request_id", None),
                    stream=stream,
                    error=type(error).__name__,
                    rate_limited=limited,
                )
            )
            raise error
        data = _compact(data)
        await client._sleep(delay)
        retries += 1
    debug = log.isEnabledFor(logging.DEBUG)
    if debug:
        _log(path, raw.status, retries, start, secret)
    result = _parse(content, shape, raw.headers.get("x-request-id"), stream)
    client.usage.count(
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


def _deadline(start: float, timeout: Timeout, most: float | None) -> float | None:
    """When a call must be done by (its total timeout or the retry deadline): it bounds
    the call's rate-limit waits too."""
    total = timeout.total
    limit = min(most, total) if most and total else (most or total)
    return start + limit if limit else None


def _compact(data: bytes) -> bytes:
    """The body for a call about to wait: orjson's result keeps a 4 KB buffer even for a
    small body, which 10,000 calls waiting on the rate limit would hold (40 MB)."""
    return bytes(memoryview(data)) if len(data) < 2048 else data


def _model(body: Mapping[str, Any]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) else None


def _stream_end(
    client: AsyncClient,
    path: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    start: float,
    attempts: int,
    limited: int,
) -> Callable[[AsyncStream, BaseException | None], None]:
    """The callback that records a stream's event when it ends (or fails, or is closed)."""

    def on_end(stream: AsyncStream, error: BaseException | None) -> None:
        usage: Any = None
        finish: Any = None
        for chunk in reversed(stream._chunks):
            usage = usage or chunk.get("usage")
            choices = chunk.get("choices")
            if finish is None and choices and type(choices[0]) is dict:
                finish = choices[0].get("finish_reason")
            if usage and finish:
                break
        summary = {"usage": usage, "choices": [{"finish_reason": finish}]}
        first = stream.first_chunk_at
        event = event_from(
            path,
            _model(body),
            summary,
            headers,
            status=getattr(error, "status_code", 200),
            attempts=attempts,
            rate_limited=limited,
            latency=time.monotonic() - start,
            stream=True,
            ttft=None if first is None else first - start,
            error=None if error is None else type(error).__name__,
        )
        client.usage.record(event)

    return on_end


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


def _parse(content: bytes, shape: type[Response], request_id: str | None, stream: bool) -> Response:
    try:
        obj = orjson.loads(content)
    except orjson.JSONDecodeError:
        snippet = content[:200].decode("utf-8", "replace")
        raise APIResponseValidationError(
            f"response body is not valid JSON ({len(content)} bytes): {snippet!r}"
        ) from None
    if type(obj) is not dict:
        kind = type(obj).__name__
        raise APIResponseValidationError(f"response body is not a JSON object: {kind}")
    if stream:
        raise APIResponseValidationError("asked for a stream, got a JSON body")
    return shape(obj, request_id)
