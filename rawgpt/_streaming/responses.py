"""AsyncResponseStream: the events of a streamed Responses API answer, and its final response.

Each SSE event is ``event: <type>`` plus JSON data with the same ``type`` and a
``sequence_number``; there is no ``[DONE]``. The stream ends with a terminal
event (``response.completed``, ``response.incomplete``, ``response.failed``:
given out, then the stream stops) or an ``error`` event, which raises the
APIStatusError it stands for, nested (``{"type": "error", "error": {...}}``,
OpenAI's form) or flat (``message`` and ``code`` at the top level). A body
that ends without either, cut or cleanly closed, raises APIConnectionError.

Per event the hot path is ``orjson.loads``, a dict lookup of the view class by
``type``, the view. The events given out are folded (``ResponseFold``) into
the output items they add up to, ``_HELD`` at a time at a read, so that
``get_final_response()`` has a response even from a server whose terminal
event leaves the output out (or leaves the response out); a terminal event
with the whole response ends the fold, and the stream then holds only that
response.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from .._errors import APIConnectionError
from .._transport import RawResponse
from ..sse import ServerSentEvent
from ..types import View
from ..types.responses import EVENT_CLASSES, Response, ResponseStreamEvent
from .accumulate import _PIECES, _built, _Text
from .base import SSEStream

_TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
_ENDS = frozenset((*_TERMINAL, "error"))
# A delta event type -> (where its item keeps the parts, the part's text field, a new
# part's type); None: the text is the item's own field.
_PART_DELTAS = {
    "response.output_text.delta": ("content", "text", "output_text"),
    "response.refusal.delta": ("content", "refusal", "refusal"),
    "response.reasoning_text.delta": ("content", "text", "reasoning_text"),
    "response.reasoning_summary_text.delta": ("summary", "text", "summary_text"),
}
_ITEM_DELTAS = {
    "response.function_call_arguments.delta": ("arguments", "function_call"),
    "response.custom_tool_call_input.delta": ("input", "custom_tool_call"),
    "response.mcp_call_arguments.delta": ("arguments", "mcp_call"),
}
_PART_ADDED = {
    "response.content_part.added": ("content", "content_index"),
    "response.reasoning_summary_part.added": ("summary", "summary_index"),
}
_SNAPSHOTS = frozenset(("response.created", "response.queued", "response.in_progress"))


def _add_text(into: dict[str, Any], key: str, piece: str) -> None:
    """Append ``piece`` to the text ``into[key]`` (held as pieces, joined when built)."""
    held = into.get(key)
    if type(held) is _Text:
        held.append(piece)
        if len(held) > _PIECES:
            held[:] = ("".join(held),)
    else:
        into[key] = _Text((held, piece) if type(held) is str and held else (piece,))


def _fresh(item: dict[str, Any]) -> dict[str, Any]:
    """A copy of an added item that the fold may change (the event's dict stays as sent)."""
    return {
        k: [dict(x) if type(x) is dict else x for x in v] if type(v) is list else v
        for k, v in item.items()
    }


def _new_item(kind: str, item_id: Any) -> dict[str, Any]:
    """An item for deltas whose ``output_item.added`` the server did not send."""
    if kind == "message":
        return {"id": item_id, "type": kind, "role": "assistant", "status": "in_progress",
                "content": []}  # fmt: skip
    if kind == "reasoning":
        return {"id": item_id, "type": kind, "summary": []}
    return {"id": item_id, "type": kind}


class ResponseFold:
    """The output items a response's stream events add up to, built as they come."""

    __slots__ = ("count", "done", "ids", "items", "snapshot")

    def __init__(self) -> None:
        self.snapshot: dict[str, Any] | None = None  # the latest response.created/in_progress
        self.items: dict[int, dict[str, Any]] = {}  # by output_index
        self.done: set[int] = set()  # items whose output_item.done came: final, as sent
        self.ids: dict[Any, int] = {}  # item id -> output_index
        self.count = 0  # events folded

    def add(self, event: dict[str, Any]) -> None:
        """Fold one event dict (it is not changed)."""
        self.count += 1
        kind = event.get("type")
        where = _PART_DELTAS.get(kind)  # type: ignore[arg-type]
        if where is not None:
            key, field, new = where
            item = self._item(event, "reasoning" if key == "summary" else "message")
            if item is None:
                return
            index = event.get("summary_index" if key == "summary" else "content_index")
            part = self._part(item, key, index, new)
            delta = event.get("delta")
            if part is not None and type(delta) is str:
                _add_text(part, field, delta)
            return
        own = _ITEM_DELTAS.get(kind)  # type: ignore[arg-type]
        if own is not None:
            item = self._item(event, own[1])
            delta = event.get("delta")
            if item is not None and type(delta) is str:
                _add_text(item, own[0], delta)
            return
        if kind == "response.output_item.added" or kind == "response.output_item.done":
            item = event.get("item")
            index = event.get("output_index")
            if type(item) is not dict:
                return
            if type(index) is not int:
                index = self.ids.get(item.get("id"), len(self.items))
            if kind == "response.output_item.done":
                self.items[index] = item
                self.done.add(index)
            else:
                self.items[index] = _fresh(item)
                self.done.discard(index)
            if item.get("id") is not None:
                self.ids[item["id"]] = index
            return
        added = _PART_ADDED.get(kind)  # type: ignore[arg-type]
        if added is not None:
            item = self._item(event, "message" if added[0] == "content" else "reasoning")
            part = event.get("part")
            if item is not None and type(part) is dict:
                parts = self._parts(item, added[0], event.get(added[1]))
                if parts is not None:
                    parts[0][parts[1]] = dict(part)
            return
        if kind in _SNAPSHOTS and type(event.get("response")) is dict:
            self.snapshot = event["response"]

    def _item(self, event: dict[str, Any], kind: str) -> dict[str, Any] | None:
        """The item an event is about (by output_index, else item_id); a new one if the
        server sent none; None if that item is done already (its final state stays)."""
        index = event.get("output_index")
        if type(index) is not int:
            index = self.ids.get(event.get("item_id"))
            if index is None:
                index = len(self.items)
        if index in self.done:
            return None
        item = self.items.get(index)
        if item is None:
            item = self.items[index] = _new_item(kind, event.get("item_id"))
            if event.get("item_id") is not None:
                self.ids[event["item_id"]] = index
        return item

    def _parts(self, item: dict[str, Any], key: str, index: Any) -> tuple[list[Any], int] | None:
        """The item's parts list, long enough for ``index``, and the index."""
        if type(index) is not int or not 0 <= index < 4096:
            return None
        parts = item.get(key)
        if type(parts) is not list:
            parts = item[key] = []
        while len(parts) <= index:
            parts.append(None)
        return parts, index

    def _part(self, item: dict[str, Any], key: str, index: Any, new: str) -> dict[str, Any] | None:
        found = self._parts(item, key, index)
        if found is None:
            return None
        parts, at = found
        part = parts[at]
        if type(part) is not dict:
            part = parts[at] = {"type": new}
            if new == "output_text":
                part["annotations"] = []
        return part

    def output(self) -> list[Any]:
        """The output items so far, in output_index order, texts joined."""
        return [_built(item) for _, item in sorted(self.items.items())]


class AsyncResponseStream(SSEStream[ResponseStreamEvent]):
    """The events of one streamed Responses API answer; ``async with`` it to be sure it
    closes. ``get_final_response()`` is the response it ended with."""

    def __init__(self, raw: RawResponse, **options: Any) -> None:
        super().__init__(raw, **options)
        self._fold: ResponseFold | None = ResponseFold()
        self._final: dict[str, Any] | None = None  # the terminal event's response
        self._status: str | None = None  # the terminal event's status

    def _item(self, event: ServerSentEvent) -> ResponseStreamEvent:
        data = event.data
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is not dict:
            if data == "[DONE]":  # a chat-style end, with no terminal event before it
                cut = APIConnectionError(self._unfinished())
                self._fail(cut)
                raise cut
            raise self._invalid(data, obj)
        kind = obj.get("type") or event.event
        if self.first_chunk_at is None:
            self.first_chunk_at = time.monotonic()
        if kind in _ENDS:
            return self._end(kind, obj, data)
        cls = EVENT_CLASSES.get(kind)  # type: ignore[arg-type]
        if cls is None:
            if obj.get("error") is not None:  # a gateway's {"error": {...}} data line
                error = self._error_from(data, obj)
                self._fail(error)
                raise error
            cls = View
        self._held.append(obj)
        return cls(obj)  # type: ignore[return-value]

    def _end(self, kind: str, obj: dict[str, Any], data: str) -> ResponseStreamEvent:
        if kind == "error":
            nested = obj.get("error")
            if type(nested) is dict:
                error = self._error_from(data, obj)
            else:  # flat: message, code, param beside type
                fields = ("message", "code", "param")
                body = {"error": {k: obj[k] for k in fields if obj.get(k) is not None}}
                error = self._error_from(orjson.dumps(body).decode(), body)
            self._fail(error)
            raise error
        response = obj.get("response")
        self._status = _TERMINAL[kind]
        if type(response) is dict and response.get("output"):
            self._final = response
            self._fold = None  # the response has it all: hold nothing else
            self._held = []
        else:
            self._final = response if type(response) is dict else None
            self._merge()
        self._done()
        return EVENT_CLASSES[kind](obj)  # type: ignore[return-value]

    def _merge(self) -> None:
        fold = self._fold
        if fold is not None:
            add = fold.add
            for event in self._held:
                add(event)
        self._held = []

    def _unfinished(self) -> str:
        fold = self._fold
        count = (fold.count if fold is not None else 0) + len(self._held)
        return (
            f"stream ended before its terminal event ({count} events; no response.completed, "
            "response.incomplete or response.failed)"
        )

    def _response(self) -> dict[str, Any]:
        """The final response: the terminal event's, or built from the events."""
        final, fold = self._final, self._fold
        if fold is None or (final is not None and final.get("output")):
            return final or {}
        body = dict(final or fold.snapshot or {})
        body.setdefault("object", "response")
        if final is None and self._status is not None:
            body["status"] = self._status
        body["output"] = fold.output()
        return body

    def _summary(self) -> dict[str, Any]:
        final = self._final
        if final is not None:
            return final
        return {"usage": None, "status": self._status}

    def get_final_response(self) -> Response:
        """The response the stream ended with (it must have ended with its terminal event):
        the one that event carries, or, when the server left its output out, built from the
        events (texts and arguments are their deltas concatenated). A ``response.failed``
        or ``response.incomplete`` stream returns that response, with its status."""
        if not self._complete:
            raise RuntimeError(
                "get_final_response() needs a stream read to its terminal event; this one "
                + ("was closed early" if self._closed else "is still open")
            )
        return Response(self._response(), headers=self.headers)
