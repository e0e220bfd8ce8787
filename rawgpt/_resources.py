"""The resource namespaces: ``client.chat.completions``, ``embeddings``, ``responses``.

Every keyword a method does not itself consume goes into the JSON body as it
is, so parameters newer than this release work without one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from ._config import Timeout
from ._streaming import AsyncStream
from .types import ChatCompletion, ChatCompletionChunk, CreateEmbeddingResponse

if TYPE_CHECKING:
    from typing import Unpack

    from ._streaming import AsyncResponseStream
    from .types.params import (
        ChatCompletionCreateCall,
        EmbeddingCreateParams,
        ResponseCreateCall,
    )
    from .types.responses import Response

# The client's request loop: (path, body, *, shape, stream, timeout, extra_headers, extra_query)
Send = Callable[..., Awaitable[Any]]


class NotGiven:
    """The SDK's "argument omitted" sentinel; keys set to it are left out of the body."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def build_body(
    method: str, params: dict[str, Any], required: tuple[str, ...], extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The request body: the call's keywords plus extra_body, checked before sending."""
    if NOT_GIVEN in params.values():
        params = {k: v for k, v in params.items() if v is not NOT_GIVEN}
    if extra:
        params.update(extra)
    for name in required:
        if name not in params:
            raise TypeError(f"{method}() missing required keyword argument: {name!r}")
    return params


class AsyncCompletions:
    """``client.chat.completions``."""

    def __init__(self, send: Send) -> None:
        self._send = send

    @overload
    async def create(
        self,
        *,
        stream: Literal[True],
        **params: Unpack[ChatCompletionCreateCall],
    ) -> AsyncStream[ChatCompletionChunk]: ...
    @overload
    async def create(
        self,
        *,
        stream: Literal[False] | None = None,
        **params: Unpack[ChatCompletionCreateCall],
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self,
        *,
        stream: bool,
        **params: Unpack[ChatCompletionCreateCall],
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...
    async def create(
        self,
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion; with ``stream=True``, an AsyncStream of chunks."""
        body = build_body("chat.completions.create", params, ("model", "messages"), extra_body)
        return await self._send(  # type: ignore[no-any-return]
            "/chat/completions",
            body,
            shape=ChatCompletion,
            stream=bool(body.get("stream")),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )


class AsyncChat:
    """``client.chat``."""

    def __init__(self, send: Send) -> None:
        self.completions = AsyncCompletions(send)


class AsyncEmbeddings:
    """``client.embeddings``."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def create(
        self,
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        **params: Unpack[EmbeddingCreateParams],
    ) -> CreateEmbeddingResponse:
        """Create embeddings for ``input`` with ``model``."""
        required = ("model", "input")
        body = build_body("embeddings.create", params, required, extra_body)  # type: ignore[arg-type]
        if body.get("stream"):
            raise ValueError("embeddings.create() does not stream")
        return await self._send(  # type: ignore[no-any-return]
            "/embeddings",
            body,
            shape=CreateEmbeddingResponse,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )


class AsyncResponses:
    """``client.responses``: the Responses API."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._classes: tuple[type[Response], type[AsyncResponseStream]] | None = None

    def _load(self) -> tuple[type[Response], type[AsyncResponseStream]]:
        """The answer's view and stream classes, imported on the first call (``import
        rawgpt`` does not load the Responses API's types)."""
        from ._streaming import AsyncResponseStream
        from .types.responses import Response

        self._classes = (Response, AsyncResponseStream)
        return self._classes

    @overload
    async def create(
        self,
        *,
        stream: Literal[True],
        **params: Unpack[ResponseCreateCall],
    ) -> AsyncResponseStream: ...
    @overload
    async def create(
        self,
        *,
        stream: Literal[False] | None = None,
        **params: Unpack[ResponseCreateCall],
    ) -> Response: ...
    @overload
    async def create(
        self,
        *,
        stream: bool,
        **params: Unpack[ResponseCreateCall],
    ) -> Response | AsyncResponseStream: ...
    async def create(
        self,
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Response | AsyncResponseStream:
        """Create a model response; with ``stream=True``, an AsyncResponseStream of events.

        ``model`` is required unless a stored ``prompt`` names it.
        """
        body = build_body("responses.create", params, (), extra_body)
        if "model" not in body and "prompt" not in body:
            raise TypeError(
                "responses.create() missing required keyword argument: 'model' "
                "(or a stored 'prompt' that names one)"
            )
        shape, stream_class = self._classes or self._load()
        return await self._send(  # type: ignore[no-any-return]
            "/responses",
            body,
            shape=shape,
            stream=bool(body.get("stream")),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            stream_class=stream_class,
        )
