"""The lazy read timer on a fake loop: one timer per idle gap, the same deadline as aiohttp's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

import rawgpt
from rawgpt._transport import LazyReadTimer

from ..conftest import KEY, connector_of


class _Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """Just what the protocol's timer uses: time() and call_at(), run by ``advance``."""

    def __init__(self) -> None:
        self.t = 0.0
        self.handles: list[_Handle] = []

    def time(self) -> float:
        return self.t

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        self.handles.append(_Handle(when, callback))
        return self.handles[-1]

    def advance(self, to: float) -> None:
        while due := sorted(
            (h for h in self.handles if not h.cancelled and h.when <= to), key=lambda h: h.when
        ):
            self.t = due[0].when
            due[0].cancelled = True  # fired
            due[0].callback()
        self.t = to


def protocol(read: float | None) -> tuple[LazyReadTimer, FakeLoop]:
    loop = FakeLoop()
    proto = LazyReadTimer(loop=loop)  # type: ignore[arg-type]
    proto.read_timeout = read
    return proto, loop


def test_reads_move_the_deadline_without_new_timers() -> None:
    proto, loop = protocol(10.0)
    proto.start_timeout()  # request sent: waiting for the headers
    for step in range(1, 91):  # a read every 0.1 s for 9 s
        loop.advance(step / 10)
        proto._reschedule_timeout()
    assert len(loop.handles) == 1  # aiohttp's own would have built 91
    loop.advance(18.9)  # fired at 10, re-armed for the rest of the gap since 9.0
    assert proto.exception() is None and len(loop.handles) == 2
    loop.advance(19.0)  # 10 s without a read
    assert isinstance(proto.exception(), asyncio.TimeoutError)


def test_a_silent_connection_times_out_at_the_read_timeout() -> None:
    proto, loop = protocol(2.0)
    proto.start_timeout()
    loop.advance(1.99)
    assert proto.exception() is None
    loop.advance(2.0)
    assert isinstance(proto.exception(), aiohttp.ServerTimeoutError)


def test_a_shorter_timeout_replaces_a_longer_timer() -> None:
    proto, loop = protocol(600.0)
    proto.start_timeout()
    proto.read_timeout = 1.0  # the next request on this connection asks for less
    loop.advance(5.0)
    proto._reschedule_timeout()
    loop.advance(5.99)
    assert proto.exception() is None
    loop.advance(6.0)
    assert isinstance(proto.exception(), asyncio.TimeoutError)


def test_no_read_timeout_or_a_dropped_one_never_fires() -> None:
    proto, loop = protocol(None)
    proto.start_timeout()
    assert not loop.handles
    proto, loop = protocol(1.0)
    proto.start_timeout()
    proto._drop_timeout()  # the response ended: the connection idles in the pool
    loop.advance(60.0)
    assert proto.exception() is None
    proto.read_timeout = None  # changed while a timer is out
    proto.start_timeout()
    proto.read_timeout = 1.0
    proto._reschedule_timeout()
    proto.read_timeout = None
    loop.advance(120.0)
    assert proto.exception() is None


async def test_the_client_builds_its_connections_with_it(server: Any) -> None:
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as client:
        await client.embeddings.create(model="text-embedding-3-small", input="hi")
        connector = connector_of(client)
        protocols = [proto for conns in connector._conns.values() for proto, _ in conns]
        assert protocols and all(type(p) is LazyReadTimer for p in protocols)
