"""MockServer's Responses API (issue 16, point 6), read by the official SDK and by raw HTTP.

The SDK (``openai.AsyncOpenAI``, no retries) parses every answer and every event;
the raw reads pin the wire: ``event:`` lines, sequence numbers, no ``[DONE]``,
UTF-8 bytes, how a cut or cleanly ended stream closes, the error events' forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import orjson
import pytest

from rawgpt._mock.faults import parse_fault
from rawgpt._mock.responses_api import REASONING_SUMMARY
from rawgpt.cli import _parser
from rawgpt.cli import mock as mock_cli
from rawgpt.testing import MockServer

from .conftest import CHAT, DROPPED, WEATHER, FakeClock, call, sse

MODEL = "gpt-4o-mini"
ASK: dict[str, Any] = {"model": MODEL, "input": "Say hello to the mock server please"}
CHAT_TOOL: Any = WEATHER  # chat's shape: {"type": "function", "function": {...}}
TOOL: Any = {"type": "function", **CHAT_TOOL["function"]}  # the Responses API's flat shape
OTHER: Any = {"type": "function", "name": "get_time", "parameters": {"type": "object"}}
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 10,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.fixture
async def sdk(srv: MockServer) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=srv.base_url, max_retries=0)
    yield client
    await client.close()


async def events_of(sdk: openai.AsyncOpenAI, **fields: Any) -> list[Any]:
    """Every event of ``responses.create(stream=True)`` as the SDK parsed it."""
    stream = await sdk.responses.create(**{**ASK, **fields, "stream": True})
    return [event async for event in stream]


async def raw_stream(
    http: aiohttp.ClientSession, srv: MockServer, **fields: Any
) -> tuple[bytes, list[tuple[str | None, Any]]]:
    """The stream's bytes and its events as (event name, parsed data)."""
    async with http.post(srv.base_url + "/responses", json={**ASK, **fields, "stream": True}) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        raw = await r.read()
    events: list[tuple[str | None, Any]] = []
    for block in raw.decode().split("\n\n"):
        if block:
            lines = block.split("\n")
            name = lines[0][7:] if lines[0].startswith("event: ") else None
            events.append((name, orjson.loads(lines[-1].removeprefix("data: "))))
    return raw, events


def of_type(events: list[Any], type_: str) -> list[Any]:
    return [e for e in events if e.type == type_]


async def test_plain_answer_parsed_by_the_sdk(sdk: openai.AsyncOpenAI, srv: MockServer) -> None:
    r = await sdk.responses.create(**ASK)
    assert r.object == "response" and r.id.startswith("resp_") and r.status == "completed"
    assert r.output_text == srv.reply and r.model == MODEL
    (message,) = r.output
    assert message.type == "message" and message.role == "assistant"
    assert message.status == "completed" and message.id.startswith("msg_")
    (part,) = message.content
    assert part.type == "output_text" and part.annotations == [] and part.text == srv.reply
    assert r.error is None and r.incomplete_details is None and r.tools == []
    usage = r.usage
    assert usage is not None
    assert usage.input_tokens == len(ASK["input"]) // 4
    assert usage.output_tokens == len(srv.reply.split())
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0


async def test_stream_lifecycle_and_sequence_numbers(
    sdk: openai.AsyncOpenAI, srv: MockServer, http: aiohttp.ClientSession
) -> None:
    events = await events_of(sdk)
    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created, in_progress, completed = events[0], events[1], events[-1]
    assert created.response.status == in_progress.response.status == "in_progress"
    assert created.response.output == [] and created.response.usage is None
    deltas = of_type(events, "response.output_text.delta")
    assert "".join(d.delta for d in deltas) == srv.reply
    item_id = events[2].item.id
    assert all((d.item_id, d.output_index, d.content_index) == (item_id, 0, 0) for d in deltas)
    assert events[3].part.type == "output_text" and events[3].part.text == ""
    assert of_type(events, "response.output_text.done")[0].text == srv.reply
    final = completed.response
    assert final.status == "completed" and final.id == created.response.id
    assert final.output_text == srv.reply and final.usage is not None
    plain = await sdk.responses.create(**ASK)
    assert final.usage == plain.usage
    raw, wire = await raw_stream(http, srv)
    assert b"[DONE]" not in raw and raw.endswith(b"\n\n")
    assert all(name == data["type"] for name, data in wire)
    assert [data["sequence_number"] for _, data in wire] == list(range(len(wire)))
    usage = wire[-1][1]["response"]["usage"]
    assert set(usage) >= {"input_tokens", "input_tokens_details", "output_tokens"}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}


