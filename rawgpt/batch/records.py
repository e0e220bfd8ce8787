"""The result and error lines, in the OpenAI Batch API output format.

Output: ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error": null}``. Errors have the same shape with ``"error": {"code",
"message"}``, ``response`` null when no HTTP answer came (connection error, bad
input), and ``line``: the input line number.
"""

from __future__ import annotations

import uuid
from typing import Any

from .._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    QuotaExceededError,
    RequestTooLargeError,
)
from .._models import Response
from .input import BadLine, Job


def new_id() -> str:
    """A fresh ``batch_req_...`` id for one result line."""
    return f"batch_req_{uuid.uuid4().hex}"


def success(job: Job, response: Response) -> dict[str, Any]:
    """The output line for an answered request."""
    return {
        "id": new_id(),
        "custom_id": job.custom_id,
        "response": {
            "status_code": 200,
            "request_id": response.request_id,
            "body": response.to_dict(),
        },
        "error": None,
    }


def _code(exc: Exception) -> str:
    if isinstance(exc, APIStatusError):
        return exc.code or exc.type or f"http_{exc.status_code}"
    if isinstance(exc, APITimeoutError):
        return "timeout"
    if isinstance(exc, APIConnectionError):
        return "connection_error"
    if isinstance(exc, APIResponseValidationError):
        return "invalid_response"
    if isinstance(exc, RequestTooLargeError):
        return "request_too_large"
    return "client_error"


def failure(job: Job, exc: Exception) -> dict[str, Any]:
    """The error line for a request that failed (after the client's retries)."""
    response = None
    if isinstance(exc, APIStatusError):
        response = {"status_code": exc.status_code, "request_id": exc.request_id, "body": exc.body}
    message = exc.message if isinstance(exc, APIError) else f"{type(exc).__name__}: {exc}"
    return {
        "id": new_id(),
        "custom_id": job.custom_id,
        "response": response,
        "error": {"code": _code(exc), "message": message},
        "line": job.line,
    }


def bad_input(bad: BadLine) -> dict[str, Any]:
    """The error line for an input line that was not sent."""
    return {
        "id": new_id(),
        "custom_id": bad.custom_id,
        "response": None,
        "error": {"code": bad.code, "message": f"line {bad.line}: {bad.message}"},
        "line": bad.line,
    }


def is_fatal(exc: Exception) -> bool:
    """An error every later request would hit too (bad key, no credit): stop the run.

    Such a failure is not written to the errors file: the request was not
    really tried, so the next run sends it again without ``--retry-errors``.
    """
    return isinstance(exc, AuthenticationError | QuotaExceededError)
