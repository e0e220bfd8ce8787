"""The queue in front of Redis: one per (base_url, model) in each process.

Callers queue in FIFO order (``asyncio.Lock`` wakes its waiters in order);
only the head asks Redis for admission. The admission script answers "ok"
(with the counters to learn against) or "wait N seconds", and the head sleeps
exactly that long: no polling, and no Redis traffic per waiter. When the script
cannot say when (the shared slow-start window is full until someone answers),
the head looks again every ``POLL`` seconds, or sooner when a release in this
process may have made room.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

from ..limiter import deadline_error, late_error, too_large_error
from ..state import INF, KeyState, Ticket, snapshot
from .scripts import Admission, Scripts, View

POLL = 0.05  # seconds between looks while the shared slow-start window is full


class SharedTicket(Ticket):
    """A ticket admitted by Redis: its marks are the shared counters at admission."""

    __slots__ = ("queue",)

    def __init__(  # no super().__init__: the marks come from Redis, not from a KeyState
        self, state: KeyState, queue: Queue, cost: int, at: float, probe: bool, admission: Admission
    ) -> None:
        self.state = state  # the local state: only its circuit breaker is used
        self.queue = queue
        self.cost = cost
        self.at = at
        self.req_mark = admission.req_mark
        self.tok_mark = admission.tok_mark
        self.req_ahead = admission.req_ahead
        self.tok_ahead = admission.tok_ahead
        self.oversize = admission.oversize
        self.probe = probe
        self.done = False


class Queue:
    """Redis keys, the FIFO, and the last view of the shared state, for one (base_url, model).

    ``give_back`` returns an admission whose caller was cancelled meanwhile.
    """

    __slots__ = (
        "clock",
        "give_back",
        "keys",
        "lock",
        "name",
        "open_ended",
        "scripts",
        "view",
        "view_at",
        "waiting",
        "wake",
    )

    def __init__(
        self,
        name: str,
        namespace: str,
        scripts: Scripts,
        clock: Callable[[], float],
        give_back: Callable[[SharedTicket], None],
    ) -> None:
        self.name = name
        self.scripts = scripts
        self.clock = clock
        self.give_back = give_back
        tag = "{" + name + "}"  # one hash slot for all the keys (Redis Cluster)
        parts = ("state", "leases", "members", "queue")
        self.keys = tuple(f"{namespace}:{tag}:{part}" for part in parts)
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.open_ended = False  # the head waits for an event, not for a known time
        self.waiting = 0
        self.view: View | None = None
        self.view_at = 0.0

    def seen(self, view: View | None, now: float) -> None:
        """Keep the state view of a script's reply (for snapshot and size checks)."""
        if view is not None:
            self.view = view
            self.view_at = now

    async def admit(self, state: KeyState, cost: int, deadline: float | None) -> Ticket | None:
        """Wait for our turn, then for Redis's admission; None when Redis failed."""
        clock = self.clock
        if self.view is not None and (limit := self.view.refuses(cost)) is not None:
            raise too_large_error(self.name, cost, limit)
        self.waiting += 1
        try:
            if deadline is None or not self.lock.locked():
                await self.lock.acquire()
            else:
                try:
                    async with asyncio.timeout(max(0.0, deadline - clock())):
                        await self.lock.acquire()
                except TimeoutError:
                    raise deadline_error() from None
        finally:
            self.waiting -= 1
        try:
            return await self._head(state, cost, deadline)
        finally:
            self.lock.release()

    async def _head(self, state: KeyState, cost: int, deadline: float | None) -> Ticket | None:
        scripts, clock, breaker = self.scripts, self.clock, state.breaker
        queued = 0  # our place in the line across processes, once Redis gave us one
        while True:
            self.wake.clear()
            now = clock()
            wait = 0.0 if breaker is None else breaker.delay(now)
            known = wait != INF
            if not wait:
                if not scripts.healthy:
                    return None
                call = asyncio.ensure_future(scripts.admit(self.keys, cost, queued, deadline))
                try:
                    admission = await asyncio.shield(call)
                except asyncio.CancelledError:  # admitted as we were cancelled: give it back
                    orphan = functools.partial(_orphan, state, self, cost)
                    call.add_done_callback(orphan)
                    raise
                if admission is None:
                    return None
                self.seen(admission.view, clock())
                if admission.verdict == "ok":
                    probe = breaker is not None and breaker.started()
                    return SharedTicket(state, self, cost, clock(), probe, admission)
                if admission.verdict == "big":
                    raise too_large_error(self.name, cost, admission.token_limit)
                wait, known, queued = admission.wait, admission.known, admission.queued
            await self._pause(clock(), wait, known, deadline)

    async def _pause(self, now: float, wait: float, known: bool, deadline: float | None) -> None:
        if deadline is not None:
            if known and now + wait > deadline:  # it cannot make it: fail now, not later
                raise late_error(wait)
            if now >= deadline:
                raise deadline_error()
            wait = min(wait, deadline - now)
        self.open_ended = not known  # then this process's releases wake the head early
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait if known else min(wait, 1.0)):
                await self.wake.wait()

    def snapshot(self, now: float, state: KeyState | None) -> dict[str, Any]:
        """The shared state as the last reply saw it, the buckets refilled since."""
        view = self.view or View(False, -1, 0, -1, 0, 1, 0, 0, 1, False)
        elapsed = now - self.view_at

        def bucket(limit: float, level: float) -> tuple[float, float] | None:
            return None if limit <= 0 else (limit, min(limit, level + elapsed * limit / 60.0))

        out = snapshot(
            learned=view.learned,
            requests=bucket(view.limit_requests, view.remaining_requests),
            tokens=bucket(view.limit_tokens, view.remaining_tokens),
            window=view.window,
            in_flight=view.in_flight,
            waiting=self.waiting,
            cooldown=view.cooldown - elapsed,
            breaker=None if state is None else state.breaker,
        )
        out.update(shared=True, limiters=view.members)
        return out


def _orphan(
    state: KeyState, queue: Queue, cost: int, call: asyncio.Future[Admission | None]
) -> None:
    """The admission a cancelled caller never received goes back at once."""
    if call.cancelled() or call.exception() is not None:
        return
    admission = call.result()
    if admission is not None and admission.verdict == "ok":
        queue.give_back(SharedTicket(state, queue, cost, queue.clock(), False, admission))
