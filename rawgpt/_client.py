"""AsyncClient: configuration, headers, the request/retry loop, and resources.

The hot path per call: build the body dict from the keywords, ``orjson.dumps``
it, reuse the per-client header dict, send, read the body once, parse once,
wrap it in a view.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

from . import _schema
from ._config import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, Limits, Timeout
from ._errors import OpenAIError
from ._models import Response
from ._ratelimit.limiter import RateLimiter
from ._request import request
from ._resources import AsyncChat, AsyncEmbeddings
from ._retry import Retry
from ._transport import Transport
from ._usage import RequestEvent, Usage
from ._version import user_agent

ApiKey = str | Callable[[], str] | Callable[[], Awaitable[str]]

log = logging.getLogger("rawgpt")


class AsyncClient:
    """An async client for OpenAI's API (or any OpenAI-compatible server)."""

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
        rate_limiter: RateLimiter | bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        seed: int | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if key is None or key == "":
            raise OpenAIError(
                "Missing API key: pass api_key=... to the client or set the "
                "OPENAI_API_KEY environment variable"
            )
        self.api_key: ApiKey = key
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
        self.base_url = url.rstrip("/")
        self.organization = organization or os.environ.get("OPENAI_ORG_ID")
        self.project = project or os.environ.get("OPENAI_PROJECT_ID")
        self.timeout = Timeout.coerce(timeout)
        self.limits = limits or Limits()
        policy = retry or Retry()
        if max_retries is not None:
            policy = Retry(
                max_retries=max_retries,
                initial_delay=policy.initial_delay,
                max_delay=policy.max_delay,
                deadline=policy.deadline,
                max_retry_after=policy.max_retry_after,
                retry_after_jitter=policy.retry_after_jitter,
            )
        elif retry is None:
            policy = Retry(max_retries=DEFAULT_MAX_RETRIES)
        self.retry = policy
        if rate_limiter is None or rate_limiter is True:
            rate_limiter = RateLimiter()
        self.rate_limiter: RateLimiter | None = rate_limiter or None  # False: no limiting
        self._rng = random.Random(seed)
        # Only the client waits between retries: ``sleep`` replaces asyncio.sleep there
        # (tests pass a fake that records the delays instead of waiting).
        self._sleep = sleep or asyncio.sleep
        self._transport = Transport(self.limits, self.timeout)
        static = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": user_agent(),
        }
        if self.organization:
            static["OpenAI-Organization"] = self.organization
        if self.project:
            static["OpenAI-Project"] = self.project
        static.update(default_headers or {})
        self._static_headers = static
        self._headers_key: str | None = None
        self._headers: dict[str, str] = {}
        self.usage = Usage(prices=prices)
        self.chat = AsyncChat(self)
        self.embeddings = AsyncEmbeddings(self)

    def add_hook(self, hook: Callable[[RequestEvent], None]) -> None:
        """Call ``hook(event)`` after every request (for metrics systems)."""
        self.usage.hooks.append(hook)

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def _key(self) -> str:
        key = self.api_key
        if not isinstance(key, str):
            got = key()
            key = await got if isinstance(got, Awaitable) else got
            if not isinstance(key, str) or not key:
                raise OpenAIError("the api_key callable must return a non-empty str")
        return key

    def _headers_for(self, key: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        if key != self._headers_key:
            self._headers = {**self._static_headers, "Authorization": f"Bearer {key}"}
            self._headers_key = key
        return self._headers if not extra else {**self._headers, **extra}

    async def _request(self, path: str, body: Mapping[str, Any], **options: Any) -> Any:
        return await request(self, path, body, **options)

    async def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> Response:
        """POST a JSON body to ``path`` under base_url; the JSON answer as a view."""
        if body.get("stream"):
            raise ValueError("post() reads JSON answers; stream with chat.completions.create()")
        result: Response = await self._request(
            path,
            body,
            shape=_schema.OPEN,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        return result

    async def close(self) -> None:
        """Close every pooled connection."""
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
