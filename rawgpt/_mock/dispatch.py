"""Request handling for the mock server: routing, auth, faults, limits, endpoints.

``Dispatcher.handle`` is the aiohttp low-level handler behind ``MockServer``. It
owns the server's mutable state (recorded requests, stats, the fault queue, the
rate limiter) so that ``MockServer`` itself only configures and runs it. The
order of checks: record, latency, route (404), auth (401), JSON (400), fault,
quota, validation (400), rate limits (429), then the answer.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from .errors import (
    NO_API_KEY,
    NOT_JSON,
    QUOTA,
    denial_error,
    html_page,
    invalid_api_key,
    invalid_param,
    invalid_url,
    status_error,
)
from .faults import ERROR_KINDS, Fault, parse_fault
from .limits import RateLimiter
from .responses import (
    MODELS_JSON,
    chat_cost,
    completion_json,
    embedding_cost,
    embedding_items,
    embeddings_json,
    plan_chat,
    validate,
)
from .responses_api import (
    RESPONSES_ENDINGS,
    check_request,
    plan_response,
    response_events,
    response_json,
    responses_cost,
)
from .stream import chat_events, stream_script
from .writer import HTML, Ctx, Drop, ResponseWriter, retry_headers

_CHAT, _EMBEDDINGS, _MODELS = "/v1/chat/completions", "/v1/embeddings", "/v1/models"
_RESPONSES = "/v1/responses"
_STREAMED = frozenset((_CHAT, _RESPONSES))
_ANSWER_FAULTS = frozenset(("failed", "refusal"))  # change the answer, not its delivery
_BAD_INPUT = "Invalid 'input': expected a string, an array of strings or of token arrays."


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, or None (no body, or not JSON)
    time: float  # time.time() on arrival


@dataclass(slots=True)
class Pending:
    """A queued fault and how many more requests it applies to."""

    fault: Fault
    times: int


@dataclass(frozen=True, slots=True)
class Options:
    """The dispatcher's fixed settings (times in seconds)."""

    latency: float = 0.0
    jitter: float = 0.0
    interval: float = 0.0
    chunks: int | None = None
    reply: str = ""
    fail_rate: float = 0.0
    fail_fault: Fault | None = None
    seed: int | None = None
    quota_exhausted: bool = False
    api_key: str | None = None
    record: bool = True


def _cost(path: str, body: dict[str, Any]) -> int:
    try:
        if path == _RESPONSES:
            return responses_cost(body)
        return chat_cost(body) if path == _CHAT else embedding_cost(body)
    except (TypeError, ValueError):
        return 0


Route = Callable[[Ctx, dict[str, Any], Fault | None], Awaitable[web.StreamResponse]]


