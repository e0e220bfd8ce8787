"""Usage accounting: events per request, totals per model, hooks, the DEBUG record."""

from __future__ import annotations

import logging

import pytest

import rawgpt
from rawgpt._prices import cost_usd, price_for
from rawgpt._usage import RequestEvent
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES, FakeSleep


async def test_totals_hooks_and_log_records(
    client: rawgpt.AsyncClient, server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rawgpt.request")
    events: list[RequestEvent] = []
    client.add_hook(events.append)

    def broken(event: RequestEvent) -> None:
        raise RuntimeError("a broken hook")

    client.add_hook(broken)  # a broken hook is logged, never raised
    r = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert r.usage is not None
    s = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    async with s:
        async for _ in s:
            pass
    server.add_fault("status:400")
    with pytest.raises(rawgpt.BadRequestError):
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert [e.status for e in events] == [200, 200, 400]
    plain, streamed, failed = events
    assert plain.request_id == r.request_id and plain.finish_reason == "stop"
    assert plain.prompt_tokens == r.usage.prompt_tokens > 0
    assert streamed.stream and streamed.ttft is not None and 0 <= streamed.ttft <= streamed.latency
    assert streamed.completion_tokens == r.usage.completion_tokens
    assert streamed.finish_reason == "stop" and streamed.remaining_requests is not None
    assert failed.error == "BadRequestError" and failed.attempts == 1
    mini = client.usage.by_model["gpt-4o-mini"]
    assert mini.requests == 2 and mini.failed == 0
    assert mini.prompt_tokens == 2 * r.usage.prompt_tokens
    one = cost_usd("gpt-4o-mini", r.usage.prompt_tokens, r.usage.completion_tokens)
    assert one is not None and mini.cost_usd == pytest.approx(2 * one)
    assert client.usage.by_model["gpt-4o"].failed == 1
    assert client.usage.to_dict()["requests"] == 3
    records = [rec for rec in caplog.records if hasattr(rec, "rawgpt")]
    assert len(records) == 3 and records[0].rawgpt["request_id"] == r.request_id
    assert any("usage hook" in rec.getMessage() for rec in caplog.records)
    assert all(KEY not in rec.getMessage() for rec in caplog.records)


async def test_prices_override_and_unknown_models(server: MockServer) -> None:
    async with rawgpt.AsyncClient(
        api_key=KEY, base_url=server.base_url, prices={"my-model": (1.0, 2.0)}
    ) as c:
        r = await c.chat.completions.create(model="my-model", messages=MESSAGES)
        await c.chat.completions.create(model="nobody-knows", messages=MESSAGES)
    assert r.usage is not None
    want = (r.usage.prompt_tokens * 1.0 + r.usage.completion_tokens * 2.0) / 1e6
    assert c.usage.by_model["my-model"].cost_usd == pytest.approx(want)
    assert c.usage.by_model["nobody-knows"].unpriced_requests == 1
    assert c.usage.by_model["nobody-knows"].cost_usd == 0.0


def test_price_lookup_by_longest_prefix() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("gpt-4o-2024-08-06") == price_for("gpt-4o")
    assert price_for("gpt-4ox") is None
    assert cost_usd("unknown", 10, 10) is None


async def test_events_count_the_429s_their_retries_met(
    server: MockServer, sleeps: FakeSleep
) -> None:
    events: list[RequestEvent] = []
    client = rawgpt.AsyncClient(
        api_key=KEY,
        base_url=server.base_url,
        rate_limiter=False,
        max_retries=3,
        sleep=sleeps,  # the retry-after waits, without waiting
    )
    client.add_hook(events.append)
    async with client:
        server.add_fault("rate_limit:0.01", times=2)  # two 429s, then an answer
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        server.add_fault("rate_limit:0.01", times=2)
        s = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        async with s:
            async for _ in s:
                pass
        server.add_fault("rate_limit:0.01", times=4)  # more than the retries: it fails
        with pytest.raises(rawgpt.RateLimitError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [(e.attempts, e.rate_limited, e.status) for e in events] == [
        (3, 2, 200),
        (3, 2, 200),
        (4, 4, 429),
    ]


async def test_events_name_the_answer_id_and_model(client: rawgpt.AsyncClient) -> None:
    events: list[rawgpt.RequestEvent] = []
    client.add_hook(events.append)
    r = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    async with stream:
        first = await stream.__anext__()  # closed early: the id still comes from a chunk
    assert [(e.response_id, e.response_model) for e in events] == [
        (r.id, r.model),
        (first.id, first.model),
    ]
