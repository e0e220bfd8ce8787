"""Usage accounting: one event per finished request, running totals per model, hooks.

Every call (plain or streamed, succeeded or failed) ends in a RequestEvent. The
client adds it to its ``usage`` totals, hands it to each hook (for metrics
systems; a failing hook is logged, never raised into the call), and logs it at
DEBUG on logger ``rawgpt.request`` with the fields in ``extra["rawgpt"]``.
Nothing here ever sees the API key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._prices import Price, cost_usd

log = logging.getLogger("rawgpt.request")


@dataclass(slots=True)
class RequestEvent:
    """What one API call did."""

    path: str
    model: str | None
    status: int | None  # None: no HTTP answer (connection error, timeout)
    attempts: int
    latency: float  # seconds from the call to its answer (streams: to the end)
    request_id: str | None = None
    stream: bool = False
    ttft: float | None = None  # streams: seconds to the first chunk
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    remaining_requests: str | None = None
    remaining_tokens: str | None = None
    error: str | None = None  # the exception class name
    cost_usd: float | None = None


@dataclass(slots=True)
class ModelUsage:
    """Running totals for one model."""

    requests: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_requests: int = 0  # requests of a model without a known price


@dataclass
class Usage:
    """Per-model totals of everything a client did; read them at any time."""

    prices: Mapping[str, Price] | None = None
    by_model: dict[str, ModelUsage] = field(default_factory=dict)
    hooks: list[Callable[[RequestEvent], None]] = field(default_factory=list)

    def record(self, event: RequestEvent) -> None:
        model = event.model or "unknown"
        totals = self.by_model.get(model)
        if totals is None:
            totals = self.by_model[model] = ModelUsage()
        totals.requests += 1
        if event.error is not None:
            totals.failed += 1
        if event.prompt_tokens or event.completion_tokens:
            totals.prompt_tokens += event.prompt_tokens
            totals.completion_tokens += event.completion_tokens
            cost = cost_usd(model, event.prompt_tokens, event.completion_tokens, self.prices)
            event.cost_usd = cost
            if cost is None:
                totals.unpriced_requests += 1
            else:
                totals.cost_usd += cost
        for hook in self.hooks:
            try:
                hook(event)
            except Exception:
                log.exception("rawgpt usage hook %r failed", hook)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s in %.1f ms (request_id %s, %d+%d tokens)",
                event.path, model, event.status, event.latency * 1000, event.request_id,
                event.prompt_tokens, event.completion_tokens,
                extra={"rawgpt": asdict(event)},
            )  # fmt: skip

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.by_model.values())

    @property
    def prompt_tokens(self) -> int:
        return sum(m.prompt_tokens for m in self.by_model.values())

    @property
    def completion_tokens(self) -> int:
        return sum(m.completion_tokens for m in self.by_model.values())

    @property
    def cost_usd(self) -> float:
        return sum(m.cost_usd for m in self.by_model.values())

    def to_dict(self) -> dict[str, Any]:
        """The totals as plain data: per model, and overall."""
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "by_model": {name: asdict(m) for name, m in self.by_model.items()},
        }


def event_from(
    path: str,
    model: str | None,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    **fields: Any,
) -> RequestEvent:
    """An event filled from a response body's usage/finish_reason and its headers."""
    event = RequestEvent(path, model, **fields)
    if body is not None:
        usage = body.get("usage")
        if type(usage) is dict:
            event.prompt_tokens = usage.get("prompt_tokens") or 0
            event.completion_tokens = usage.get("completion_tokens") or 0
        choices = body.get("choices")
        if type(choices) is list and choices and type(choices[0]) is dict:
            event.finish_reason = choices[0].get("finish_reason")
    if headers is not None:
        event.request_id = headers.get("x-request-id")
        event.remaining_requests = headers.get("x-ratelimit-remaining-requests")
        event.remaining_tokens = headers.get("x-ratelimit-remaining-tokens")
    return event
