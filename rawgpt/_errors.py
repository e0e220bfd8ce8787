"""The exception tree, shaped like the official SDK's so ``except`` clauses carry over.

::

    OpenAIError
    ├── ConfigurationError                a key, header or base_url that cannot be used (ValueError)
    └── APIError
        ├── APIConnectionError            network failure, refused, reset, DNS, cut stream
        │   └── APITimeoutError           connect or read timeout
        ├── APIResponseValidationError    2xx body that is not the JSON it should be
        ├── RequestTooLargeError          estimated tokens above the per-minute limit (not sent)
        └── APIStatusError                status_code, request_id, body, code, type, param, headers
            ├── BadRequestError 400       AuthenticationError 401    PermissionDeniedError 403
            ├── NotFoundError 404         ConflictError 409          UnprocessableEntityError 422
            ├── RateLimitError 429
            │   └── QuotaExceededError    429 with code insufficient_quota: never retried
            └── InternalServerError >=500

No message built here contains the API key: callers pass ``secret`` and it is
masked wherever it would appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

_SNIPPET = 200


class OpenAIError(Exception):
    """Root of every error rawgpt raises (as in the official SDK)."""


class ConfigurationError(OpenAIError, ValueError):
    """A setting the client cannot use: a key or header with a control character,
    credentials in base_url, a missing key. Raised before anything is sent; it names
    the setting, never its value."""


class APIError(OpenAIError):
    """An API call failed."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(APIError):
    """The connection failed: refused, reset, DNS, TLS, or a stream cut mid-way.

    ``retryable`` is False for a failure no retry can fix: a certificate that does
    not verify, or a TLS handshake the server refuses.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class APITimeoutError(APIConnectionError):
    """Connecting took longer than the connect timeout, or the server went silent
    for longer than the read timeout."""


class APIResponseValidationError(APIError):
    """A response body that is not the JSON it should be, or larger than a Limits cap."""


class RequestTooLargeError(APIError, ValueError):
    """The request's estimated tokens exceed the whole per-minute limit: no wait can admit it.

    Raised before sending, instead of waiting forever or earning a certain 429.
    """


class APIStatusError(APIError):
    """The server answered with an error status (or an error event in a stream)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.request_id: str | None = self.headers.get("x-request-id")
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            err = body if isinstance(body, dict) else {}
        self.code: str | None = _str_or_none(err.get("code"))
        self.type: str | None = _str_or_none(err.get("type"))
        self.param: str | None = _str_or_none(err.get("param"))


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429: slow down and try again."""


class QuotaExceededError(RateLimitError):
    """429 with code ``insufficient_quota``: no credit left; retrying cannot help."""


class InternalServerError(APIStatusError):
    """5xx."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def mask(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by a mask."""
    if secret and secret in text:
        return text.replace(secret, "sk-***")
    return text


def snippet(text: str | bytes, secret: str | None, size: int = _SNIPPET) -> str:
    """The first ``size`` characters of ``text`` (bytes are decoded), masked before they are
    cut, so a key that straddles the cut shows no part of itself either."""
    n = size + len(secret or "")
    if isinstance(text, bytes):
        text = text[: 4 * n].decode("utf-8", "replace")
    return mask(text[:n], secret)[:size]


def status_error(
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    parsed: Any = None,
) -> APIStatusError:
    """Build the APIStatusError subclass for an error response (or stream error event).

    ``parsed`` is the already-decoded JSON body, when the caller has it.
    """
    if secret and raw and secret.encode() in raw:  # a server echoed the key: drop it early
        raw, parsed = raw.replace(secret.encode(), b"sk-***"), None
    body = parsed
    if body is None and raw:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("message"):
        detail = str(err["message"])
        if err.get("code"):
            detail = f"{detail} (code: {err['code']})"
    elif isinstance(body, dict | list):
        detail = orjson.dumps(body).decode()[:_SNIPPET]
    else:
        snippet = " ".join(raw[: _SNIPPET * 4].decode("utf-8", "replace").split())[:_SNIPPET]
        kind = headers.get("content-type", "unknown content type")
        detail = f"non-JSON error body ({kind}): {snippet!r}" if snippet else "empty body"
        body = raw.decode("utf-8", "replace") if raw else None
    if 300 <= status < 400:  # redirects are not followed: say where it pointed
        where = headers.get("location")
        moved = f"redirect to {where!r}" if where else "redirect without a Location"
        detail = f"{moved} (not followed; set base_url to the new address) - {detail}"
    message = mask(f"Error code: {status} - {detail}", secret)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    elif (
        cls is RateLimitError
        and isinstance(err, dict)
        and (err.get("code") == "insufficient_quota" or err.get("type") == "insufficient_quota")
    ):
        cls = QuotaExceededError
    return cls(message, status_code=status, body=body, headers=headers)
