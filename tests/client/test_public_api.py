"""Pins the public names: adding one is a decision, losing one breaks users."""

from __future__ import annotations

import rawgpt

PUBLIC = {
    "NOT_GIVEN", "APIConnectionError", "APIError", "APIResponseValidationError",
    "APIStatusError", "APITimeoutError", "AsyncClient", "AsyncOpenAI", "AsyncStream",
    "AuthenticationError", "BadRequestError", "Client", "ConflictError",
    "InternalServerError", "Limits", "ListView", "NotFoundError", "NotGiven", "OpenAI",
    "OpenAIError", "PermissionDeniedError", "QuotaExceededError", "RateLimitError",
    "Response", "Retry", "Stream", "Timeout", "UnprocessableEntityError", "View",
    "RateLimiter", "RequestTooLargeError", "RequestEvent", "ModelUsage", "Usage",
    "RedisRateLimiter", "__version__",
    "AsyncResponseStream", "ResponseStream",  # responses.create(stream=True)'s, to annotate
}  # fmt: skip


def test_all_is_sorted_and_pinned() -> None:
    assert rawgpt.__all__ == sorted(rawgpt.__all__, key=lambda n: (not n.isupper(), n))
    assert set(rawgpt.__all__) == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in rawgpt.__all__:
        assert getattr(rawgpt, name) is not None
    assert rawgpt.AsyncOpenAI is rawgpt.AsyncClient
    assert rawgpt.OpenAI is rawgpt.Client
    assert isinstance(rawgpt.__version__, str)


def test_error_tree() -> None:
    assert issubclass(rawgpt.APITimeoutError, rawgpt.APIConnectionError)
    assert issubclass(rawgpt.QuotaExceededError, rawgpt.RateLimitError)
    for name in ("APIConnectionError", "APIResponseValidationError", "APIStatusError"):
        assert issubclass(getattr(rawgpt, name), rawgpt.APIError)
    assert issubclass(rawgpt.APIError, rawgpt.OpenAIError)


def test_unknown_attribute_raises() -> None:
    try:
        _ = rawgpt.NoSuchThing
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
