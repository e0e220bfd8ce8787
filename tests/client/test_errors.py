"""Tests for rawgpt._errors: the exception tree, status_error() and secret masking."""

from __future__ import annotations

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

import rawgpt
from rawgpt._errors import (
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
    UnprocessableEntityError,
    mask,
    status_error,
)

KEY = "sk-proj-Zq8LmN3vXc7TyU2pRk9WsA4eHd6GfJ1bQo5iVn0mKt"


def api_body(
    message: str = "boom",
    *,
    type_: str | None = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    )


# --------------------------------------------------------------------------- tree


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (APIError, OpenAIError),
        (APIConnectionError, APIError),
        (APITimeoutError, APIConnectionError),
        (APIResponseValidationError, APIError),
        (APIStatusError, APIError),
        (BadRequestError, APIStatusError),
        (AuthenticationError, APIStatusError),
        (PermissionDeniedError, APIStatusError),
        (NotFoundError, APIStatusError),
        (ConflictError, APIStatusError),
        (UnprocessableEntityError, APIStatusError),
        (RateLimitError, APIStatusError),
        (QuotaExceededError, RateLimitError),
        (InternalServerError, APIStatusError),
        (OpenAIError, Exception),
    ],
)
def test_tree(child: type, parent: type) -> None:
    assert issubclass(child, parent)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (APIConnectionError, APIStatusError),
        (APIStatusError, APIConnectionError),
        (APIResponseValidationError, APIStatusError),
        (RateLimitError, QuotaExceededError),
        (InternalServerError, RateLimitError),
        (APITimeoutError, APIStatusError),
    ],
)
def test_tree_non_relations(a: type, b: type) -> None:
    assert not issubclass(a, b)


def test_every_error_is_importable_from_the_package() -> None:
    for name in [
        "APIError",
        "APIConnectionError",
        "APITimeoutError",
        "APIResponseValidationError",
        "APIStatusError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "QuotaExceededError",
        "InternalServerError",
        "OpenAIError",
    ]:
        assert getattr(rawgpt, name) is globals()[name]


def test_instances_are_all_api_and_openai_errors() -> None:
    errors: list[APIError] = [
        APIConnectionError("x"),
        APITimeoutError("x"),
        APIResponseValidationError("x"),
        status_error(400, b"", {}),
        status_error(429, api_body(code="insufficient_quota"), {}),
        status_error(503, b"", {}),
    ]
    for e in errors:
        assert isinstance(e, APIError)
        assert isinstance(e, OpenAIError)
    timeout = APITimeoutError("read timed out")
    assert isinstance(timeout, APIConnectionError)
    assert timeout.message == "read timed out"
    assert str(timeout) == "read timed out"


# --------------------------------------------------------------------------- status mapping


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
        (418, APIStatusError),
        (408, APIStatusError),
        (402, APIStatusError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[APIStatusError]) -> None:
    e = status_error(status, api_body(), {})
    assert type(e) is cls
    assert e.status_code == status


@pytest.mark.parametrize(
    "error",
    [
        {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": None},
        {
            "message": "You exceeded your current quota",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        },
        {"message": "quota", "type": "requests", "code": "insufficient_quota"},
    ],
)
def test_insufficient_quota_is_quota_exceeded(error: dict[str, object]) -> None:
    e = status_error(429, orjson.dumps({"error": error}), {})
    assert type(e) is QuotaExceededError
    assert isinstance(e, RateLimitError)


def test_rate_limit_exceeded_is_plain_rate_limit_error() -> None:
    e = status_error(429, api_body("Rate limit reached", code="rate_limit_exceeded"), {})
    assert type(e) is RateLimitError


def test_insufficient_quota_on_another_status_is_not_a_rate_limit_error() -> None:
    e = status_error(400, api_body("quota", code="insufficient_quota"), {})
    assert type(e) is BadRequestError


# --------------------------------------------------------------------------- attributes


def test_attributes_from_an_openai_error_body() -> None:
    raw = api_body(
        "Invalid value for 'temperature'",
        type_="invalid_request_error",
        param="temperature",
        code="invalid_value",
    )
    headers = {"x-request-id": "req_abc123", "content-type": "application/json"}
    e = status_error(400, raw, headers)
    assert e.status_code == 400
    assert e.code == "invalid_value"
    assert e.type == "invalid_request_error"
    assert e.param == "temperature"
    assert e.request_id == "req_abc123"
    assert e.headers is headers
    assert e.body == orjson.loads(raw)
    assert e.message == "Error code: 400 - Invalid value for 'temperature' (code: invalid_value)"
    assert str(e) == e.message


def test_message_without_code() -> None:
    e = status_error(404, api_body("The model `gpt-9` does not exist"), {})
    assert e.message == "Error code: 404 - The model `gpt-9` does not exist"
    assert e.code is None
    assert e.param is None


def test_request_id_from_case_insensitive_headers() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"X-Request-Id": "req_xyz"}))
    e = status_error(500, b"", headers)
    assert e.request_id == "req_xyz"


def test_missing_request_id_is_none() -> None:
    assert status_error(500, b"", {}).request_id is None


def test_parsed_body_is_used_as_given() -> None:
    parsed = {"error": {"message": "stream broke", "type": "server_error", "code": "oops"}}
    e = status_error(500, b"ignored", {}, parsed=parsed)
    assert e.body is parsed
    assert e.code == "oops"
    assert e.type == "server_error"
    assert "stream broke" in str(e)


def test_direct_construction_defaults() -> None:
    e = APIStatusError("x", status_code=499)
    assert e.headers == {}
    assert e.body is None
    assert e.request_id is None
    assert (e.code, e.type, e.param) == (None, None, None)


