"""The Responses API's event stream on loopback: order, splits, endings, errors, hygiene."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
import pytest

import rawgpt
from rawgpt._streaming.base import _HELD
from rawgpt._streaming.responses import AsyncResponseStream
from rawgpt.types import responses as types

from ..conftest import KEY
from .events import Events, message, serve, text_stream

PIECES = ["Hel", "lo, ", "wörld ", "— ", "🙂", "!"]


async def open_stream(c: rawgpt.AsyncClient, **kw: Any) -> AsyncResponseStream:
    s: AsyncResponseStream = await c.responses.create(
        model="gpt-4o-mini", input="Say hello", stream=True, **kw
    )
    return s


async def read_all(base_url: str, **client: Any) -> tuple[list[Any], AsyncResponseStream]:
    async with rawgpt.AsyncClient(api_key=KEY, base_url=base_url, **client) as c:
        s = await open_stream(c)
        async with s:
            events = [event async for event in s]
    return events, s


async def test_events_in_order_typed_then_the_final_response() -> None:
    async with serve(text_stream(PIECES).body()) as srv:
        events, s = await read_all(srv.base_url)
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added",
    ]  # fmt: skip
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert all(isinstance(e, types.ResponseTextDeltaEvent) for e in deltas)
    assert [e.delta for e in deltas] == PIECES
    assert {(e.item_id, e.output_index, e.content_index) for e in deltas} == {("msg_1", 0, 0)}
    assert isinstance(events[0], types.ResponseCreatedEvent)
    assert isinstance(events[0].response, types.Response)
    assert isinstance(events[2].item, types.ResponseOutputMessage)
    assert isinstance(events[-1], types.ResponseCompletedEvent)
    final = s.get_final_response()
    assert isinstance(final, types.Response)
    assert final.output_text == "".join(PIECES) and final.status == "completed"
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 3
    assert s.completed


@pytest.mark.parametrize("final", ["empty", "none"])
async def test_a_terminal_event_without_the_output_gets_it_from_the_events(final: str) -> None:
    """Servers that leave the output (or the whole response) out of the terminal event:
    the final response is folded from the events, its text the deltas concatenated."""
    body = text_stream(PIECES, final=final, done_items=False).body()
    async with serve(body) as srv:
        _, s = await read_all(srv.base_url)
    got = s.get_final_response()
    assert got.output_text == "".join(PIECES)
    assert got.status == "completed"
    item = got.output[0]
    assert isinstance(item, types.ResponseOutputMessage) and item.id == "msg_1"
    assert isinstance(item.content[0], types.ResponseOutputText)
    if final == "empty":
        assert got.id == "resp_1" and got.usage is not None and got.usage.total_tokens == 21


async def test_function_call_arguments_merge_by_item_without_an_output() -> None:
    args = '{"city": "Paris", "unit": "celsius", "days": 3}'
    item = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "weather",
            "arguments": "", "status": "in_progress"}  # fmt: skip
    ev = Events().add("response.created", response={"id": "resp_2", "output": []})
    ev.add("response.output_item.added", output_index=0, item=item)
    for i in range(0, len(args), 4):
        ev.add("response.function_call_arguments.delta", item_id="fc_1", output_index=0,
               delta=args[i : i + 4])  # fmt: skip
    # a reasoning summary and a refusal, with no added item or part before their deltas
    ev.add("response.reasoning_summary_text.delta", item_id="rs_1", output_index=1,
           summary_index=0, delta="Think")  # fmt: skip
    ev.add("response.reasoning_summary_text.delta", item_id="rs_1", output_index=1,
           summary_index=0, delta="ing.")  # fmt: skip
    ev.add("response.refusal.delta", item_id="msg_9", output_index=2, content_index=0,
           delta="No")  # fmt: skip
    ev.add("response.refusal.delta", item_id="msg_9", output_index=2, content_index=0,
           delta="pe")  # fmt: skip
    ev.add("response.completed", response={"id": "resp_2", "status": "completed", "output": []})
    async with serve(ev.body()) as srv:
        events, s = await read_all(srv.base_url)
    assert "".join(e.delta for e in events if e.type.endswith("arguments.delta")) == args
    final = s.get_final_response()
    call, thought, refusal = final.output
    assert isinstance(call, types.ResponseFunctionToolCall)
    assert (call.arguments, call.name, call.call_id) == (args, "weather", "call_1")
    assert isinstance(thought, types.ResponseReasoningItem)
    assert thought.summary[0].text == "Thinking."
    assert isinstance(refusal, types.ResponseOutputMessage)
    part = refusal.content[0]
    assert isinstance(part, types.ResponseOutputRefusal) and part.refusal == "Nope"
    assert final.output_text == ""
    assert orjson.loads(events[1].to_json())["item"]["arguments"] == ""  # events unchanged


async def test_2000_deltas_hold_the_final_response_not_every_event() -> None:
    pieces = [f"w{i} " for i in range(2000)]
    async with (
        serve(text_stream(pieces).body()) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        s = await open_stream(c)
        most = 0
        text = ""
        async with s:
            async for e in s:
                most = max(most, len(s._held))
                if e.type == "response.output_text.delta":
                    text += e.delta
    assert text == "".join(pieces)
    assert most <= _HELD + 200  # folded at each read, a few hundred at most
    assert s._fold is None and s._held == []  # the terminal response has it all
    assert s.get_final_response().output_text == text


async def test_2000_deltas_folded_when_the_server_omits_the_output() -> None:
    pieces = [f"w{i} " for i in range(2000)]
    body = text_stream(pieces, final="empty", done_items=False).body()
    async with serve(body) as srv:
        _, s = await read_all(srv.base_url)
    assert s.get_final_response().output_text == "".join(pieces)


class Pieces:
    """A RawResponse that hands the stream's body over in the given pieces."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.headers: dict[str, str] = {"x-request-id": "req_1"}
        self.released = self.closed = False

    async def next_chunk(self) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""

    def at_eof(self) -> bool:
        return not self.pieces

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


