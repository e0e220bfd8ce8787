"""OpenTelemetry spans for rawgpt calls, with the GenAI semantic conventions.

Needs the ``otel`` extra (``pip install 'rawgpt[otel]'``: ``opentelemetry-api``
only; the SDK and exporters are the application's choice)::

    import rawgpt, rawgpt.otel
    client = rawgpt.AsyncClient()
    rawgpt.otel.instrument(client)          # every call: one CLIENT span "chat gpt-4o-mini"

Each call (retries included) is one span, current while the call runs (its
parent is whatever span is current where the call is made; the blocking
``Client`` carries the caller's context to its loop thread). A stream's span
ends when the stream ends, fails or is closed, or when it is garbage-collected
unread (``rawgpt.stream.abandoned``). Attributes: ``gen_ai.provider.name``
(and the older ``gen_ai.system``), ``gen_ai.operation.name``,
``gen_ai.request.*`` (model, max_tokens, temperature, top_p, penalties, stop
sequences, seed, choice count, encoding formats), ``gen_ai.response.id`` /
``.model`` / ``.finish_reasons``, ``gen_ai.usage.input_tokens`` /
``output_tokens``, ``gen_ai.response.time_to_first_chunk`` (streams, seconds),
``server.address`` / ``server.port``, ``http.response.status_code``,
``rawgpt.request.attempts``; on failure ``error.type`` (the exception's class
name) and status ERROR. No prompt or completion text unless
``capture_content=True`` (then ``gen_ai.input.messages`` and
``gen_ai.output.messages``, as JSON).

Nothing here runs for a client that is not instrumented: ``import rawgpt``
does not import this module or OpenTelemetry, and a plain client's calls go
straight to its request loop.
"""

from __future__ import annotations

import contextvars
import json
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from ._client import AsyncClient
from ._streaming import AsyncStream, SSEStream
from ._sync import Client
from ._usage import RequestEvent
from ._version import __version__

__all__ = ["instrument", "uninstrument"]

Send = Callable[..., Awaitable[Any]]

_OPERATIONS = {
    "/chat/completions": "chat",
    "/embeddings": "embeddings",
    "/completions": "text_completion",
    "/responses": "chat",
}
# Request keywords -> GenAI attributes (the value as it is).
_REQUEST = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
)


class _Call:
    """One traced call: its span, and the RequestEvent the client recorded for it."""

    __slots__ = ("__weakref__", "ended", "event", "span", "start")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.event: RequestEvent | None = None
        self.ended = False
        self.start = time.monotonic()


# The traced call whose RequestEvent the client is about to record (set around the call,
# and around a stream's end), for _take_event.
_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("rawgpt_otel_call")


# The event the client recorded last outside a traced call's send: a stream's, recorded
# at its end just before the stream's end callbacks run (on the same stack).
_ENDED: contextvars.ContextVar[RequestEvent | None] = contextvars.ContextVar("rawgpt_otel_end")


def _take_event(event: RequestEvent) -> None:
    """A usage hook: hand the event to the traced call it belongs to (attempts etc.)."""
    call = _CALL.get(None)
    if call is not None:
        call.event = event
    else:
        _ENDED.set(event)


def _target(client: AsyncClient | Client) -> AsyncClient | Client:
    # The blocking Client hands wrap_send and usage to the AsyncClient it drives.
    if not isinstance(client, AsyncClient | Client):
        raise TypeError(f"instrument() takes a rawgpt client, not {type(client).__name__}")
    return client


def instrument(
    client: AsyncClient | Client,
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool = False,
) -> None:
    """Make every call of ``client`` (an AsyncClient or a blocking Client) a CLIENT span.

    ``tracer_provider``: default, OpenTelemetry's global one. ``capture_content``:
    also record the chat messages sent and received (off by default: they may hold
    personal data). Clients made by ``client.with_options()`` afterwards are traced
    too; instrumenting again replaces the settings.
    """
    target = _target(client)
    tracer = trace.get_tracer("rawgpt", __version__, tracer_provider=tracer_provider)

    def wrap(send: Send) -> Send:
        return _traced(send, tracer, capture_content)

    target.wrap_send(wrap)
    if _take_event not in target.usage.hooks:
        target.usage.hooks.append(_take_event)


def uninstrument(client: AsyncClient | Client) -> None:
    """Stop tracing ``client`` (clients already made from it by with_options() keep theirs,
    without attempt counts)."""
    target = _target(client)
    target.wrap_send(None)
    if _take_event in target.usage.hooks:
        target.usage.hooks.remove(_take_event)


def _server(send: Send) -> dict[str, Any]:
    owner = getattr(send, "__self__", None)
    parts = urlsplit(getattr(owner, "base_url", ""))
    attrs: dict[str, Any] = {}
    if parts.hostname:
        attrs["server.address"] = parts.hostname
        attrs["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    return attrs


def _traced(send: Send, tracer: trace.Tracer, capture: bool) -> Send:
    server = _server(send)

    async def traced(path: str, body: Mapping[str, Any], **options: Any) -> Any:
        operation = _OPERATIONS.get(path if path.startswith("/") else "/" + path)
        operation = operation or path.strip("/").rpartition("/")[2] or "request"
        attrs = _request_attributes(operation, body, capture)
        attrs.update(server)
        model = attrs.get("gen_ai.request.model")
        name = f"{operation} {model}" if model else operation
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attrs)
        call = _Call(span)
        token = _CALL.set(call)
        current = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = await send(path, body, **options)
        except BaseException as error:
            _end(call, None, error, capture)
            raise
        finally:
            otel_context.detach(current)
            _CALL.reset(token)
        if isinstance(result, SSEStream):  # a chat or a Responses API stream
            _follow(result, call, capture)
        else:
            _end(call, result.to_dict(), None, capture)
        return result

    return traced


