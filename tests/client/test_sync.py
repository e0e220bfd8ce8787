"""The blocking Client drives the async one on a private loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import rawgpt
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES, connector_of
from ..redis_server import RedisServer


@pytest.fixture
def server_thread() -> Iterator[MockServer]:
    """A MockServer on its own loop in a thread, so blocking calls can reach it."""
    ready = threading.Event()
    started: list[tuple[MockServer, asyncio.AbstractEventLoop, asyncio.Event]] = []

    def serve() -> None:
        async def main() -> None:
            srv = MockServer()
            await srv.start()
            stop = asyncio.Event()
            started.append((srv, asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()
            await srv.stop()

        asyncio.run(main())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    assert ready.wait(10)
    ((srv, loop, stop),) = started
    yield srv
    loop.call_soon_threadsafe(stop.set)
    t.join(10)


def test_blocking_call_stream_and_errors(server_thread: MockServer) -> None:
    with rawgpt.Client(api_key=KEY, base_url=server_thread.base_url, max_retries=0) as c:
        r = c.chat.completions.create(model="m", messages=MESSAGES)
        assert r.choices[0].message.content and r.request_id
        text = ""
        with c.chat.completions.create(model="m", messages=MESSAGES, stream=True) as s:
            for chunk in s:
                text += chunk.choices[0].delta.content or ""
        assert text == r.choices[0].message.content
        assert s.get_final_completion().choices[0].message.content == text
        with pytest.raises(rawgpt.BadRequestError):
            c.chat.completions.create(
                model="m", messages=MESSAGES, extra_headers={"x-mock-fault": "status:400"}
            )
        e = c.embeddings.create(model="e", input="x")
        assert e.data[0].embedding
        assert c.post("/chat/completions", {"model": "m", "messages": MESSAGES}).choices
        assert c.base_url == server_thread.base_url and c.max_retries == 0
    assert rawgpt.OpenAI is rawgpt.Client


def test_blocking_stream_error_after_chunks_is_not_lost(server_thread: MockServer) -> None:
    with rawgpt.Client(api_key=KEY, base_url=server_thread.base_url) as c:
        got = 0
        with pytest.raises(rawgpt.APIStatusError):
            s = c.chat.completions.create(
                model="m",
                messages=MESSAGES,
                stream=True,
                extra_headers={"x-mock-fault": "stream_error"},
            )
            for _ in s:
                got += 1
        assert got == 2


def test_many_threads_share_a_few_connections(server_thread: MockServer) -> None:
    c = rawgpt.Client(api_key=KEY, base_url=server_thread.base_url)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                c.chat.completions.create(model="m", messages=MESSAGES)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    for _ in range(50):  # a serverless handler invoked 50 times
        c.chat.completions.create(model="m", messages=MESSAGES)
    connector = connector_of(c._async)
    assert sum(len(v) for v in connector._conns.values()) <= 5
    loop_thread = c._loop_thread
    c.close()
    assert loop_thread is not None and not loop_thread.thread.is_alive()


def test_client_is_lazy_and_repr_hides_the_key() -> None:
    c = rawgpt.Client(api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert c._loop_thread is None
    assert KEY not in repr(c)
    c.api_key = "sk-other"
    assert c.api_key == "sk-other"
    c.close()


def test_closing_the_blocking_client_closes_its_redis_limiter(
    server_thread: MockServer, redis_server: RedisServer
) -> None:
    """The limiter's Redis connections live on the client's private loop: close() ends them."""
    limiter = rawgpt.RedisRateLimiter(redis_server.url, namespace="sync-close")
    with rawgpt.Client(api_key=KEY, base_url=server_thread.base_url, rate_limiter=limiter) as c:
        c.chat.completions.create(model="m", messages=MESSAGES)
        assert [state["shared"] for state in limiter.snapshot().values()] == [True]
        assert limiter._scripts._redis is not None
    assert limiter._scripts._redis is None
