"""client.responses.create against MockServer: the body sent, the view, the stream, retries,
errors, usage events, the limiter's estimate, the blocking client, batch files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

import rawgpt
from rawgpt._ratelimit.estimate import DEFAULT_OUTPUT_TOKENS, admission_cost
from rawgpt.batch import run_batch
from rawgpt.testing import MockServer
from rawgpt.types import responses as types

from ..client.test_sync import server_thread  # noqa: F401 (a fixture)
from ..conftest import KEY, FakeSleep
from ..loopback import RawServer, head, write_all
from .events import RESPONSE, USAGE, message, serve, text_stream

MODEL = "gpt-4o-mini"
TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}


async def test_plain_response_reads_like_the_sdks(client: rawgpt.AsyncClient) -> None:
    r = await client.responses.create(model=MODEL, input="Say hello", max_output_tokens=100)
    assert isinstance(r, types.Response)
    assert r.id.startswith("resp") and r.object == "response" and r.status == "completed"
    item = r.output[0]
    assert isinstance(item, types.ResponseOutputMessage)
    part = item.content[0]
    assert isinstance(part, types.ResponseOutputText)
    assert r.output_text and r.output_text == part.text
    assert r.usage is not None
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.output_tokens_details.reasoning_tokens == 0
    assert r.error is None and r.incomplete_details is None
    assert r.request_id and r.request_id == r.headers["X-Request-Id"]


async def test_the_body_is_the_callers_fields_as_the_sdk_sends_them(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    fields: dict[str, Any] = {
        "model": MODEL,
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}],
        "instructions": "Be brief.",
        "tools": [TOOL],
        "max_output_tokens": 50,
        "metadata": {"k": "v"},
        "reasoning": None,
    }
    sdk = openai.AsyncOpenAI(api_key=KEY, base_url=server.base_url, max_retries=0)
    await sdk.responses.create(**fields)
    await (await sdk.responses.create(**fields, stream=True)).close()
    await sdk.close()
    await client.responses.create(**fields)
    await (await client.responses.create(**fields, stream=True)).close()
    sdk_plain, sdk_stream, ours_plain, ours_stream = [r.body for r in server.requests[-4:]]
    assert ours_plain == sdk_plain == fields
    assert ours_stream == sdk_stream == {**fields, "stream": True}
    assert all(r.path == "/v1/responses" for r in server.requests[-4:])


async def test_a_stream_adds_up_to_the_plain_answer(client: rawgpt.AsyncClient) -> None:
    plain = await client.responses.create(model=MODEL, input="Say hello")
    s = await client.responses.create(model=MODEL, input="Say hello", stream=True)
    text = ""
    seen = []
    async with s:
        async for e in s:
            seen.append(e.sequence_number)
            if e.type == "response.output_text.delta":
                text += e.delta
    assert seen == sorted(seen) and text == plain.output_text
    final = s.get_final_response()
    assert final.output_text == text and final.status == "completed"
    assert final.usage is not None and plain.usage is not None
    assert final.usage.total_tokens == plain.usage.total_tokens
    assert s.request_id and final.request_id == s.request_id


async def test_function_calls_over_many_deltas(client: rawgpt.AsyncClient) -> None:
    plain = await client.responses.create(model=MODEL, input="Weather?", tools=[TOOL])
    s = await client.responses.create(model=MODEL, input="Weather?", tools=[TOOL], stream=True)
    async with s:
        args = [e.delta async for e in s if e.type == "response.function_call_arguments.delta"]
    call = s.get_final_response().output[0]
    want = plain.output[0]
    assert isinstance(call, types.ResponseFunctionToolCall)
    assert isinstance(want, types.ResponseFunctionToolCall)
    assert len(args) > 1 and "".join(args) == call.arguments == want.arguments


async def test_a_429_is_retried(
    client: rawgpt.AsyncClient, server: MockServer, sleeps: FakeSleep
) -> None:
    server.add_fault("rate_limit", times=1)
    s = await client.responses.create(model=MODEL, input="Say hello", stream=True)
    async with s:
        async for _ in s:
            pass
    assert s.get_final_response().status == "completed"
    assert len(sleeps.delays) == 1
    server.add_fault("rate_limit", times=1)
    r = await client.responses.create(model=MODEL, input="Say hello")
    assert r.output_text and len(sleeps.delays) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_a_400_raises_from_create(
    client: rawgpt.AsyncClient, server: MockServer, stream: bool
) -> None:
    server.add_fault("status:400")
    with pytest.raises(rawgpt.BadRequestError) as info:
        await client.responses.create(model=MODEL, input="x", stream=stream)
    assert info.value.status_code == 400


async def test_model_is_required_unless_a_prompt_names_it(client: rawgpt.AsyncClient) -> None:
    with pytest.raises(TypeError, match="'model'"):
        await client.responses.create(input="x")  # nothing sent
    with pytest.raises(TypeError, match="'model'"):
        await client.responses.create(input="x", model=rawgpt.NOT_GIVEN)  # type: ignore[call-overload]


async def test_failed_and_incomplete_through_the_mock(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    server.add_fault("failed")
    s = await client.responses.create(model=MODEL, input="x", stream=True)
    async with s:
        kinds = [e.type async for e in s]
    assert kinds[-1] == "response.failed"
    failed = s.get_final_response()
    assert failed.status == "failed" and failed.error is not None and failed.error.message
    s = await client.responses.create(model=MODEL, input="x", max_output_tokens=3, stream=True)
    async with s:
        kinds = [e.type async for e in s]
    assert kinds[-1] == "response.incomplete"
    cut = s.get_final_response()
    assert cut.status == "incomplete" and cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens"


async def test_usage_events_and_totals_count_responses_calls(server: MockServer) -> None:
    events: list[rawgpt.RequestEvent] = []
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
        plain = await c.responses.create(model="o3", input="x", reasoning={"summary": "auto"})
        c.add_hook(events.append)
        await c.responses.create(model="o3", input="x", reasoning={"summary": "auto"})
        await c.responses.create(model="o3", input="x", reasoning={"summary": "auto"})
        s = await c.responses.create(
            model="o3", input="x", reasoning={"summary": "auto"}, stream=True
        )
        async with s:
            async for _ in s:
                pass
        usage = c.usage.by_model["o3"]
    assert plain.usage is not None
    u = plain.usage
    assert u.output_tokens_details.reasoning_tokens > 0
    for event in events:
        assert (event.prompt_tokens, event.completion_tokens) == (u.input_tokens, u.output_tokens)
        assert event.reasoning_tokens == u.output_tokens_details.reasoning_tokens
        assert event.finish_reason == "completed" and event.path == "/responses"
        assert event.cost_usd is not None and event.cost_usd > 0
    assert [e.stream for e in events] == [False, False, True]
    assert usage.requests == 4 and usage.prompt_tokens == 4 * u.input_tokens
    assert usage.reasoning_tokens == 4 * u.output_tokens_details.reasoning_tokens
    assert usage.cost_usd > 0


async def test_cached_tokens_are_counted() -> None:
    """A response whose usage says some input came from the prompt cache (and a chat
    completion's, for comparison)."""
    body = orjson.dumps({**RESPONSE, "status": "completed", "output": [message("hi")],
                         "usage": USAGE})  # fmt: skip

    async def respond(w: asyncio.StreamWriter) -> None:
        await write_all(w, head(content_type="application/json", content_length=len(body)), body)

    events: list[rawgpt.RequestEvent] = []
    async with (
        RawServer(respond) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        await c.responses.create(model=MODEL, input="x")
        c.add_hook(events.append)
        await c.responses.create(model=MODEL, input="x")
        totals = c.usage.to_dict()
    assert totals["cached_tokens"] == 8 and totals["reasoning_tokens"] == 6
    assert totals["prompt_tokens"] == 24 and totals["completion_tokens"] == 18
    assert (events[0].cached_tokens, events[0].reasoning_tokens) == (4, 3)


async def test_chat_reasoning_and_cached_tokens_are_counted_on_both_paths() -> None:
    """A chat completion's details, counted without a hook (the hot path reads them in
    place) and with one (through its RequestEvent), alike."""
    usage = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21,
             "prompt_tokens_details": {"cached_tokens": 4},
             "completion_tokens_details": {"reasoning_tokens": 3}}  # fmt: skip
    body = orjson.dumps({"id": "c", "object": "chat.completion", "model": MODEL,
                         "choices": [], "usage": usage})  # fmt: skip

    async def respond(w: asyncio.StreamWriter) -> None:
        await write_all(w, head(content_type="application/json", content_length=len(body)), body)

    events: list[rawgpt.RequestEvent] = []
    async with (
        RawServer(respond) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        messages = [{"role": "user", "content": "x"}]
        await c.chat.completions.create(model=MODEL, messages=messages)
        c.add_hook(events.append)
        await c.chat.completions.create(model=MODEL, messages=messages)
        totals = c.usage.to_dict()
    assert totals["cached_tokens"] == 8 and totals["reasoning_tokens"] == 6
    assert totals["prompt_tokens"] == 24 and totals["completion_tokens"] == 18
    assert (events[0].cached_tokens, events[0].reasoning_tokens) == (4, 3)


async def test_stream_usage_event_comes_from_the_terminal_response() -> None:
    events: list[rawgpt.RequestEvent] = []
    async with (
        serve(text_stream(["a", "b"], terminal="response.incomplete").body()) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        c.add_hook(events.append)
        async with await c.responses.create(model=MODEL, input="x", stream=True) as s:
            async for _ in s:
                pass
    (event,) = events
    assert event.stream and event.error is None and event.finish_reason == "incomplete"
    assert (event.prompt_tokens, event.completion_tokens, event.cached_tokens) == (12, 9, 4)
    assert event.ttft is not None


def test_the_limiter_estimate_covers_a_responses_body() -> None:
    text = "x" * 400  # 100 tokens
    assert admission_cost({"model": MODEL, "input": text, "max_output_tokens": 50}) == 150
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": text}]},
        {"role": "assistant", "content": text},
        {"type": "function_call", "call_id": "c", "name": "", "arguments": text},
        {"type": "function_call_output", "call_id": "c", "output": text},
    ]
    assert admission_cost({"model": MODEL, "input": items}) == 400 + DEFAULT_OUTPUT_TOKENS
    with_instructions = {"model": MODEL, "input": text, "instructions": text}
    assert admission_cost(with_instructions) == 200 + DEFAULT_OUTPUT_TOKENS
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    with_tools = admission_cost({"model": MODEL, "input": text, "tools": tools})
    assert with_tools == 100 + len(orjson.dumps(tools)) // 4 + DEFAULT_OUTPUT_TOKENS
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    fmt = {"format": {"type": "json_schema", "name": "a", "schema": schema}}
    with_schema = admission_cost({"model": MODEL, "input": text, "text": fmt})
    assert with_schema == 100 + len(orjson.dumps(schema)) // 4 + DEFAULT_OUTPUT_TOKENS
    assert admission_cost({"model": "m", "prompt": {"id": "p"}, "max_output_tokens": 70}) == 71
    # an embeddings body stays an embeddings body: no output allowance
    assert admission_cost({"model": "text-embedding-3-small", "input": text}) == 100


async def test_a_tpm_limit_is_charged_the_responses_estimate(server: MockServer) -> None:
    charged: list[int] = []
    limiter = rawgpt.RateLimiter()
    cost = limiter.cost

    def spy(body: Any) -> int:
        charged.append(cost(body))
        return charged[-1]

    limiter.cost = spy  # type: ignore[method-assign]
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, rate_limiter=limiter) as c:
        await c.responses.create(model=MODEL, input="x" * 400, max_output_tokens=20)
    assert charged == [120]


def test_the_blocking_client(server_thread: MockServer) -> None:  # noqa: F811
    with rawgpt.Client(api_key=KEY, base_url=server_thread.base_url, max_retries=0) as c:
        r = c.responses.create(model=MODEL, input="Say hello")
        assert r.output_text and r.request_id
        text = ""
        with c.responses.create(model=MODEL, input="Say hello", stream=True) as s:
            assert isinstance(s, rawgpt.ResponseStream)
            for event in s:
                if event.type == "response.output_text.delta":
                    text += event.delta
        assert text == r.output_text and s.completed
        assert s.get_final_response().output_text == text
        with pytest.raises(rawgpt.InternalServerError):
            s = c.responses.create(
                model=MODEL, input="x", stream=True, extra_headers={"x-mock-fault": "stream_error"}
            )
            with s:
                for _ in s:
                    pass
        with pytest.raises(rawgpt.BadRequestError):
            c.responses.create(model=MODEL, input="x", extra_headers={"x-mock-fault": "status:400"})


async def test_batch_lines_for_responses(tmp_path: Path, server: MockServer) -> None:
    lines = [
        {"custom_id": "r1", "method": "POST", "url": "/v1/responses",
         "body": {"model": MODEL, "input": "Say hello"}},
        {"custom_id": "r2", "method": "POST", "url": "/v1/responses",
         "body": {"model": MODEL, "input": "Weather?", "tools": [TOOL]}},
        {"custom_id": "r3", "method": "POST", "url": "/v1/responses",
         "body": {"model": MODEL, "input": "x", "stream": True}},
    ]  # fmt: skip
    requests = tmp_path / "in.jsonl"
    requests.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    out = tmp_path / "out.jsonl"
    async with rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url) as c:
        summary = await run_batch(str(requests), str(out), client=c)
    assert (summary.succeeded, summary.invalid) == (2, 1)
    results = {r["custom_id"]: r for r in map(orjson.loads, out.read_bytes().splitlines())}
    first = results["r1"]
    assert first["id"].startswith("batch_req_") and first["error"] is None
    assert first["response"]["status_code"] == 200
    assert first["response"]["request_id"].startswith("req_")
    body = first["response"]["body"]
    assert body["object"] == "response" and body["output"][0]["type"] == "message"
    assert results["r2"]["response"]["body"]["output"][0]["type"] == "function_call"
    assert summary.prompt_tokens > 0 and summary.completion_tokens > 0
    assert [r.path for r in server.requests] == ["/v1/responses"] * 2