def _request_attributes(operation: str, body: Mapping[str, Any], capture: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
    }
    model = body.get("model")
    if isinstance(model, str):
        attrs["gen_ai.request.model"] = model
    for key, name in _REQUEST:
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[name] = value
    stop = body.get("stop")
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = stop
    n = body.get("n")
    if isinstance(n, int) and n != 1:
        attrs["gen_ai.request.choice.count"] = n
    fmt = body.get("encoding_format")
    if isinstance(fmt, str):
        attrs["gen_ai.request.encoding_formats"] = [fmt]
    messages = body.get("messages")
    if capture and isinstance(messages, list):
        attrs["gen_ai.input.messages"] = _json([_message(m) for m in messages])
    return attrs


def _follow(stream: SSEStream[Any], call: _Call, capture: bool) -> None:
    """End the span with the stream: an end callback (run just after the client records
    the usage event), and at its garbage collection if it is dropped unread."""
    ref = weakref.ref(stream)

    def on_end(summary: dict[str, Any], first_chunk_at: float | None, error: Any) -> None:
        event = _ENDED.get(None)
        _ENDED.set(None)
        live = ref()
        if event is not None and live is not None and event.request_id == live.request_id:
            call.event = event
        answer = summary
        if live is not None and live.completed:  # every choice, the text
            final = (
                live.get_final_completion()
                if isinstance(live, AsyncStream)
                else live.get_final_response()  # type: ignore[attr-defined]
            )
            answer = final.to_dict()
        if first_chunk_at is not None:
            call.span.set_attribute(
                "gen_ai.response.time_to_first_chunk", max(0.0, first_chunk_at - call.start)
            )
        _end(call, answer, error, capture)

    stream.add_end_callback(on_end)
    weakref.finalize(stream, _abandoned, call)


def _abandoned(call: _Call) -> None:
    if not call.ended:
        call.span.set_attribute("rawgpt.stream.abandoned", True)
        _end(call, None, None, False)


def _end(call: _Call, answer: Mapping[str, Any] | None, error: Any, capture: bool) -> None:
    if call.ended:
        return
    call.ended = True
    span, event = call.span, call.event
    attrs: dict[str, Any] = {}
    if event is not None:
        attrs["rawgpt.request.attempts"] = event.attempts
        if event.rate_limited:
            attrs["rawgpt.request.rate_limited"] = event.rate_limited
        if event.status is not None:
            attrs["http.response.status_code"] = event.status
        if event.response_id:
            attrs["gen_ai.response.id"] = event.response_id
        if event.response_model:
            attrs["gen_ai.response.model"] = event.response_model
        if event.finish_reason:
            attrs["gen_ai.response.finish_reasons"] = [event.finish_reason]
        if event.prompt_tokens or event.completion_tokens:
            attrs["gen_ai.usage.input_tokens"] = event.prompt_tokens
            attrs["gen_ai.usage.output_tokens"] = event.completion_tokens
    if answer is not None:
        _answer_attributes(attrs, answer, capture)
    span.set_attributes(attrs)
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


def _answer_attributes(attrs: dict[str, Any], answer: Mapping[str, Any], capture: bool) -> None:
    if isinstance(answer.get("id"), str):
        attrs["gen_ai.response.id"] = answer["id"]
    if isinstance(answer.get("model"), str):
        attrs["gen_ai.response.model"] = answer["model"]
    usage = answer.get("usage")
    if isinstance(usage, dict):
        tokens_in = usage.get("prompt_tokens", usage.get("input_tokens"))
        tokens_out = usage.get("completion_tokens", usage.get("output_tokens"))
        if isinstance(tokens_in, int):
            attrs["gen_ai.usage.input_tokens"] = tokens_in
        if isinstance(tokens_out, int):
            attrs["gen_ai.usage.output_tokens"] = tokens_out
    choices = answer.get("choices")
    if not isinstance(choices, list):
        return
    reasons = [c.get("finish_reason") for c in choices if isinstance(c, dict)]
    if reasons and all(isinstance(r, str) for r in reasons):
        attrs["gen_ai.response.finish_reasons"] = reasons
    if capture:
        out = []
        for choice in choices:
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                message = _message(choice["message"])
                message["finish_reason"] = choice.get("finish_reason")
                out.append(message)
        if out:
            attrs["gen_ai.output.messages"] = _json(out)


def _message(message: Any) -> dict[str, Any]:
    """A chat message in the GenAI conventions' shape: a role and a list of parts."""
    if not isinstance(message, dict):
        return {"role": "unknown", "parts": []}
    parts: list[Any] = []
    content = message.get("content")
    if message.get("role") == "tool":
        parts.append(
            {"type": "tool_call_response", "id": message.get("tool_call_id"), "response": content}
        )
    elif isinstance(content, str):
        parts.append({"type": "text", "content": content})
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append({"type": "text", "content": part.get("text")})
            else:
                parts.append(part)
    for tool_call in message.get("tool_calls") or ():
        if isinstance(tool_call, dict):
            function = tool_call.get("function") or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": tool_call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    return {"role": message.get("role", "assistant"), "parts": parts}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
