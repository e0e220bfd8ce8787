"""Responses API event streams written byte by byte, and a loopback server that sends them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from ..loopback import RawServer, chunk, head, write_all

RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-4o-mini"}
USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 9,
    "output_tokens_details": {"reasoning_tokens": 3},
    "total_tokens": 21,
}


class Events:
    """Builds one stream: each ``add`` is an event with the next sequence number."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def add(self, kind: str, *, name: str | None = None, **fields: Any) -> Events:
        data = orjson.dumps({"type": kind, "sequence_number": len(self.parts), **fields})
        self.parts.append(b"event: %s\ndata: %s\n\n" % ((name or kind).encode(), data))
        return self

    def body(self) -> bytes:
        return b"".join(self.parts)


def message(text: str, status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": []}
    return {"id": "msg_1", "type": "message", "role": "assistant", "status": status,
            "content": [part]}  # fmt: skip


def text_stream(
    pieces: Sequence[str],
    *,
    terminal: str = "response.completed",
    final: str = "full",  # "full": the terminal response has the output; "empty": output []
    # "none": no response in the terminal event; "cut": no terminal event at all
    done_items: bool = True,
    extra: dict[str, Any] | None = None,
) -> Events:
    """A message streamed as ``pieces`` of output text, then its terminal event."""
    ev = Events()
    ev.add("response.created", response={**RESPONSE, "status": "in_progress", "output": []})
    ev.add("response.in_progress", response={**RESPONSE, "status": "in_progress", "output": []})
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}  # fmt: skip
    ev.add("response.output_item.added", output_index=0, item=item)
    ev.add("response.content_part.added", item_id="msg_1", output_index=0, content_index=0,
           part={"type": "output_text", "text": "", "annotations": []})  # fmt: skip
    for piece in pieces:
        ev.add("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0,
               delta=piece, logprobs=[])  # fmt: skip
    text = "".join(pieces)
    if done_items:
        ev.add("response.output_text.done", item_id="msg_1", output_index=0, content_index=0,
               text=text, logprobs=[])  # fmt: skip
        ev.add("response.output_item.done", output_index=0, item=message(text))
    if final == "cut":
        return ev
    status = {"response.completed": "completed", "response.incomplete": "incomplete",
              "response.failed": "failed"}[terminal]  # fmt: skip
    response = {**RESPONSE, "status": status, "usage": USAGE, **(extra or {})}
    response["output"] = [message(text, "incomplete" if status != "completed" else status)]
    if final == "empty":
        response["output"] = []
    if final == "none":
        ev.add(terminal)
    else:
        ev.add(terminal, response=response)
    return ev


async def send_stream(
    w: asyncio.StreamWriter, body: bytes, *, piece: int = 0, end: bool = True
) -> None:
    """Write an event-stream answer (chunked; in pieces of ``piece`` bytes, each waited
    for, when set); with ``end`` the chunked terminator, else nothing more."""
    await write_all(w, head(content_type="text/event-stream", transfer_encoding="chunked"))
    step = piece or len(body) or 1
    for i in range(0, len(body), step):
        await write_all(w, chunk(body[i : i + step]))
        if piece:
            await asyncio.sleep(0.005)  # its own read on the client's side
    if end:
        await write_all(w, b"0\r\n\r\n")


def serve(body: bytes, *, piece: int = 0, end: bool = True, hold: bool = False) -> RawServer:
    """A loopback server answering every request with the stream ``body``; ``hold``: send
    nothing more afterwards and keep the connection open until the client closes it."""

    async def respond(w: asyncio.StreamWriter) -> bool:
        await send_stream(w, body, piece=piece, end=end)
        if not end and not hold:
            w.transport.abort()  # cut: the connection drops mid-body
        return hold

    return RawServer(respond)
