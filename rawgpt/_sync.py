"""Client: the blocking twin of AsyncClient, for scripts and serverless handlers.

It drives one AsyncClient on a private event loop in a daemon thread, so there
is no second copy of the logic, connections are pooled across calls (a
handler invoked 50 times reuses them), and any number of threads may call it
at once. The thread starts on first use, so building a client at import time
costs nothing; it stops on ``close()``, on garbage collection or at exit.

A forked child has the parent's loop-thread object but no thread behind it: the
child's clients forget it (untouched: its loop and sockets are the parent's) and
start their own thread on their next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

from ._client import AsyncClient
from ._config import Timeout
from ._streaming import AsyncStream, SSEStream
from .types import ChatCompletion, ChatCompletionChunk, CreateEmbeddingResponse, Object

if TYPE_CHECKING:
    from typing import Unpack

    from ._config import Limits
    from ._ratelimit import Limiter
    from ._retry import Retry
    from ._streaming import AsyncResponseStream
    from ._usage import RequestEvent, Usage
    from .types.params import (
        ChatCompletionCreateCall,
        ClientOptions,
        ClientOverrides,
        EmbeddingCreateCall,
        ResponseCreateCall,
    )
    from .types.responses import Response, ResponseStreamEvent  # noqa: F401 (in a string)

T = TypeVar("T")
Chunk = TypeVar("Chunk")


async def _shut(client: AsyncClient) -> None:
    """Close the client's connections, then its rate limiter's (a RedisRateLimiter's Redis
    connections): they belong to this private loop, where nothing else can use them."""
    try:
        await client.close()
    finally:
        if client.rate_limiter is not None:
            await client.rate_limiter.aclose()


class _LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="rawgpt-loop", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a blocking rawgpt.Client cannot be called from its own loop")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C or an error in the caller: do not leave the call running
            raise

    def stop(self, client: AsyncClient) -> None:
        if self.loop.is_closed():
            return
        if self.thread.is_alive():
            with contextlib.suppress(Exception):  # closing is best effort at exit
                asyncio.run_coroutine_threadsafe(_shut(client), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


_live: weakref.WeakSet[Client] = weakref.WeakSet()
_inherited: list[_LoopThread] = []  # parents' loop threads, kept from the GC in a child


def _after_fork_in_child() -> None:
    for client in list(_live):
        client._forget_loop_thread()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Events(Generic[Chunk]):
    """An async stream as a plain iterator, one thread crossing per network read."""

    def __init__(self, stream: SSEStream[Chunk], runner: _LoopThread) -> None:
        self._stream = stream
        self._run = runner.run
        self._batch: list[Chunk] = []
        self._pos = 0
        self.request_id = stream.request_id
        self.headers = stream.headers

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        if self._pos >= len(self._batch):
            self._batch = self._run(self._stream.take_ready())
            self._pos = 0
            if not self._batch:
                raise StopIteration
        item = self._batch[self._pos]
        self._pos += 1
        return item

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._run(self._stream.close())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def completed(self) -> bool:
        return self._stream.completed


class Stream(_Events[Chunk]):
    """A streamed chat completion as a plain iterator; ``with`` it to be sure it closes."""

    _stream: AsyncStream[Chunk]

    def get_final_completion(self) -> ChatCompletion:
        """The chunks merged into one chat completion (the stream must have ended)."""
        return self._stream.get_final_completion()


class ResponseStream(_Events["ResponseStreamEvent"]):
    """A streamed Responses API answer as a plain iterator of events; ``with`` it to be
    sure it closes."""

    _stream: AsyncResponseStream

    def get_final_response(self) -> Response:
        """The response the stream ended with (see AsyncResponseStream.get_final_response)."""
        return self._stream.get_final_response()


def _wrap(result: Any, runner: _LoopThread) -> Any:
    return Stream(result, runner) if isinstance(result, AsyncStream) else result


class _Completions:
    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        **params: Unpack[ChatCompletionCreateCall],
    ) -> Stream[ChatCompletionChunk]: ...
    @overload
    def create(
        self,
        *,
        stream: Literal[False] | None = None,
        **params: Unpack[ChatCompletionCreateCall],
    ) -> ChatCompletion: ...
    @overload
    def create(
        self,
        *,
        stream: bool,
        **params: Unpack[ChatCompletionCreateCall],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...
    def create(self, **kwargs: Any) -> Any:
        """Create a chat completion; with ``stream=True``, a Stream of chunks."""
        c = self._client
        return _wrap(c._call(c._async.chat.completions.create(**kwargs)), c._runner())


class _Chat:
    def __init__(self, client: Client) -> None:
        self.completions = _Completions(client)


class _Embeddings:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, **params: Unpack[EmbeddingCreateCall]) -> CreateEmbeddingResponse:
        """Create embeddings."""
        return self._client._call(self._client._async.embeddings.create(**params))


class _Responses:
    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        **params: Unpack[ResponseCreateCall],
    ) -> ResponseStream: ...
    @overload
    def create(
        self,
        *,
        stream: Literal[False] | None = None,
        **params: Unpack[ResponseCreateCall],
    ) -> Response: ...
    @overload
    def create(
        self,
        *,
        stream: bool,
        **params: Unpack[ResponseCreateCall],
    ) -> Response | ResponseStream: ...
    def create(self, **kwargs: Any) -> Any:
        """Create a model response; with ``stream=True``, a ResponseStream of events."""
        c = self._client
        result = c._call(c._async.responses.create(**kwargs))
        return ResponseStream(result, c._runner()) if isinstance(result, SSEStream) else result


class Client:
    """The blocking client: the same keywords and calls as AsyncClient."""

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        self._async = AsyncClient(**options)
        self._parent: Client | None = None  # with_options(): whose loop thread this uses
        self._loop_thread: _LoopThread | None = None
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[Any, Client] | None = None
        self._namespaces()
        _live.add(self)

    def _namespaces(self) -> None:
        self.chat = _Chat(self)
        self.embeddings = _Embeddings(self)
        self.responses = _Responses(self)

    def with_options(self, **options: Unpack[ClientOverrides]) -> Client:
        """A client with other per-call settings sharing this one's connection pool, rate
        limiter, usage and loop thread: see ``AsyncClient.with_options``. This client
        owns them: closing the new one is a no-op, closing this one closes them."""
        new = object.__new__(Client)
        new._async = self._async.with_options(**options)
        new._parent = self if self._parent is None else self._parent
        new._loop_thread = None
        new._lock = threading.Lock()
        new._finalizer = None
        new._namespaces()
        return new

    def _forget_loop_thread(self) -> None:
        """In a forked child: drop the parent's loop thread (there is no such thread here;
        its loop object is kept, unclosed, since closing it would touch the parent's)."""
        self._lock = threading.Lock()  # the parent may have held it while forking
        if self._finalizer is not None:
            self._finalizer.detach()  # it would stop the parent's loop at the child's exit
        if self._loop_thread is not None:
            _inherited.append(self._loop_thread)
        self._loop_thread = None
        self._finalizer = None

    if TYPE_CHECKING:  # read from the async client (below), typed for the checker
        base_url: str
        organization: str | None
        project: str | None
        timeout: Timeout
        limits: Limits
        retry: Retry
        max_retries: int
        rate_limiter: Limiter | None
        rate_limits: dict[str, dict[str, Any]]
        usage: Usage

        def add_hook(self, hook: Callable[[RequestEvent], None]) -> None: ...

        def wrap_send(
            self,
            wrap: Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]] | None,
        ) -> None: ...

    else:

        def __getattr__(self, name: str) -> Any:  # base_url, timeout, retry, limits, ...
            if name.startswith("_"):
                raise AttributeError(name)
            return getattr(self._async, name)

    @property
    def api_key(self) -> Any:
        return self._async.api_key

    @api_key.setter
    def api_key(self, value: Any) -> None:
        self._async.api_key = value

    def __repr__(self) -> str:
        return f"Client(base_url={self._async.base_url!r})"

    def _runner(self) -> _LoopThread:
        if self._parent is not None:
            return self._parent._runner()
        runner = self._loop_thread
        if runner is None:
            with self._lock:
                if self._loop_thread is None:
                    self._loop_thread = _LoopThread()
                    self._finalizer = weakref.finalize(self, self._loop_thread.stop, self._async)
                runner = self._loop_thread
        return runner

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner().run(coro)

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> Object:
        """POST a JSON body to ``path`` under base_url; the JSON answer as a view."""
        coro = self._async.post(
            path, body, timeout=timeout, extra_headers=extra_headers, extra_query=extra_query
        )
        return self._call(coro)

    def close(self) -> None:
        """Close every connection (the rate limiter's too) and stop the loop thread (a
        client from with_options() leaves its parent's open: a no-op)."""
        if self._finalizer is not None:
            self._finalizer()
        self._loop_thread = None
        self._finalizer = None

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


OpenAI = Client
