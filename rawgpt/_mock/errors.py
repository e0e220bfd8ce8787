"""Error bodies for the mock server, shaped exactly like OpenAI's.

Every JSON error is ``{"error": {"message", "type", "param", "code"}}``; a proxy
error is an HTML page instead. Bodies that never change are built once.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson

from .limits import Denial, format_duration

ORG = "org-mock"
_RATE_DOCS = "Visit https://platform.openai.com/account/rate-limits to learn more."


def error_body(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    )


NO_API_KEY = error_body(
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys.",
    "invalid_request_error",
)
NOT_JSON = error_body(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please contact "
    "us through our help center at help.openai.com.)",
    "invalid_request_error",
)
MISSING_MODEL = error_body("you must provide a model parameter", "invalid_request_error")
QUOTA = error_body(
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "insufficient_quota",
    code="insufficient_quota",
)
_SERVER_ERROR = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": "server_error",
}
STREAM_ERROR = orjson.dumps({"error": _SERVER_ERROR})


def error_event(head: dict[str, Any], *, flat: bool) -> bytes:
    """An SSE ``event: error`` carrying a server error after the fields of ``head``: nested
    under ``"error"`` as OpenAI sends it, or ``flat`` (``code``, ``message`` at the top
    level) as some compatible servers do."""
    if flat:  # the event keeps its own "type": the error's fields but that one
        fields = {**head, **{k: v for k, v in _SERVER_ERROR.items() if k != "type"}}
    else:
        fields = {**head, "error": _SERVER_ERROR}
    return b"event: error\ndata: " + orjson.dumps(fields) + b"\n\n"


def invalid_api_key(key: str) -> bytes:
    shown = f"{key[:3]}***{key[-4:]}" if len(key) >= 20 else "***"  # as OpenAI shows it
    return error_body(
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        code="invalid_api_key",
    )


def invalid_url(method: str, path: str) -> bytes:
    return error_body(f"Invalid URL ({method} {path})", "invalid_request_error")


def invalid_param(param: str, message: str, code: str | None = None) -> bytes:
    return error_body(message, "invalid_request_error", param=param, code=code)


def missing_param(param: str) -> bytes:
    message = f"Missing required parameter: '{param}'."
    return invalid_param(param, message, "missing_required_parameter")


def status_error(status: int, model: str) -> bytes:
    """The JSON body OpenAI (or its edge) sends with ``status``."""
    if status == 401:
        return invalid_api_key("sk-mock-fault-key")
    if status == 403:
        return error_body(
            "Country, region, or territory not supported",
            "request_forbidden",
            code="unsupported_country_region_territory",
        )
    if status == 404:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return error_body(message, "invalid_request_error", code="model_not_found")
    if status == 429:
        return error_body("Rate limit reached for requests", "requests", code="rate_limit_exceeded")
    if status == 500:
        return error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        )
    if status == 503:
        message = "The engine is currently overloaded, please try again later."
        return error_body(message, "server_error")
    phrase = _phrase(status)
    type_ = "server_error" if status >= 500 else "invalid_request_error"
    return error_body(f"Mock fault: {status} {phrase}.", type_)


def html_page(status: int) -> bytes:
    """The kind of page a proxy or load balancer sends instead of JSON."""
    title = f"{status} {_phrase(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>mock-proxy</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def denial_error(denial: Denial, model: str) -> bytes:
    """The 429 body for a request the rate limiter turned away."""
    if denial.kind == "too_large":
        message = (
            f"Request too large for {model} in organization {ORG} on tokens per min (TPM): "
            f"Limit {denial.limit}, Requested {denial.requested}. The input or output tokens "
            f"must be reduced in order to run successfully. {_RATE_DOCS}"
        )
        return error_body(message, "tokens", code="rate_limit_exceeded")
    unit = "requests per min (RPM)" if denial.kind == "requests" else "tokens per min (TPM)"
    message = (
        f"Rate limit reached for {model} in organization {ORG} on {unit}: "
        f"Limit {denial.limit}, Used {denial.used}, Requested {denial.requested}. "
        f"Please try again in {format_duration(denial.wait)}. {_RATE_DOCS}"
    )
    return error_body(message, denial.kind, code="rate_limit_exceeded")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
