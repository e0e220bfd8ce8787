"""The keyword arguments of each ``create``, as TypedDicts for the type checker.

``create(**params)`` is typed with ``Unpack`` of these: a required keyword left
out, a misspelt one or a value of the wrong type is a mypy/pyright error. At
run time nothing here is consulted and every keyword goes into the JSON body as
given, so a parameter newer than this release works (for the checker, pass it
in ``extra_body``). Request bodies stay plain dicts and lists, as the API
takes them: messages, tools and formats are ``Mapping[str, Any]`` in sequences
(lists or tuples: a generator cannot be sent as JSON).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Required, TypedDict

if TYPE_CHECKING:
    from .._config import Limits, Timeout
    from .._net import ProxyOption, SSLOption
    from .._ratelimit import Limiter
    from .._retry import Retry

JSON = Mapping[str, Any]


class ChatCompletionCreateParams(TypedDict, total=False):
    """``chat.completions.create()``: every field of the request body but ``stream``."""

    model: Required[str]
    messages: Required[Sequence[JSON]]
    audio: JSON | None
    frequency_penalty: float | None
    function_call: str | JSON
    functions: Sequence[JSON]
    logit_bias: Mapping[str, int] | None
    logprobs: bool | None
    max_completion_tokens: int | None
    max_tokens: int | None
    metadata: Mapping[str, str] | None
    modalities: Sequence[Literal["text", "audio"]] | None
    n: int | None
    parallel_tool_calls: bool
    prediction: JSON | None
    presence_penalty: float | None
    prompt_cache_key: str
    prompt_cache_retention: str | None
    reasoning_effort: str | None
    response_format: JSON
    safety_identifier: str
    seed: int | None
    service_tier: str | None
    stop: str | Sequence[str] | None
    store: bool | None
    stream_options: JSON | None
    temperature: float | None
    tool_choice: str | JSON
    tools: Sequence[JSON]
    top_logprobs: int | None
    top_p: float | None
    user: str
    verbosity: Literal["low", "medium", "high"] | None
    web_search_options: JSON


class EmbeddingCreateParams(TypedDict, total=False):
    """``embeddings.create()``."""

    model: Required[str]
    input: Required[str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]]
    dimensions: int
    encoding_format: Literal["float", "base64"]
    user: str


class ResponseCreateParams(TypedDict, total=False):
    """``responses.create()``: every field of the request body but ``stream``.

    None is required, as in the SDK: a stored ``prompt`` can name the model. At
    run time ``model`` is required unless ``prompt`` is given (the API answers
    400 without either), so the mistake shows before a request is sent.
    """

    model: str
    input: str | Sequence[JSON]
    background: bool | None
    conversation: str | JSON | None
    include: Sequence[str] | None
    instructions: str | None
    max_output_tokens: int | None
    max_tool_calls: int | None
    metadata: Mapping[str, str] | None
    parallel_tool_calls: bool | None
    previous_response_id: str | None
    prompt: JSON | None
    prompt_cache_key: str
    prompt_cache_retention: str | None
    reasoning: JSON | None
    safety_identifier: str
    service_tier: str | None
    store: bool | None
    stream_options: JSON | None
    temperature: float | None
    text: JSON
    tool_choice: str | JSON
    tools: Sequence[JSON]
    top_logprobs: int | None
    top_p: float | None
    truncation: Literal["auto", "disabled"] | None
    user: str


class ClientOptions(TypedDict, total=False):
    """The keywords of ``AsyncClient(...)``, for the blocking ``Client(...)`` built on it."""

    api_key: str | Callable[[], str] | Callable[[], Awaitable[str]] | None
    base_url: str | None
    organization: str | None
    project: str | None
    timeout: Timeout | float | None
    limits: Limits | None
    max_retries: int | None
    retry: Retry | None
    rate_limiter: Limiter | bool | None
    default_headers: Mapping[str, str] | None
    default_query: Mapping[str, str | int | float] | None
    api_key_header: str
    seed: int | None
    prices: Mapping[str, tuple[float, float]] | None
    sleep: Callable[[float], Awaitable[None]] | None
    ssl: SSLOption
    proxy: ProxyOption


class ClientOverrides(TypedDict, total=False):
    """The keywords of ``with_options(...)``: what a client sharing the pool may change."""

    api_key: str | Callable[[], str] | Callable[[], Awaitable[str]] | None
    organization: str | None
    project: str | None
    base_url: str | None
    timeout: Timeout | float | None
    max_retries: int | None
    retry: Retry | None
    default_headers: Mapping[str, str] | None
    default_query: Mapping[str, str | int | float] | None
    limits: None  # refused by name: they configure the pool
    ssl: None
    proxy: None


class RequestOptions(TypedDict, total=False):
    """What a call may set besides the body: its timeout, headers, query, and fields to add
    to the body (``extra_body``: parameters newer than this release, for the checker)."""

    timeout: Timeout | float | None
    extra_headers: Mapping[str, str] | None
    extra_body: Mapping[str, Any] | None
    extra_query: Mapping[str, Any] | None


class ChatCompletionCreateCall(ChatCompletionCreateParams, RequestOptions, total=False):
    """Every keyword of ``chat.completions.create()`` but ``stream`` (its overloads')."""


class EmbeddingCreateCall(EmbeddingCreateParams, RequestOptions, total=False):
    """Every keyword of ``embeddings.create()``."""


class ResponseCreateCall(ResponseCreateParams, RequestOptions, total=False):
    """Every keyword of ``responses.create()`` but ``stream`` (its overloads')."""
