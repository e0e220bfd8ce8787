"""The result and error lines, in the OpenAI Batch API output format.

Output: ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error": null}``. Errors have the same shape with ``"error": {"code",
"message"}``, ``response`` null when no HTTP answer came (connection error, bad
input), and ``line``: the input line number.

``not_ours`` is the exact rule for recognising these lines again (an existing
file is resumed only when every line is one): a JSON object with exactly those
keys; ``id`` a string starting ``batch_req_``; ``custom_id`` a non-empty
string; ``response`` an object with exactly ``status_code`` (an integer),
``request_id`` (a string or null) and ``body`` (any JSON). In the output file
``response`` is such an object and ``error`` is null; in the errors file
``response`` is such an object or null, ``error`` an object with exactly
``code`` and ``message`` (strings), and ``line`` a positive integer. Every line
is written by orjson with ``id`` first, so it begins with ``LINE_START``.
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
    ConfigurationError,
    QuotaExceededError,
    RequestTooLargeError,
)
from ..types import Response
from .input import BadLine, Job

ID_PREFIX = "batch_req_"
LINE_START = b'{"id":"' + ID_PREFIX.encode()  # how every line written here begins
_OUTPUT_KEYS = frozenset(("id", "custom_id", "response", "error"))
_ERRORS_KEYS = _OUTPUT_KEYS | {"line"}
_RESPONSE_KEYS = frozenset(("status_code", "request_id", "body"))
_ERROR_KEYS = frozenset(("code", "message"))


def new_id() -> str:
    """A fresh ``batch_req_...`` id for one result line."""
    return f"{ID_PREFIX}{uuid.uuid4().hex}"


def not_ours(obj: Any, *, errors: bool) -> str | None:
    """Why ``obj`` (one parsed line) is not a line written here to the output file (or, with
    ``errors``, to the errors file); None when it is one. The rule: the module docstring."""
    if type(obj) is not dict:
        return "not a JSON object"
    keys = _ERRORS_KEYS if errors else _OUTPUT_KEYS
    if obj.keys() != keys:
        return f"its keys are not {', '.join(sorted(keys))}"
    if type(obj["id"]) is not str or not obj["id"].startswith(ID_PREFIX):
        return f"id is not a {ID_PREFIX}... string"
    if type(obj["custom_id"]) is not str or not obj["custom_id"]:
        return "custom_id is not a non-empty string"
    response = obj["response"]
    if not (errors and response is None) and not _is_response(response):
        return "response is not {status_code, request_id, body}"
    error = obj["error"]
    if not errors:
        return None if error is None else "error is not null"
    if type(error) is not dict or error.keys() != _ERROR_KEYS:
        return "error is not {code, message}"
    if type(error["code"]) is not str or type(error["message"]) is not str:
        return "error code and message are not strings"
    line = obj["line"]
    return None if type(line) is int and line > 0 else "line is not a line number"


def _is_response(response: Any) -> bool:
    if type(response) is not dict or response.keys() != _RESPONSE_KEYS:
        return False
    request_id = response["request_id"]
    return type(response["status_code"]) is int and (request_id is None or type(request_id) is str)


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
    """An error every later request would hit too (a key the server refuses or that cannot
    be sent at all, no credit): stop the run.

    Such a failure is not written to the errors file: the request was not
    really tried, so the next run sends it again without ``--retry-errors``.
    """
    return isinstance(exc, AuthenticationError | QuotaExceededError | ConfigurationError)
