"""How the mock server's responses go out: headers, stats, bodies, streams, pauses.

``ResponseWriter`` is the base of the dispatcher. It stamps every response with
OpenAI's headers (request id, processing time, rate limits, the edge's two
cookies), counts statuses, writes JSON bodies (optionally cut or stalled
halfway) and SSE event lists (paced, stalled or aborted). Every wait goes
through ``pause``, which wakes early and drops the connection when the server
stops, so no stalled handler outlives ``MockServer.stop()``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from dataclasses import dataclass, field

from aiohttp import web

from .errors import ORG
from .faults import Fault
from .limits import RateLimiter
from .stream import StreamScript, pace

JSON = "application/json"
HTML = "text/html; charset=utf-8"
SSE = "text/event-stream; charset=utf-8"


@dataclass(slots=True)
class MockStats:
    """Counters since the server was created."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    rate_limited: int = 0  # responses with status 429, whatever the cause
    faults: int = 0  # requests that received an injected fault

    def count(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status == 429:
            self.rate_limited += 1


class Drop(Exception):
    """Abort the connection (a fault, or the server is stopping)."""


class Ctx:
    """Per-request state: the request, when it arrived, the rate-limit headers as they
    stood when it was admitted, the response once started."""

    __slots__ = ("limits", "request", "response", "started")

    def __init__(self, request: web.BaseRequest) -> None:
        self.request = request
        self.started = time.perf_counter()
        self.limits: dict[str, str] | None = None
        self.response: web.StreamResponse | None = None


def retry_headers(wait: float, *, exact: bool) -> dict[str, str]:
    """``retry-after`` (whole seconds, or ``wait`` as given) and ``retry-after-ms``."""
    if not exact:
        after = str(math.ceil(wait))
    elif wait == int(wait):
        after = str(int(wait))
    else:
        after = f"{wait:.3f}".rstrip("0")
    return {"retry-after": after, "retry-after-ms": str(math.ceil(wait * 1000))}


class ResponseWriter:
    """Builds and writes responses; ``closing`` resolves when the server stops."""

    def __init__(
        self, limiter: RateLimiter, interval: float, first_token: float | None = None
    ) -> None:
        self.limiter = limiter
        self.stats = MockStats()
        self.closing: asyncio.Future[None] | None = None
        self.interval = interval
        self.first_token = first_token
        self.ids = itertools.count(1)
        self._prefix = os.urandom(8).hex()

    def headers(self, ctx: Ctx, content_type: str) -> dict[str, str]:
        headers = self.limiter.headers() if ctx.limits is None else dict(ctx.limits)
        headers["Content-Type"] = content_type
        headers["x-request-id"] = f"req_{self._prefix}{next(self.ids):016x}"
        headers["openai-processing-ms"] = str(round((time.perf_counter() - ctx.started) * 1000))
        headers["openai-organization"] = ORG
        headers["openai-version"] = "2020-10-01"
        return headers

    def cookies(self, resp: web.StreamResponse) -> None:
        """The two cookies OpenAI's Cloudflare edge sets on every answer, scoped to this
        host (no ``domain``, no ``Secure``: the mock serves plain http on loopback)."""
        stamp = int(time.time())
        resp.headers.add(
            "Set-Cookie",
            f"__cf_bm={self._prefix}-{stamp}-1.0.1.1; path=/; HttpOnly; SameSite=None",
        )
        resp.headers.add(
            "Set-Cookie", f"_cfuvid={self._prefix}-{stamp}-0.0.1.1; path=/; HttpOnly; SameSite=None"
        )

    def json(
        self,
        ctx: Ctx,
        status: int,
        body: bytes,
        content_type: str = JSON,
        extra: dict[str, str] | None = None,
    ) -> web.Response:
        headers = self.headers(ctx, content_type)
        if extra:
            headers.update(extra)
        self.stats.count(status)
        resp = web.Response(status=status, body=body, headers=headers)
        self.cookies(resp)
        return resp

    async def _begin(
        self, ctx: Ctx, content_type: str, length: int | None = None
    ) -> web.StreamResponse:
        resp = ctx.response = web.StreamResponse(headers=self.headers(ctx, content_type))
        self.cookies(resp)
        if length is not None:
            resp.content_length = length
        self.stats.count(200)
        await resp.prepare(ctx.request)
        return resp

    async def send(self, ctx: Ctx, payload: bytes, fault: Fault | None) -> web.StreamResponse:
        """A 200 JSON body; ``reset`` drops it halfway, ``stall`` pauses halfway."""
        if fault is None or fault.kind not in ("reset", "stall", "malformed"):
            return self.json(ctx, 200, payload)
        half = len(payload) // 2
        if fault.kind == "malformed":
            return self.json(ctx, 200, payload[:half])
        resp = await self._begin(ctx, JSON, len(payload))
        await resp.write(payload[:half])
        if fault.kind == "reset":
            raise Drop
        await self.pause(fault.seconds)
        await resp.write(payload[half:])
        return resp

    async def stream(self, ctx: Ctx, script: StreamScript) -> web.StreamResponse:
        """Write SSE events: all at once when unpaced, else paced (see ``pace``)."""
        resp = await self._begin(ctx, SSE)
        events, stall_at = script.events, script.stall_at
        if self.interval <= 0 and self.first_token is None:
            split = len(events) if stall_at is None else stall_at
            if split:
                await resp.write(b"".join(events[:split]))
            if stall_at is not None:
                await self.pause(script.stall_seconds)
                await resp.write(b"".join(events[split:]))
        elif self.first_token is None:
            for i, event in enumerate(events):
                if i == stall_at:
                    await self.pause(script.stall_seconds)
                if i:
                    await self.pause(self.interval)
                await resp.write(event)
        else:  # a model's pace: each token at its time from the request's arrival, so
            # neither timer lateness nor write time adds up over a long stream
            delays = pace(len(events), self.interval, self.first_token, script.content)
            due = ctx.started
            for i, event in enumerate(events):
                if i == stall_at:
                    await self.pause(script.stall_seconds)
                    due += script.stall_seconds
                due += delays[i]
                await self.pause(due - time.perf_counter())
                await resp.write(event)
        if script.abort:
            raise Drop
        return resp

    async def pause(self, seconds: float) -> None:
        """Sleep, but stop at once (dropping the connection) when the server closes."""
        closing = self.closing
        if seconds <= 0 or closing is None:
            return
        if not closing.done():
            await asyncio.wait((closing,), timeout=seconds)
        if closing.done():
            raise Drop
