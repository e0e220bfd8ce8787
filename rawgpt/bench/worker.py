"""A client's own process: build it, then run the slices the parent sends, one at a time.

``python -m rawgpt.bench.worker`` reads a JSON config line on stdin (client
name, base URL, the *name* of the environment variable holding the key, the
workload), builds the client, and answers ``{"type": "ready"}`` (or
``"unavailable"`` with the reason) before any request is sent. Then, per
command line: ``warmup`` (requests not recorded), ``slice`` (measured: the
records, the process's CPU seconds and the wall seconds of the slice), ``exit``.
While a slice runs it reports ``tick`` lines (requests done), at most four a
second, so the parent can show progress; the records go at the end, so the
measured phase spends nothing on reporting but those ticks.

The CPU figure is ``time.process_time()`` of this process over the slice: the
client library, its event loop, JSON and SSE parsing, the timing bookkeeping of
``measure``, garbage collection, every thread; never the server's or the
parent's work.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from .drivers import Driver, Unavailable, build
from .measure import measure
from .prompts import Prompts, load
from .record import Record
from .workload import Slice, Workload

TICK_SECONDS = 0.25
Send = Callable[[int], Awaitable[Record]]


def emit(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def run_slice(
    send: Send,
    part: Slice,
    concurrency: int | None,
    clock: Callable[[], float],
    on_done: Callable[[int], None] = lambda n: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[Record]:
    """Run one slice: ``concurrency`` senders pulling request numbers, or one send per
    arrival time (at most ``concurrency`` in flight when given). A send late on its
    time (the loop was busy) goes at once: the schedule keeps its times, so lateness
    does not add up."""
    records: list[Record] = []
    started = clock()
    end = None if part.duration is None else started + part.duration
    last = part.first + part.count if part.count is not None else None

    def finished(record: Record) -> None:
        records.append(record)
        on_done(len(records))

    if part.arrivals is None:
        next_index = part.first

        async def sender() -> None:
            nonlocal next_index
            while (last is None or next_index < last) and (end is None or clock() < end):
                index, next_index = next_index, next_index + 1
                finished(await send(index))

        await asyncio.gather(*(sender() for _ in range(concurrency or 1)))
        return records
    gate = asyncio.Semaphore(concurrency) if concurrency else None

    async def one(index: int) -> None:
        try:
            finished(await send(index))
        finally:
            if gate is not None:
                gate.release()

    tasks = []
    for i, at in enumerate(part.arrivals):
        wait = started + at - clock()
        if wait > 0:
            await sleep(wait)
        if gate is not None:
            await gate.acquire()
        tasks.append(asyncio.ensure_future(one(part.first + i)))
    await asyncio.gather(*tasks)
    return records


class Worker:
    """The state of one client process between commands."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.workload = Workload.from_dict(config["workload"])
        bodies = load(self.workload.prompts) if self.workload.prompts else None
        self.prompts = Prompts(
            model=self.workload.model,
            stream=self.workload.stream,
            max_tokens=self.workload.max_tokens,
            prompt_tokens=self.workload.prompt_tokens,
            seed=self.workload.seed,
            client=config["client"],
            bodies=bodies,
        )
        self.driver: Driver | None = None
        self.measured = 0.0  # seconds of measured slices so far: the records' time base

    async def start(self) -> None:
        key = os.environ.get(self.config["api_key_env"], "")
        self.driver = build(
            self.config["client"],
            self.config["base_url"],
            key,
            self.config["max_connections"],
            self.workload.retries,
        )

    def _send(self, zero: float) -> Send:
        assert self.driver is not None
        create, body = self.driver.create, self.prompts.body
        clock = time.perf_counter
        return lambda index: measure(create, body(index), index, clock, zero)

    async def warmup(self, count: int) -> None:
        send = self._send(time.perf_counter())
        await run_slice(
            send,
            Slice(-count, count),
            min(count, self.workload.concurrency or count),
            time.perf_counter,
        )

    async def slice(self, part: Slice) -> dict[str, Any]:
        assert self.driver is not None
        clock = time.perf_counter
        last_tick = [0.0]

        def tick(done: int) -> None:
            now = clock()
            if now - last_tick[0] >= TICK_SECONDS:
                last_tick[0] = now
                emit({"type": "tick", "done": done})

        gc.collect()
        limited0 = self.driver.rate_limited
        cpu0, wall0 = time.process_time(), clock()
        send = self._send(wall0 - self.measured)
        records = await run_slice(send, part, self.workload.concurrency, clock, tick)
        wall = clock() - wall0
        cpu = time.process_time() - cpu0
        self.measured += wall
        limited = self.driver.rate_limited
        return {
            "type": "slice",
            "records": [r.to_dict() for r in records],
            "cpu_s": cpu,
            "wall_s": wall,
            "rate_limited": None if limited is None else limited - (limited0 or 0),
        }

    async def close(self) -> None:
        if self.driver is not None:
            await self.driver.close()


def main() -> int:
    config = orjson.loads(sys.stdin.buffer.readline())
    loop = asyncio.new_event_loop()
    worker = Worker(config)
    try:
        try:
            loop.run_until_complete(worker.start())
        except Unavailable as exc:
            emit({"type": "unavailable", "reason": str(exc)})
            return 0
        emit({"type": "ready"})
        for line in sys.stdin.buffer:
            command = orjson.loads(line)
            if command["cmd"] == "warmup":
                loop.run_until_complete(worker.warmup(command["count"]))
                emit({"type": "warm"})
            elif command["cmd"] == "slice":
                part = Slice(**command["slice"])
                emit(loop.run_until_complete(worker.slice(part)))
            else:
                break
        return 0
    finally:
        loop.run_until_complete(worker.close())
        loop.close()


if __name__ == "__main__":
    sys.exit(main())