async def read_pieces(pieces: list[bytes]) -> tuple[list[Any], AsyncResponseStream, Pieces]:
    raw = Pieces(pieces)
    s = AsyncResponseStream(cast(Any, raw))
    events = [e.to_dict() async for e in s]
    return events, s, raw


async def test_every_byte_split_gives_the_same_events() -> None:
    body = text_stream(["a", "é", "🙂", "b"], final="empty", done_items=False).body()
    want, _, _ = await read_pieces([body])
    assert len(want) == 9
    for at in range(1, len(body)):
        got, s, raw = await read_pieces([body[:at], body[at:]])
        assert got == want, at
        assert s.get_final_response().output_text == "aé🙂b"
        assert raw.released and not raw.closed
    got, s, _ = await read_pieces([body[i : i + 1] for i in range(len(body))])
    assert got == want and s.get_final_response().output_text == "aé🙂b"


async def test_multibyte_utf8_split_across_reads_on_loopback() -> None:
    pieces = ["é" * 7, "🙂" * 5, "日本語"]
    body = text_stream(pieces).body()
    # 3-byte writes, each its own read: every multi-byte character is cut somewhere
    async with serve(body, piece=3) as srv:
        events, s = await read_all(srv.base_url)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == pieces
    assert s.get_final_response().output_text == "".join(pieces)


async def test_a_cut_stream_raises_after_the_events_before_the_cut() -> None:
    body = text_stream(PIECES, final="cut").body()
    async with (
        serve(body, end=False) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        s = await open_stream(c)
        got = []
        with pytest.raises(rawgpt.APIConnectionError):
            async with s:
                async for e in s:
                    got.append(e.type)
    assert got[-1] == "response.output_item.done" and not s.completed
    with pytest.raises(RuntimeError, match="closed early"):
        s.get_final_response()


async def test_a_clean_close_without_a_terminal_event_raises() -> None:
    """The body ends properly (chunked terminator) but no terminal event came: the SDK
    ends quietly there; rawgpt says the response never finished."""
    body = text_stream(PIECES, final="cut").body()
    async with serve(body) as srv, rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c:
        s = await open_stream(c)
        n = 0
        with pytest.raises(rawgpt.APIConnectionError, match="terminal event") as info:
            async with s:
                async for _ in s:
                    n += 1
    assert n == len(Events().parts) + 4 + len(PIECES) + 2
    assert not isinstance(info.value, rawgpt.APITimeoutError)


async def test_done_without_a_terminal_event_raises() -> None:
    body = text_stream(PIECES, final="cut").body() + b"data: [DONE]\n\n"
    async with serve(body) as srv:
        with pytest.raises(rawgpt.APIConnectionError, match="terminal event"):
            await read_all(srv.base_url)


@pytest.mark.parametrize("form", ["nested", "flat"])
async def test_an_error_event_raises_a_status_error_after_the_events_before_it(
    form: str,
) -> None:
    ev = text_stream(["a", "b"], final="cut", done_items=False)
    if form == "nested":
        error = {"type": "server_error", "code": "server_error", "message": "Boom happened",
                 "param": None}  # fmt: skip
        ev.add("error", error=error)
    else:
        ev.add("error", code="server_error", message="Boom happened", param=None)
    async with (
        serve(ev.body()) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, max_retries=0) as c,
    ):
        s = await open_stream(c)
        got = []
        with pytest.raises(rawgpt.APIError) as info:
            async with s:
                async for e in s:
                    got.append(e.type)
    assert got[-2:] == ["response.output_text.delta"] * 2
    assert isinstance(info.value, rawgpt.APIStatusError)
    assert not isinstance(info.value, rawgpt.APIConnectionError)
    assert "Boom happened" in str(info.value)
    assert info.value.code == "server_error"
    assert not s.completed


