"""The parent's side: one worker process per client, the rounds run in turn, the records.

``run`` starts every client's process and waits until each has built its client
(or said why it cannot) before any request is sent; warms each up; then runs
the rounds: in round ``r`` the clients take their slice one after another,
starting with client ``r`` mod the count, so no client always goes first. Only
one client sends at a time, so their numbers do not include each other's load.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .mockproc import stop
from .record import Record
from .workload import Slice, Workload, plan

LINE_LIMIT = 1 << 30  # a slice's records come back on one line


class BenchError(Exception):
    """The benchmark cannot run (a client unavailable, a worker died); nothing is half-measured."""


@dataclass(slots=True)
class ClientRun:
    """Everything measured for one client."""

    name: str
    records: list[Record] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    rate_limited: int = 0  # 429 answers: every attempt's, or the failures' (see below)
    sees_retried_429: bool = True  # False: the client hides the 429s it retried


@dataclass(frozen=True, slots=True)
class Target:
    """Where the requests go; ``api_key_env`` names the variable holding the key."""

    base_url: str
    api_key_env: str
    env: dict[str, str] = field(default_factory=dict)  # added to the workers' environment


Progress = Callable[[str, int, int, int], None]  # client, round, done in slice, slice size


class _Proc:
    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(orjson.dumps(message) + b"\n")
        await self.proc.stdin.drain()

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            code = await self.proc.wait()
            raise BenchError(f"the {self.name} worker exited (status {code}); see its errors above")
        message: dict[str, Any] = orjson.loads(line)
        return message


def _max_connections(workload: Workload) -> int:
    if workload.concurrency is not None:
        return max(100, workload.concurrency)
    return 1000  # open loop: as the SDK's default pool


async def _spawn(name: str, target: Target, workload: Workload) -> _Proc:
    env = {**os.environ, **target.env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rawgpt.bench.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        limit=LINE_LIMIT,
    )  # fmt: skip
    worker = _Proc(name, proc)
    config = {
        "client": name,
        "base_url": target.base_url,
        "api_key_env": target.api_key_env,
        "max_connections": _max_connections(workload),
        "workload": workload.to_dict(),
    }
    await worker.send(config)
    return worker


async def run(
    clients: list[str], target: Target, workload: Workload, progress: Progress | None = None
) -> dict[str, ClientRun]:
    """Measure every client on the same workload; the runs by client name."""
    procs: list[_Proc] = []
    try:
        for name in clients:
            procs.append(await _spawn(name, target, workload))
        for worker in procs:
            answer = await worker.read()
            if answer["type"] == "unavailable":
                raise BenchError(answer["reason"])
        if workload.warmup:
            for worker in procs:
                await worker.send({"cmd": "warmup", "count": workload.warmup})
                await worker.read()
        runs = {name: ClientRun(name) for name in clients}
        for r, part in enumerate(plan(workload)):
            for k in range(len(procs)):
                worker = procs[(r + k) % len(procs)]
                await _slice(worker, r, part, runs[worker.name], progress)
        for worker in procs:
            await worker.send({"cmd": "exit"})
        return runs
    finally:
        for worker in procs:
            if worker.proc.stdin is not None:
                worker.proc.stdin.close()
        await asyncio.gather(*(stop(w.proc) for w in procs))


async def _slice(
    worker: _Proc, r: int, part: Slice, run: ClientRun, progress: Progress | None
) -> None:
    size = part.count or 0
    await worker.send({"cmd": "slice", "slice": part.to_dict()})
    if progress is not None:
        progress(worker.name, r, 0, size)
    while True:
        message = await worker.read()
        if message["type"] == "tick":
            if progress is not None:
                progress(worker.name, r, message["done"], size)
            continue
        records = [Record.from_dict(d) for d in message["records"]]
        run.records.extend(records)
        run.cpu_s += message["cpu_s"]
        run.wall_s += message["wall_s"]
        limited = message["rate_limited"]
        if limited is None:  # the client cannot tell: count the 429 failures
            run.sees_retried_429 = False
            limited = sum(1 for rec in records if rec.status == 429)
        run.rate_limited += limited
        if progress is not None:
            progress(worker.name, r, len(records), len(records))
        return
