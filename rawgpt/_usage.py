"""Usage accounting: one event per finished request, running totals per model, hooks.

Chat completions and Responses API calls count alike: a response's
``input_tokens`` / ``output_tokens`` are prompt / completion tokens, its
``output_tokens_details.reasoning_tokens`` and ``input_tokens_details.cached_tokens``
the reasoning and cached tokens (``completion_tokens_details`` /
``prompt_tokens_details`` in a chat completion), and its ``status`` the
event's finish_reason.

Every call (plain or streamed, succeeded or failed) ends in a RequestEvent. The
client adds it to its ``usage`` totals, hands it to each hook (for metrics
systems; a failing hook is logged, never raised into the call), and logs it at
DEBUG on logger ``rawgpt.request`` with the fields in ``extra["rawgpt"]``.
Nothing here ever sees the API key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._prices import Price, price_for, priced

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
    finish_reason: str | None = None  # a response's status for the Responses API
    remaining_requests: str | None = None
    remaining_tokens: str | None = None
    error: str | None = None  # the exception class name
    cost_usd: float | None = None
    rate_limited: int = 0  # attempts answered 429, retried or not
    response_id: str | None = None  # the answer's "id" (a stream's first chunk's)
    response_model: str | None = None  # the model that answered, as the answer names it
    reasoning_tokens: int = 0  # of completion_tokens
    cached_tokens: int = 0  # of prompt_tokens, served from the prompt cache


@dataclass(slots=True)
class ModelUsage:
    """Running totals for one model; the cost is derived from the tokens and the price."""

    requests: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    price: Price | None = None  # USD per 1M tokens (input, output); None: unknown model
    reasoning_tokens: int = 0  # of completion_tokens
    cached_tokens: int = 0  # of prompt_tokens

    @property
    def cost_usd(self) -> float:
        if self.price is None:
            return 0.0
        return priced(self.price, self.prompt_tokens, self.completion_tokens)

    @property
    def unpriced_requests(self) -> int:
        """Requests of a model without a known price (their cost is not in cost_usd)."""
        return self.requests if self.price is None else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failed": self.failed,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "unpriced_requests": self.unpriced_requests,
        }


@dataclass
class Usage:
    """Per-model totals of everything a client did; read them at any time."""

    prices: Mapping[str, Price] | None = None
    by_model: dict[str, ModelUsage] = field(default_factory=dict)
    hooks: list[Callable[[RequestEvent], None]] = field(default_factory=list)

    def _totals(self, model: str) -> ModelUsage:
        totals = self.by_model.get(model)
        if totals is None:
            totals = self.by_model[model] = ModelUsage(price=price_for(model, self.prices))
        return totals

    def count(
        self,
        path: str,
        model: str | None,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        status: int,
        attempts: int,
        started: float,
        debug: bool = False,
        rate_limited: int = 0,
    ) -> None:
        """A successful plain response: the hot path, which builds no event unless asked
        (by a hook, or ``debug``: the caller found DEBUG logging on)."""
        if self.hooks or debug:
            latency = time.monotonic() - started
            self.record(
                event_from(
                    path,
                    model,
                    body,
                    headers,
                    status=status,
                    attempts=attempts,
                    latency=latency,
                    rate_limited=rate_limited,
                )
            )
            return
        name = model or "unknown"
        totals = self.by_model.get(name) or self._totals(name)
        totals.requests += 1
        usage = body.get("usage")
        if type(usage) is not dict:
            return
        prompt = usage.get("prompt_tokens")
        if prompt is None:  # a Responses API answer's names (or none): the general reader
            prompt, completion, reasoning, cached = tokens(usage)
            totals.prompt_tokens += prompt
            totals.completion_tokens += completion
            totals.reasoning_tokens += reasoning
            totals.cached_tokens += cached
            return
        # A chat completion's (the hot path: no call, no tuple; details read when present)
        totals.prompt_tokens += prompt
        totals.completion_tokens += usage.get("completion_tokens") or 0
        details = usage.get("completion_tokens_details")
        if details and type(details) is dict:
            totals.reasoning_tokens += details.get("reasoning_tokens") or 0
        details = usage.get("prompt_tokens_details")
        if details and type(details) is dict:
            totals.cached_tokens += details.get("cached_tokens") or 0

    def record(self, event: RequestEvent) -> None:
        """Add one finished request's event to the totals, then hooks and the DEBUG log."""
        totals = self._totals(event.model or "unknown")
        totals.requests += 1
        if event.error is not None:
            totals.failed += 1
        totals.prompt_tokens += event.prompt_tokens
        totals.completion_tokens += event.completion_tokens
        totals.reasoning_tokens += event.reasoning_tokens
        totals.cached_tokens += event.cached_tokens
        if totals.price is not None:
            event.cost_usd = priced(totals.price, event.prompt_tokens, event.completion_tokens)
        for hook in self.hooks:
            try:
                hook(event)
            except Exception:
                log.exception("rawgpt usage hook %r failed", hook)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s in %.1f ms (request_id %s, %d+%d tokens)",
                event.path, event.model, event.status, event.latency * 1000, event.request_id,
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
    def reasoning_tokens(self) -> int:
        return sum(m.reasoning_tokens for m in self.by_model.values())

    @property
    def cached_tokens(self) -> int:
        return sum(m.cached_tokens for m in self.by_model.values())

    @property
    def cost_usd(self) -> float:
        return sum(m.cost_usd for m in self.by_model.values())

    def to_dict(self) -> dict[str, Any]:
        """The totals as plain data: per model, and overall."""
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "by_model": {name: m.to_dict() for name, m in self.by_model.items()},
        }


def event_from(
    path: str,
    model: str | None,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    **fields: Any,
) -> RequestEvent:
    """An event filled from a response body's usage/finish_reason (a Responses API answer:
    its status) and its headers."""
    event = RequestEvent(path, model, **fields)
    if body is not None:
        event.response_id = body.get("id")
        event.response_model = body.get("model")
        usage = body.get("usage")
        if type(usage) is dict:
            prompt, completion, reasoning, cached = tokens(usage)
            event.prompt_tokens, event.completion_tokens = prompt, completion
            event.reasoning_tokens, event.cached_tokens = reasoning, cached
        choices = body.get("choices")
        if type(choices) is list and choices and type(choices[0]) is dict:
            event.finish_reason = choices[0].get("finish_reason")
        elif type(body.get("status")) is str:
            event.finish_reason = body["status"]
    if headers is not None:
        event.request_id = headers.get("x-request-id")
        event.remaining_requests = headers.get("x-ratelimit-remaining-requests")
        event.remaining_tokens = headers.get("x-ratelimit-remaining-tokens")
    return event


def tokens(usage: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """Prompt, completion, reasoning and cached tokens of a chat completion's or a
    response's ``usage`` (``prompt_tokens`` or ``input_tokens``, and so on)."""
    prompt = usage.get("prompt_tokens") or usage.get("input_tokens") or 0
    completion = usage.get("completion_tokens") or usage.get("output_tokens") or 0
    out = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    into = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    reasoning = (out.get("reasoning_tokens") or 0) if type(out) is dict else 0
    cached = (into.get("cached_tokens") or 0) if type(into) is dict else 0
    return prompt, completion, reasoning, cached
