"""rawgpt: a fast, dependency-light client for OpenAI's chat completions API.

Drop-in for the official SDK's async surface (``import rawgpt as openai``),
built on a hand-tuned aiohttp session and orjson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import AsyncClient
from ._config import Limits, Timeout
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OpenAIError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
)
from ._ratelimit import RateLimiter
from ._resources import NOT_GIVEN, NotGiven
from ._retry import Retry
from ._streaming import AsyncStream
from ._usage import ModelUsage, RequestEvent, Usage
from .types import ListView, Response, View

if TYPE_CHECKING:
    from ._ratelimit.redis import RedisRateLimiter
    from ._streaming import AsyncResponseStream
    from ._sync import Client, OpenAI, ResponseStream, Stream

AsyncOpenAI = AsyncClient

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncOpenAI",
    "AsyncResponseStream",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "InternalServerError",
    "Limits",
    "ListView",
    "ModelUsage",
    "NotFoundError",
    "NotGiven",
    "OpenAI",
    "OpenAIError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiter",
    "RedisRateLimiter",
    "RequestEvent",
    "RequestTooLargeError",
    "Response",
    "ResponseStream",
    "Retry",
    "Stream",
    "Timeout",
    "UnprocessableEntityError",
    "Usage",
    "View",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("Client", "OpenAI", "Stream", "ResponseStream"):  # loads on first use
        from . import _sync

        return getattr(_sync, name)
    if name == "AsyncResponseStream":  # the Responses API's types load on first use
        from . import _streaming

        return _streaming.AsyncResponseStream
    if name == "RedisRateLimiter":  # loads on first use; redis-py itself only when built
        from ._ratelimit.redis import RedisRateLimiter

        return RedisRateLimiter
    if name == "__version__":  # importlib.metadata only when asked for
        from ._version import version

        return version()
    raise AttributeError(f"module 'rawgpt' has no attribute {name!r}")