async def test_stream_helper_gives_final_response(sdk: openai.AsyncOpenAI, srv: MockServer) -> None:
    texts = []
    async with sdk.responses.stream(**ASK) as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                texts.append(event.delta)
        final = await stream.get_final_response()
    assert final.status == "completed" and final.output_text == "".join(texts) == srv.reply


async def test_function_call_arguments_over_many_deltas(
    sdk: openai.AsyncOpenAI, srv: MockServer
) -> None:
    events = await events_of(sdk, tools=[TOOL])
    added = events[2]
    assert added.type == "response.output_item.added" and added.item.type == "function_call"
    assert added.item.arguments == "" and added.item.status == "in_progress"
    assert added.item.name == "get_weather" and added.item.call_id.startswith("call_")
    deltas = of_type(events, "response.function_call_arguments.delta")
    assert len(deltas) > 3 and all(d.item_id == added.item.id for d in deltas)
    (done,) = of_type(events, "response.function_call_arguments.done")
    assert done.arguments == "".join(d.delta for d in deltas)
    assert orjson.loads(done.arguments) == {"city": "mock", "unit": "c"}
    final = events[-1].response
    assert events[-1].type == "response.completed" and final.output_text == ""
    (call_item,) = final.output
    assert call_item.type == "function_call" and call_item.arguments == done.arguments
    assert call_item.status == "completed" and call_item.call_id == added.item.call_id
    async with sdk.responses.stream(**ASK, tools=[TOOL]) as stream:
        helped = await stream.get_final_response()
    assert helped.output[0].type == "function_call"
    plain = await sdk.responses.create(**ASK, tools=[OTHER, TOOL], tool_choice="none")
    assert plain.output_text == srv.reply
    chosen = await sdk.responses.create(
        **ASK, tools=[OTHER, TOOL], tool_choice={"type": "function", "name": "get_weather"}
    )
    assert [(o.type, getattr(o, "name", None)) for o in chosen.output] == [
        ("function_call", "get_weather")
    ]