async def test_an_error_event_with_a_rate_limit_code_is_a_rate_limit_error() -> None:
    ev = Events().add("response.created", response={"id": "r", "output": []})
    ev.add("error", code="rate_limit_exceeded", message="Slow down", param=None)
    async with serve(ev.body()) as srv:
        with pytest.raises(rawgpt.RateLimitError, match="Slow down"):
            await read_all(srv.base_url, max_retries=0)


@pytest.mark.parametrize(
    ("terminal", "status"),
    [("response.failed", "failed"), ("response.incomplete", "incomplete")],
)
async def test_failed_and_incomplete_end_normally_with_their_status(
    terminal: str, status: str
) -> None:
    extra: dict[str, Any] = (
        {"error": {"code": "server_error", "message": "It broke"}}
        if status == "failed"
        else {"incomplete_details": {"reason": "max_output_tokens"}}
    )
    body = text_stream(PIECES, terminal=terminal, extra=extra).body()
    async with serve(body) as srv:
        events, s = await read_all(srv.base_url)
    assert events[-1].type == terminal and s.completed
    final = s.get_final_response()
    assert final.status == status
    if status == "failed":
        assert final.error is not None and final.error.message == "It broke"
    else:
        assert final.incomplete_details is not None
        assert final.incomplete_details.reason == "max_output_tokens"
    assert final.output_text == "".join(PIECES)


async def test_leaving_early_closes_the_connection_at_once() -> None:
    """A server that keeps sending: breaking out closes the socket without draining."""
    body = text_stream(PIECES, final="cut").body()
    async with (
        serve(body, end=False, hold=True) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        s = await open_stream(c)
        assert (await anext(s)).type == "response.created"
        closing = asyncio.create_task(s.close())  # what leaving ``async with`` does
        await srv.wait_closed_by_client(timeout=1.0)  # draining would wait 2 s
        await closing
    assert not s.completed


async def test_finished_streams_give_their_connection_back() -> None:
    """Read to the end, or left right after the terminal event: the connection is drained
    of its terminator and reused."""
    async with (
        serve(text_stream(PIECES).body()) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        for _ in range(2):
            async with await open_stream(c) as s:
                async for _ in s:
                    pass
        for _ in range(2):
            async with await open_stream(c) as s:
                async for e in s:
                    if e.type == "response.completed":
                        break
            assert s.get_final_response().output_text == "".join(PIECES)
        assert srv.connections == 1 and srv.requests == 4


async def test_a_stream_event_past_the_cap_fails_the_stream() -> None:
    body = text_stream(["x" * 5000]).body()
    async with serve(body) as srv:
        with pytest.raises(rawgpt.APIResponseValidationError, match="too large"):
            await read_all(srv.base_url, limits=rawgpt.Limits(max_event_bytes=4096))


async def test_an_event_that_is_not_json_fails_the_stream() -> None:
    body = text_stream(["a"], final="cut").body() + b"event: x\ndata: {nope\n\n"
    async with serve(body) as srv:
        with pytest.raises(rawgpt.APIResponseValidationError, match="not JSON"):
            await read_all(srv.base_url)


async def test_an_unknown_event_type_reads_as_a_plain_view() -> None:
    ev = text_stream(["a"], final="cut", done_items=False)
    ev.add("response.brand_new.thing", item_id="x", novelty=7)
    ev.add("response.completed", response={**message("a"), "output": [message("a")]})
    async with serve(ev.body()) as srv:
        events, s = await read_all(srv.base_url)
    assert type(events[-2]) is rawgpt.View and events[-2]["novelty"] == 7
    assert s.get_final_response().output_text == "a"


async def test_cancelling_a_reader_closes_the_connection() -> None:
    body = text_stream(PIECES, final="cut").body()
    async with (
        serve(body, end=False, hold=True) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as c,
    ):
        s = await open_stream(c)

        async def reader() -> None:
            async with s:
                async for _ in s:
                    pass

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.2)
        task.cancel()
        await srv.wait_closed_by_client(timeout=1.0)  # draining would wait 2 s
        with pytest.raises(asyncio.CancelledError):
            await task
