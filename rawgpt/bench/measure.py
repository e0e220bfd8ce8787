"""Send one chat completion and time it, the same way for every client.

``measure`` takes the client's ``chat.completions.create`` (rawgpt's and the
SDK's have the same shape and their chunks the same fields), so every client is
timed by the same lines: the clock is read when the call starts, on each chunk
that carries content (a content, refusal or tool-call delta) and when the
stream ends. Output tokens come from the server's ``usage`` (asked for with
``stream_options.include_usage``), else from the content deltas counted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .record import Record

Create = Callable[..., Awaitable[Any]]
Clock = Callable[[], float]


async def measure(
    create: Create, body: dict[str, Any], index: int, clock: Clock, zero: float
) -> Record:
    """Send ``body`` through ``create``; a Record with times since ``zero`` on ``clock``."""
    start = clock()
    record = Record(index, start - zero)
    try:
        if body.get("stream"):
            await _stream(create, body, record, clock, start)
        else:
            reply = await create(**body)
            usage = reply.usage
            if usage is not None:
                record.output_tokens = usage.completion_tokens or 0
                record.prompt_tokens = usage.prompt_tokens
            else:
                record.tokens_from = "none"
    except Exception as exc:  # every failure is a figure: counted by type, never raised
        record.error = type(exc).__name__
        status = getattr(exc, "status_code", None)
        record.status = status if isinstance(status, int) else None
    record.end = clock() - zero
    return record


async def _stream(
    create: Create, body: dict[str, Any], record: Record, clock: Clock, start: float
) -> None:
    stream = await create(**body)
    usage = None
    last = 0.0
    deltas = 0
    gaps = record.gaps
    async with stream:
        async for chunk in stream:
            choices = chunk.choices
            if choices:
                delta = choices[0].delta
                if delta is not None and (delta.content or delta.refusal or delta.tool_calls):
                    now = clock()
                    if deltas:
                        gaps.append(now - last)
                    else:
                        record.ttft = now - start
                    last = now
                    deltas += 1
            if chunk.usage is not None:
                usage = chunk.usage
    if usage is not None and usage.completion_tokens is not None:
        record.output_tokens = usage.completion_tokens
        record.prompt_tokens = usage.prompt_tokens
    else:
        record.output_tokens, record.tokens_from = deltas, "deltas"