async def test_stream_chunks_split_the_arguments_and_the_text() -> None:
    async with MockServer(stream_chunks=50, reply="x" * 2000) as srv:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=srv.base_url, max_retries=0)
        async with client:
            calls = await events_of(client, tools=[TOOL])
            assert len(of_type(calls, "response.function_call_arguments.delta")) == 50
    async with MockServer(stream_chunks=2000) as srv:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=srv.base_url, max_retries=0)
        async with client:
            events = await events_of(client)
        deltas = of_type(events, "response.output_text.delta")
        assert len(deltas) == 2000 and "".join(d.delta for d in deltas) == srv.reply
        assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_chat_shaped_tools_are_refused(sdk: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(**ASK, tools=[CHAT_TOOL])
    assert caught.value.body == {
        "message": "Missing required parameter: 'tools[0].name'.",
        "type": "invalid_request_error",
        "param": "tools[0].name",
        "code": "missing_required_parameter",
    }


async def test_reasoning_items_and_summary_deltas(sdk: openai.AsyncOpenAI, srv: MockServer) -> None:
    events = await events_of(sdk, model="o4-mini", reasoning={"effort": "low", "summary": "auto"})
    added = events[2]
    assert added.item.type == "reasoning" and added.item.summary == []
    (part_added,) = of_type(events, "response.reasoning_summary_part.added")
    assert part_added.summary_index == 0 and part_added.part.text == ""
    deltas = of_type(events, "response.reasoning_summary_text.delta")
    assert len(deltas) > 1 and all(d.item_id == added.item.id for d in deltas)
    (text_done,) = of_type(events, "response.reasoning_summary_text.done")
    assert text_done.text == "".join(d.delta for d in deltas) == REASONING_SUMMARY
    (part_done,) = of_type(events, "response.reasoning_summary_part.done")
    assert part_done.part.text == REASONING_SUMMARY
    final = events[-1].response
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == REASONING_SUMMARY
    assert final.output_text == srv.reply
    usage = final.usage
    reasoning = usage.output_tokens_details.reasoning_tokens
    assert reasoning == len(REASONING_SUMMARY.split())
    assert usage.output_tokens == reasoning + len(srv.reply.split())
    assert final.reasoning.summary == "auto"
    quiet = await events_of(sdk, model="gpt-5-mini")  # a reasoning model, no summary asked
    assert quiet[2].item.type == "reasoning" and not of_type(
        quiet, "response.reasoning_summary_text.delta"
    )
    assert quiet[-1].response.output[0].summary == []
    plain = await sdk.responses.create(**{**ASK, "model": "gpt-4.1-mini"})
    assert [o.type for o in plain.output] == ["message"]


async def test_refusal(
    sdk: openai.AsyncOpenAI, http: aiohttp.ClientSession, srv: MockServer
) -> None:
    refuse = {"x-mock-fault": "refusal"}
    events = await events_of(sdk, extra_headers=refuse)
    assert events[3].part.type == "refusal"
    deltas = of_type(events, "response.refusal.delta")
    (done,) = of_type(events, "response.refusal.done")
    assert len(deltas) > 1 and done.refusal == "".join(d.delta for d in deltas)
    final = events[-1].response
    assert final.output_text == "" and final.output[0].content[0].refusal == done.refusal
    plain = await sdk.responses.create(**ASK, extra_headers=refuse)
    assert plain.output[0].content[0].type == "refusal" and plain.output_text == ""
    status, chat, _ = await call(http, srv, CHAT, x_mock_fault="refusal")
    message = chat["choices"][0]["message"]
    assert status == 200 and message["content"] is None and message["refusal"] == done.refusal
    async with http.post(
        srv.base_url + "/chat/completions", json={**CHAT, "stream": True}, headers=refuse
    ) as resp:
        chunks = [c for c in sse(await resp.text()) if isinstance(c, dict)]
    assert chunks[0]["choices"][0]["delta"]["refusal"] == ""
    assert "".join(c["choices"][0]["delta"].get("refusal") or "" for c in chunks) == done.refusal
    status, body, _ = await call(
        http, srv, {"model": "m", "input": "x"}, path="/embeddings", x_mock_fault="refusal"
    )
    assert status == 400 and "chat completions and responses only" in body["error"]["message"]


async def test_incomplete_at_max_output_tokens(sdk: openai.AsyncOpenAI, srv: MockServer) -> None:
    words = srv.reply.split()
    plain = await sdk.responses.create(**ASK, max_output_tokens=3)
    assert plain.status == "incomplete" and plain.incomplete_details is not None
    assert plain.incomplete_details.reason == "max_output_tokens"
    assert plain.output_text == " ".join(words[:3]) and plain.output[0].status == "incomplete"
    assert plain.usage is not None and plain.usage.output_tokens == 3
    events = await events_of(sdk, max_output_tokens=3)
    assert events[-1].type == "response.incomplete" and events[-1].response.status == "incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert len(of_type(events, "response.output_text.delta")) == 3
    assert of_type(events, "response.output_item.done")[0].item.status == "incomplete"
    async with sdk.responses.stream(**ASK, max_output_tokens=3) as stream:
        with pytest.raises(RuntimeError, match=r"response\.completed"):  # what the SDK does
            await stream.get_final_response()
    spent = await sdk.responses.create(**{**ASK, "model": "o3"}, max_output_tokens=4)
    assert spent.status == "incomplete" and [o.type for o in spent.output] == ["reasoning"]


async def test_failed_response(
    sdk: openai.AsyncOpenAI, http: aiohttp.ClientSession, srv: MockServer
) -> None:
    srv.add_fault("failed", times=2)
    events = await events_of(sdk)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "server_error" and "Sorry about that" in failed.error.message
    assert failed.output == [] and failed.usage is None
    plain = await sdk.responses.create(**ASK)
    assert plain.status == "failed" and plain.error is not None
    assert (await call(http, srv, CHAT, x_mock_fault="failed"))[0] == 500


async def test_error_event_nested_raises_in_the_sdk(
    sdk: openai.AsyncOpenAI, http: aiohttp.ClientSession, srv: MockServer
) -> None:
    srv.add_fault("stream_error")
    seen: list[str] = []
    stream = await sdk.responses.create(**ASK, stream=True)
    with pytest.raises(openai.APIError, match="Sorry about that") as caught:
        async for event in stream:
            seen.append(event.type)
    assert not isinstance(caught.value, openai.APIConnectionError)
    assert seen == ["response.created", "response.in_progress"]
    srv.add_fault("stream_error")
    _, wire = await raw_stream(http, srv)
    name, data = wire[-1]
    assert len(wire) == 3 and name == "error"
    assert data == {
        "type": "error",
        "sequence_number": 2,
        "error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": "server_error",
        },
    }