class Dispatcher(ResponseWriter):
    """Serves one ``MockServer``."""

    def __init__(self, limiter: RateLimiter, options: Options) -> None:
        super().__init__(limiter, options.interval)
        self.opts = options
        self.requests: list[RecordedRequest] = []
        self.faults: deque[Pending] = deque()
        self._rng = random.Random(options.seed)
        self._jitter_rng = random.Random(
            options.seed
        )  # apart: jitter leaves faults' draws as they are
        self._routes: dict[tuple[str, str], Route] = {
            ("POST", _CHAT): self._chat,
            ("POST", _EMBEDDINGS): self._embeddings,
            ("POST", _RESPONSES): self._responses,
            ("GET", _MODELS): self._models,
        }

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        ctx = Ctx(request)
        try:
            return await self._handle(ctx)
        except (Drop, ConnectionError):
            if request.transport is not None:
                request.transport.abort()
            return ctx.response or web.Response()

    async def _handle(self, ctx: Ctx) -> web.StreamResponse:
        request, opts = ctx.request, self.opts
        body: Any = None
        bad_json = False
        if request.body_exists:
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                bad_json = True
        self.stats.requests += 1
        if opts.record:
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.requests.append(
                RecordedRequest(request.method, request.path, headers, body, time.time())
            )
        await self.pause(opts.latency)
        if opts.jitter:  # requests overtake each other on their way to the rate limiter
            await self.pause(self._jitter_rng.uniform(0.0, opts.jitter))
        route = self._routes.get((request.method, request.path))
        if route is None:
            return self.json(ctx, 404, invalid_url(request.method, request.path))
        auth = request.headers.get("Authorization", "").strip()
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else auth
        if not key:
            return self.json(ctx, 401, NO_API_KEY)
        if opts.api_key is not None and key != opts.api_key:
            return self.json(ctx, 401, invalid_api_key(key))
        if request.method == "POST" and (bad_json or not isinstance(body, dict)):
            return self.json(ctx, 400, NOT_JSON)
        payload: dict[str, Any] = body if isinstance(body, dict) else {}
        try:
            fault = self._take_fault(request)
        except ValueError as exc:
            return self.json(ctx, 400, invalid_param("x-mock-fault", str(exc)))
        if fault is not None:
            self.stats.faults += 1
            streamed = request.path in _STREAMED and payload.get("stream") is True
            fault = fault.for_stream(streamed, responses=request.path == _RESPONSES)
            if fault.kind == "refusal" and request.path not in _STREAMED:
                message = "The refusal fault applies to chat completions and responses only."
                return self.json(ctx, 400, invalid_param("x-mock-fault", message))
            if fault.kind in ERROR_KINDS:
                return self._fault_error(ctx, fault, payload)
            if fault.kind == "slow_headers":
                await self.pause(fault.seconds)
                fault = None
        if opts.quota_exhausted:
            return self.json(ctx, 429, QUOTA)
        return await route(ctx, payload, fault)

    def _take_fault(self, request: web.BaseRequest) -> Fault | None:
        spec = request.headers.get("x-mock-fault")
        if spec is not None:
            return parse_fault(spec)
        if self.faults:
            pending = self.faults[0]
            pending.times -= 1
            if pending.times <= 0:
                self.faults.popleft()
            return pending.fault
        if self.opts.fail_rate and self._rng.random() < self.opts.fail_rate:
            return self.opts.fail_fault
        return None

    async def _chat(
        self, ctx: Ctx, body: dict[str, Any], fault: Fault | None
    ) -> web.StreamResponse:
        if (error := validate(body, "messages")) is not None:
            return self.json(ctx, 400, error)
        if (denied := self._admit(ctx, body["model"], chat_cost(body))) is not None:
            return denied
        await self._spread(ctx)
        refuse = fault is not None and fault.kind == "refusal"
        plan = plan_chat(body, self.opts.reply, refuse=refuse)
        fault = None if refuse else fault
        completion_id, created = f"chatcmpl-{next(self.ids)}", int(time.time())
        if body.get("stream") is True:
            options = body.get("stream_options")
            usage = isinstance(options, dict) and options.get("include_usage") is True
            events = chat_events(plan, completion_id, created, self.opts.chunks, usage)
            return await self.stream(ctx, stream_script(events, fault))
        return await self.send(ctx, completion_json(plan, completion_id, created), fault)

    async def _responses(
        self, ctx: Ctx, body: dict[str, Any], fault: Fault | None
    ) -> web.StreamResponse:
        if (error := check_request(body)) is not None:
            return self.json(ctx, 400, error)
        if (denied := self._admit(ctx, body["model"], responses_cost(body))) is not None:
            return denied
        await self._spread(ctx)
        answer = fault.kind if fault is not None and fault.kind in _ANSWER_FAULTS else None
        plan = plan_response(body, self.opts.reply, answer)
        fault = None if answer else fault
        suffix, created = f"{self._prefix}{next(self.ids):08x}", int(time.time())
        if body.get("stream") is True:
            events = response_events(plan, suffix, created, self.opts.chunks)
            return await self.stream(ctx, stream_script(events, fault, RESPONSES_ENDINGS))
        return await self.send(ctx, response_json(plan, suffix, created), fault)

    async def _embeddings(
        self, ctx: Ctx, body: dict[str, Any], fault: Fault | None
    ) -> web.StreamResponse:
        if (error := validate(body, "input")) is not None:
            return self.json(ctx, 400, error)
        if embedding_items(body) is None:
            return self.json(ctx, 400, invalid_param("input", _BAD_INPUT))
        if (denied := self._admit(ctx, body["model"], embedding_cost(body))) is not None:
            return denied
        await self._spread(ctx)
        return await self.send(ctx, embeddings_json(body), fault)

    async def _models(
        self, ctx: Ctx, body: dict[str, Any], fault: Fault | None
    ) -> web.StreamResponse:
        return await self.send(ctx, MODELS_JSON, fault)

    async def _spread(self, ctx: Ctx) -> None:
        """After admission, a random share of ``jitter`` before answering, as a real server
        takes longer on some requests than on others: answers leave in another order than
        they were admitted, each with the rate-limit headers of its own admission."""
        if self.opts.jitter:
            ctx.limits = self.limiter.headers()
            await self.pause(self._jitter_rng.uniform(0.0, self.opts.jitter))

    def _admit(self, ctx: Ctx, model: str, cost: int) -> web.Response | None:
        denial = self.limiter.admit(cost)
        if denial is None:
            return None
        extra = None if denial.kind == "too_large" else retry_headers(denial.wait, exact=False)
        return self.json(ctx, 429, denial_error(denial, model), extra=extra)

    def _fault_error(self, ctx: Ctx, fault: Fault, body: dict[str, Any]) -> web.Response:
        model = body.get("model")
        model = model if isinstance(model, str) else "unknown-model"
        extra: dict[str, str] = {}
        if fault.should_retry is not None:
            extra["x-should-retry"] = "true" if fault.should_retry else "false"
        if fault.kind == "status" and fault.html:
            return self.json(ctx, fault.status, html_page(fault.status), HTML, extra)
        if fault.kind == "status":
            return self.json(ctx, fault.status, status_error(fault.status, model), extra=extra)
        if fault.kind == "quota":
            return self.json(ctx, 429, QUOTA, extra=extra)
        if fault.kind == "too_large":
            denial = self.limiter.denial("too_large", _cost(ctx.request.path, body))
            return self.json(ctx, 429, denial_error(denial, model), extra=extra)
        extra.update(retry_headers(fault.seconds, exact=True))
        denial = self.limiter.denial("requests", 1, fault.seconds)
        return self.json(ctx, 429, denial_error(denial, model), extra=extra)
