"""Shared fixtures: a MockServer on loopback, a client pointed at it, a redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

import rawgpt
from rawgpt.testing import MockServer

from .redis_server import RedisServer

KEY = "sk-test-SECRET-0123456789abcdef"


class FakeSleep:
    """Records the waits the client asks for, without waiting: ``AsyncClient(sleep=...)``."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (tests keep apart by namespace)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def sleeps() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
async def client(server: MockServer, sleeps: FakeSleep) -> AsyncIterator[rawgpt.AsyncClient]:
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, seed=1, sleep=sleeps) as c:
        yield c


MESSAGES = [{"role": "user", "content": "Say hello"}]


def connector_of(client: rawgpt.AsyncClient) -> aiohttp.BaseConnector:
    """The connection pool of a client that has sent a request."""
    session = client._transport._session
    assert session is not None and session.connector is not None
    return session.connector