async def test_error_event_flat_and_what_the_sdk_does(
    sdk: openai.AsyncOpenAI, http: aiohttp.ClientSession, srv: MockServer
) -> None:
    srv.add_fault("stream_error_flat")
    _, wire = await raw_stream(http, srv)
    assert wire[-1] == (
        "error",
        {
            "type": "error",
            "sequence_number": 2,
            "message": "The server had an error while processing your request. Sorry about that!",
            "param": None,
            "code": "server_error",
        },
    )
    srv.add_fault("stream_error_flat")
    events = await events_of(sdk)  # the SDK yields it as an event and ends quietly
    assert [e.type for e in events] == ["response.created", "response.in_progress", "error"]
    assert events[-1].code == "server_error" and "Sorry" in events[-1].message
    srv.add_fault("stream_error_flat")
    async with sdk.responses.stream(**ASK) as stream:
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            await stream.get_final_response()


async def test_error_events_on_chat(http: aiohttp.ClientSession, srv: MockServer) -> None:
    async with http.post(
        srv.base_url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-mock-fault": "stream_error_flat"},
    ) as resp:
        text = await resp.text()
    last = sse(text)[-1]
    assert text.count("event: error\n") == 1 and "[DONE]" not in text
    assert last["type"] == "error" and last["code"] == "server_error" and "error" not in last


async def test_cut_and_cleanly_ended_streams(
    sdk: openai.AsyncOpenAI, http: aiohttp.ClientSession, srv: MockServer
) -> None:
    for spec in ("cut:5", "reset"):
        srv.add_fault(spec)
        seen: list[str] = []
        stream = await sdk.responses.create(**ASK, stream=True)
        with pytest.raises(openai.APIConnectionError):
            async for event in stream:
                seen.append(event.type)
        assert len(seen) == (5 if spec == "cut:5" else 1)
    srv.add_fault("cut:5")
    received = b""
    with pytest.raises(DROPPED):
        async with http.post(srv.base_url + "/responses", json={**ASK, "stream": True}) as r:
            async for data in r.content.iter_any():
                received += data
    assert received.count(b"event: ") == 5
    srv.add_fault("end:5")
    raw, wire = await raw_stream(http, srv)  # a clean end: the body reads to its end
    assert len(wire) == 5 and not raw.count(b"response.completed")
    srv.add_fault("end:5")
    events = await events_of(sdk)  # the SDK ends quietly without a terminal event
    assert [e.type for e in events] == TEXT_EVENTS[:5]
    srv.add_fault("end:99999")
    assert (await events_of(sdk))[-1].type == "response.output_item.done"
    status, text, _ = await call(http, srv, ASK, path="/responses", x_mock_fault="end:1")
    assert status == 200 and isinstance(text, str)  # a plain answer ends halfway
    with pytest.raises(DROPPED):
        await call(http, srv, ASK, path="/responses", x_mock_fault="cut:1")


async def test_other_faults_apply_alike(
    sdk: openai.AsyncOpenAI, http: aiohttp.ClientSession, srv: MockServer
) -> None:
    srv.add_fault("stall:3:0.01")
    assert (await events_of(sdk))[-1].type == "response.completed"
    async with http.post(
        srv.base_url + "/responses",
        json={**ASK, "stream": True},
        headers={"x-mock-fault": "malformed"},
    ) as resp:
        blocks = [b for b in (await resp.text()).split("\n\n") if b]
    assert len(blocks) == 2 and "[DONE]" not in blocks[-1]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(blocks[1].split("\ndata: ")[1])
    srv.add_fault("status:503")
    with pytest.raises(openai.InternalServerError):
        await sdk.responses.create(**ASK, stream=True)
    srv.add_fault("rate_limit:2")
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.responses.create(**ASK)
    assert caught.value.response.headers["retry-after"] == "2"


def test_new_fault_specs_parse() -> None:
    assert (parse_fault("end:3").kind, parse_fault("end:3").events) == ("end", 3)
    assert parse_fault("end:3").for_stream(False).kind == "malformed"
    assert parse_fault("stream_error_flat").for_stream(False).status == 500
    assert parse_fault("failed").for_stream(True).status == 500
    assert parse_fault("failed").for_stream(True, responses=True).kind == "failed"
    for spec in ("end", "failed:1", "refusal:retry"):
        with pytest.raises(ValueError, match=repr(spec)):
            parse_fault(spec)


