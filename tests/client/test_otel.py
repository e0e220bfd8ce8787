"""rawgpt.otel: one CLIENT span per call, GenAI semantic conventions, on a loopback MockServer."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import rawgpt
import rawgpt.otel
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES, FakeSleep


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
async def traced(server: MockServer, provider: TracerProvider) -> AsyncIterator[rawgpt.AsyncClient]:
    client = rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, seed=1, sleep=FakeSleep())
    rawgpt.otel.instrument(client, tracer_provider=provider)
    async with client:
        yield client


def _only(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_a_plain_call_is_one_client_span_under_the_current_one(
    traced: rawgpt.AsyncClient,
    server: MockServer,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    with provider.get_tracer("app").start_as_current_span("handler") as outer:
        r = await traced.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, max_tokens=20, temperature=0.5, top_p=0.9
        )
    span = next(s for s in exporter.get_finished_spans() if s.name != "handler")
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.parent is not None and span.parent.span_id == outer.get_span_context().span_id
    assert span.status.status_code is StatusCode.UNSET
    port = int(server.base_url.split(":")[2].split("/")[0])
    assert r.usage is not None
    assert _attrs(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 20,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.9,
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.response.id": r.id,
        "gen_ai.response.model": r.model,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": r.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": r.usage.completion_tokens,
        "http.response.status_code": 200,
        "rawgpt.request.attempts": 1,
    }


async def test_content_only_when_asked(
    traced: rawgpt.AsyncClient, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    await traced.chat.completions.create(model="m", messages=MESSAGES)
    assert not any("messages" in name for name in _attrs(_only(exporter)))
    exporter.clear()
    rawgpt.otel.instrument(traced, tracer_provider=provider, capture_content=True)
    r = await traced.chat.completions.create(model="m", messages=MESSAGES)
    attrs = _attrs(_only(exporter))
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    out = r.choices[0].message.content
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": out}], "finish_reason": "stop"}
    ]


async def test_a_stream_span_ends_with_the_stream_and_has_ttft(
    traced: rawgpt.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    stream = await traced.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert exporter.get_finished_spans() == ()  # open while the stream is
    async with stream:
        async for _ in stream:
            pass
    final = stream.get_final_completion()
    assert final.usage is not None
    span = _only(exporter)
    attrs = _attrs(span)
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < 30
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["gen_ai.response.model"] == final.model
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.completion_tokens
    assert attrs["rawgpt.request.attempts"] == 1
    assert span.status.status_code is StatusCode.UNSET


async def test_responses_calls_and_streams_are_spans(
    traced: rawgpt.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    r = await traced.responses.create(model="gpt-4o-mini", input="Say hello")
    assert r.usage is not None
    attrs = _attrs(_only(exporter))
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.response.id"] == r.id
    assert attrs["gen_ai.usage.input_tokens"] == r.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == r.usage.output_tokens
    exporter.clear()
    stream = await traced.responses.create(model="gpt-4o-mini", input="Say hello", stream=True)
    assert exporter.get_finished_spans() == ()  # open while the stream is
    async with stream:
        async for _ in stream:
            pass
    final = stream.get_final_response()
    assert final.usage is not None
    attrs = _attrs(_only(exporter))
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["rawgpt.request.attempts"] == 1


async def test_a_stream_closed_early_ends_its_span(
    traced: rawgpt.AsyncClient, server: MockServer, exporter: InMemorySpanExporter
) -> None:
    stream = await traced.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    async with stream:
        first = await stream.__anext__()
    span = _only(exporter)
    assert _attrs(span)["gen_ai.response.id"] == first.id
    assert "gen_ai.response.time_to_first_chunk" in _attrs(span)
    assert span.status.status_code is StatusCode.UNSET


async def test_a_stream_dropped_unread_ends_its_span(
    traced: rawgpt.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    stream = await traced.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    await stream.__anext__()
    del stream
    gc.collect()
    span = _only(exporter)
    assert _attrs(span)["rawgpt.stream.abandoned"] is True


async def test_errors_and_retries(
    traced: rawgpt.AsyncClient, server: MockServer, exporter: InMemorySpanExporter
) -> None:
    server.add_fault("status:400")
    with pytest.raises(rawgpt.BadRequestError):
        await traced.chat.completions.create(model="m", messages=MESSAGES)
    span = _only(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert _attrs(span)["error.type"] == "BadRequestError"
    assert _attrs(span)["http.response.status_code"] == 400
    assert _attrs(span)["rawgpt.request.attempts"] == 1
    exporter.clear()

    server.add_fault("rate_limit:0.01", times=1)  # one 429, retried, then an answer
    await traced.chat.completions.create(model="m", messages=MESSAGES)
    span = _only(exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert _attrs(span)["rawgpt.request.attempts"] == 2
    assert _attrs(span)["rawgpt.request.rate_limited"] == 1
    exporter.clear()

    server.add_fault("rate_limit:0.01", times=5)  # more than the retries
    with pytest.raises(rawgpt.RateLimitError):
        await traced.chat.completions.create(model="m", messages=MESSAGES)
    span = _only(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert _attrs(span)["error.type"] == "RateLimitError"
    assert _attrs(span)["rawgpt.request.attempts"] == 3


async def test_embeddings(traced: rawgpt.AsyncClient, exporter: InMemorySpanExporter) -> None:
    await traced.embeddings.create(
        model="text-embedding-3-small", input="hi", encoding_format="float"
    )
    span = _only(exporter)
    attrs = _attrs(span)
    assert span.name == "embeddings text-embedding-3-small"
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.request.encoding_formats"] == ("float",)
    assert attrs["gen_ai.usage.input_tokens"] > 0


async def test_with_options_clients_are_traced_and_uninstrument_stops(
    traced: rawgpt.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    derived = traced.with_options(timeout=20.0)
    await derived.chat.completions.create(model="m", messages=MESSAGES)
    assert _attrs(_only(exporter))["rawgpt.request.attempts"] == 1
    rawgpt.otel.uninstrument(traced)
    await traced.chat.completions.create(model="m", messages=MESSAGES)
    assert len(exporter.get_finished_spans()) == 1
    assert traced.chat.completions._send == traced._request
    assert traced.usage.hooks == []


def test_blocking_client_spans_keep_the_callers_parent(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async def serve() -> None:
        async with MockServer() as srv:
            urls.append(srv.base_url)
            started.set()
            await stop.wait()

    urls: list[str] = []
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert started.wait(5)
    try:
        with rawgpt.Client(api_key=KEY, base_url=urls[0]) as client:
            rawgpt.otel.instrument(client, tracer_provider=provider)
            with provider.get_tracer("app").start_as_current_span("job") as outer:
                client.chat.completions.create(model="m", messages=MESSAGES)
                with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as s:
                    chunks = list(s)
        assert chunks
        spans = [s for s in exporter.get_finished_spans() if s.name != "job"]
        assert [s.name for s in spans] == ["chat m", "chat m"]
        for span in spans:
            assert span.parent is not None
            assert span.parent.span_id == outer.get_span_context().span_id
        assert "gen_ai.response.time_to_first_chunk" in _attrs(spans[1])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        loop.close()


def test_import_rawgpt_loads_no_opentelemetry() -> None:
    code = (
        "import sys, rawgpt\n"
        "c = rawgpt.AsyncClient(api_key='sk-x')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'rawgpt.otel'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_instrument_refuses_what_is_not_a_client() -> None:
    with pytest.raises(TypeError, match="not object"):
        rawgpt.otel.instrument(object())  # type: ignore[arg-type]