def test_body_without_error_key_reads_top_level_fields() -> None:
    raw = orjson.dumps({"code": "gateway", "type": "proxy", "detail": "upstream down"})
    e = status_error(502, raw, {})
    assert (e.code, e.type) == ("gateway", "proxy")
    assert e.body == {"code": "gateway", "type": "proxy", "detail": "upstream down"}
    assert str(e).startswith("Error code: 502 - {")
    assert "upstream down" in str(e)


def test_non_string_code_is_stringified() -> None:
    e = status_error(400, orjson.dumps({"error": {"message": "m", "code": 1234}}), {})
    assert e.code == "1234"


def test_json_body_snippet_is_bounded() -> None:
    raw = orjson.dumps({"detail": "z" * 5000})
    e = status_error(500, raw, {})
    assert len(str(e)) <= 300
    assert e.body == {"detail": "z" * 5000}  # the body itself is kept whole


# --------------------------------------------------------------------------- non-JSON / empty


HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502   Bad\tGateway</h1></center>\r\n"
    + b"<p>padding padding padding</p>\n" * 200
    + b"</body>\r\n</html>\r\n"
)


def test_html_502_gives_a_short_collapsed_snippet() -> None:
    e = status_error(502, HTML_502, {"content-type": "text/html"})
    msg = str(e)
    assert type(e) is InternalServerError
    assert msg.startswith("Error code: 502 - non-JSON error body (text/html): ")
    assert "<title>502 Bad Gateway</title>" in msg
    assert "502 Bad Gateway</h1>" in msg  # runs of whitespace collapsed to one space
    assert "\n" not in msg and "\r" not in msg and "\t" not in msg and "  " not in msg
    assert len(msg) <= 300
    assert e.body == HTML_502.decode()
    assert (e.code, e.type, e.param) == (None, None, None)


def test_non_json_without_content_type() -> None:
    e = status_error(500, b"Internal Server Error", {})
    assert str(e) == (
        "Error code: 500 - non-JSON error body (unknown content type): 'Internal Server Error'"
    )


def test_invalid_utf8_body_does_not_raise() -> None:
    e = status_error(502, b"\xff\xfe bad \x80 bytes", {"content-type": "text/plain"})
    assert "bad" in str(e)
    assert isinstance(e.body, str)


@pytest.mark.parametrize("status", [500, 503, 400])
def test_empty_body(status: int) -> None:
    e = status_error(status, b"", {})
    assert str(e) == f"Error code: {status} - empty body"
    assert e.body is None
    assert (e.code, e.type, e.param) == (None, None, None)


def test_whitespace_only_body_is_empty() -> None:
    e = status_error(503, b"  \r\n\t ", {"content-type": "text/plain"})
    assert str(e) == "Error code: 503 - empty body"


def test_json_list_body() -> None:
    e = status_error(500, b'[{"error": "x"}]', {})
    assert e.body == [{"error": "x"}]
    assert str(e) == 'Error code: 500 - [{"error":"x"}]'
    assert e.code is None


# --------------------------------------------------------------------------- masking


def test_mask_helper() -> None:
    assert mask(f"key {KEY} and {KEY}", KEY) == "key sk-*** and sk-***"
    assert mask("nothing here", KEY) == "nothing here"
    assert mask(f"key {KEY}", None) == f"key {KEY}"
    assert mask(f"key {KEY}", "") == f"key {KEY}"


def test_secret_in_server_message_is_masked() -> None:
    raw = api_body(f"Incorrect API key provided: {KEY}.", code="invalid_api_key")
    e = status_error(401, raw, {}, secret=KEY)
    assert type(e) is AuthenticationError
    assert KEY not in str(e)
    assert KEY not in repr(e)
    assert KEY not in e.message
    assert all(KEY not in str(a) for a in e.args)
    assert "sk-***" in str(e)
    assert str(e) == "Error code: 401 - Incorrect API key provided: sk-***. (code: invalid_api_key)"


def test_secret_in_html_body_is_masked() -> None:
    raw = f"<html><body>bad auth header: Bearer {KEY}</body></html>".encode()
    e = status_error(400, raw, {"content-type": "text/html"}, secret=KEY)
    assert KEY not in str(e)
    assert KEY not in repr(e)


def test_secret_in_json_without_message_is_masked() -> None:
    raw = orjson.dumps({"detail": f"token {KEY} rejected"})
    e = status_error(401, raw, {}, secret=KEY)
    assert KEY not in str(e)
    assert KEY not in repr(e)


def _leaked_fragment(text: str, secret: str, width: int = 12) -> str | None:
    """Any ``width``-character piece of the secret's random part found in ``text``."""
    rand = secret[len("sk-proj-") :]
    for i in range(len(rand) - width + 1):
        if rand[i : i + width] in text:
            return rand[i : i + width]
    return None


@pytest.mark.parametrize("pad", [150, 170, 185])
def test_secret_cut_by_the_json_snippet_limit_does_not_leak(pad: int) -> None:
    # The key straddles the snippet cut: a long prefix of it must not survive.
    raw = orjson.dumps({"detail": "x" * pad + KEY})
    e = status_error(500, raw, {}, secret=KEY)
    assert _leaked_fragment(str(e), KEY) is None
    assert _leaked_fragment(repr(e), KEY) is None


@pytest.mark.parametrize("pad", [150, 170, 185])
def test_secret_cut_by_the_html_snippet_limit_does_not_leak(pad: int) -> None:
    raw = b"<p>" + b"y" * pad + KEY.encode() + b"</p>"
    e = status_error(502, raw, {"content-type": "text/html"}, secret=KEY)
    assert _leaked_fragment(str(e), KEY) is None
    assert _leaked_fragment(repr(e), KEY) is None


def test_repr_names_the_class() -> None:
    e = status_error(404, api_body("nope"), {})
    assert repr(e).startswith("NotFoundError(")