async def test_multibyte_utf8_bytes(http: aiohttp.ClientSession) -> None:
    reply = "héllo wörld — 日本語のテキスト 🎉🎉 ça va"
    async with MockServer(reply=reply, stream_chunks=9, chunk_interval_ms=1) as srv:
        raw, wire = await raw_stream(http, srv)
        assert reply.encode() in raw  # raw UTF-8, not \\u escapes
        assert (
            "".join(d["delta"] for _, d in wire if d["type"] == "response.output_text.delta")
            == reply
        )
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=srv.base_url, max_retries=0)
        async with client, client.responses.stream(**ASK) as stream:
            assert (await stream.get_final_response()).output_text == reply


async def test_rate_limits_and_429_headers(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    body = {
        **ASK,
        "input": [
            {"role": "user", "content": "x" * 40},
            {"role": "user", "content": [{"type": "input_text", "text": "y" * 40}]},
        ],
        "instructions": "z" * 40,
        "max_output_tokens": 20,
    }
    async with MockServer(tpm=100, clock=clock) as srv:  # cost 120 / 4 + 20 = 50
        status, _, resp = await call(http, srv, body, path="/responses")
        assert status == 200 and resp.headers["x-ratelimit-remaining-tokens"] == "50"
        tooled = {**body, "tools": [TOOL]}
        status, _, resp = await call(http, srv, tooled, path="/responses")
        assert status == 429 and resp.headers["retry-after"]
        cost = 50 + len(orjson.dumps([TOOL])) // 4
        assert resp.headers["x-ratelimit-remaining-tokens"] == "50"
        clock.now += 60
        status, _, resp = await call(http, srv, tooled, path="/responses")
        assert status == 200
        assert resp.headers["x-ratelimit-remaining-tokens"] == str(100 - cost)
        status, err, _ = await call(
            http, srv, {**body, "max_output_tokens": 500}, path="/responses"
        )
        assert status == 429 and "Request too large" in err["error"]["message"]
    async with MockServer(rpm=1, clock=FakeClock()) as srv:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=srv.base_url, max_retries=0)
        async with client:
            await client.responses.create(**ASK, stream=True)
            with pytest.raises(openai.RateLimitError) as caught:
                await client.responses.create(**ASK, stream=True)
        headers = caught.value.response.headers
        assert headers["x-ratelimit-remaining-requests"] == "0"
        assert headers["retry-after"] == "60" and headers["x-ratelimit-reset-requests"] == "1m0s"
        assert caught.value.code == "rate_limit_exceeded"


async def test_auth_validation_and_the_request_log(http: aiohttp.ClientSession) -> None:
    async with MockServer(api_key="sk-the-only-key-0123456789") as srv:
        status, body, _ = await call(http, srv, ASK, path="/responses")
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
        ok = {"Authorization": "Bearer sk-the-only-key-0123456789"}
        async with http.post(srv.base_url + "/responses", json=ASK, headers=ok) as resp:
            assert resp.status == 200 and resp.headers["x-request-id"].startswith("req_")
        assert [(r.method, r.path, r.body) for r in srv.requests][-1] == (
            "POST",
            "/v1/responses",
            ASK,
        )
    async with MockServer() as srv:
        for bad, param in [
            ({"model": MODEL}, "input"),
            ({**ASK, "input": 3}, "input"),
            ({**ASK, "max_output_tokens": 0}, "max_output_tokens"),
            ({**ASK, "tools": {"type": "function"}}, "tools"),
            ({"input": "hi"}, None),
        ]:
            status, body, _ = await call(http, srv, bad, path="/responses")
            assert status == 400 and body["error"]["param"] == param, bad


async def test_cli_serves_responses_with_the_new_faults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["mock-server", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for kind in ("end:3", "stream_error_flat", "failed", "refusal"):
        assert kind in shown
    args = _parser().parse_args(["mock-server", "--port", "0", "--fault", "failed"])
    task = asyncio.ensure_future(mock_cli.run(args))
    try:
        url = ""
        for _ in range(500):
            if match := re.search(r"http://\S+/v1", capsys.readouterr().out):
                url = match.group(0)
                break
            await asyncio.sleep(0.01)
        assert url, "the mock server never said where it listens"
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=url, max_retries=0)
        async with client:
            events = await events_of(client)
            assert events[-1].type == "response.failed"
            assert (await client.responses.create(**ASK)).output_text
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_end_on_chat_closes_cleanly_without_done(
    http: aiohttp.ClientSession, srv: MockServer
) -> None:
    async with http.post(
        srv.base_url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-mock-fault": "end:3"},
    ) as resp:
        events = sse(await resp.text())  # reads to a clean end: no exception
    assert len(events) == 3 and "[DONE]" not in events
