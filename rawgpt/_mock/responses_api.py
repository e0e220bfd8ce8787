"""The mock server's Responses API (``POST /v1/responses``): the plan, the body, the stream.

A request becomes a ``ResponsePlan``. Its output, in order:

- a reasoning item, when the request has a ``reasoning`` object or names a
  reasoning model (``o1``, ``o3``, ``o4-mini``, ``gpt-5``...); its summary (one
  ``summary_text`` part) only when ``reasoning.summary`` is set, as OpenAI does;
- then a function call when the request has a function tool and ``tool_choice``
  is not ``"none"`` (the chosen function, else the first), as the chat mock does;
- else a message: a ``refusal`` part (the ``refusal`` fault) or an ``output_text``
  part holding the reply, cut to ``max_output_tokens`` (reasoning tokens count
  too) with status ``"incomplete"`` and ``incomplete_details.reason``
  ``"max_output_tokens"`` when the reply does not fit.

The ``failed`` fault gives no output, status ``"failed"`` and an ``error``. The
plan renders as the final ``response`` object (the plain answer) and as the
event sequence OpenAI streams: ``response.created``, ``response.in_progress``,
per item ``output_item.added``, its parts and deltas, ``output_item.done``, and
one terminal event (``response.completed`` / ``.incomplete`` / ``.failed``)
carrying the whole final response. Each event is ``event: <type>`` plus JSON
data with the same ``type`` and a ``sequence_number`` counting from 0; there is
no ``data: [DONE]``. Token counts are the chat mock's estimates.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import orjson

from .errors import STREAM_ERROR, error_event, invalid_param, missing_param
from .responses import (
    DEFAULT_MAX_TOKENS,
    REFUSAL,
    content_chars,
    tool_arguments,
    validate,
)
from .stream import Endings, split_pieces

REASONING_SUMMARY = (
    "**Answering the mock request**\n\nThe user sent a request to the rawgpt mock server; "
    "I will reply with its fixed text."
)
_REASONING_TOKENS = len(REASONING_SUMMARY.split())
_REASONING_MODEL = re.compile(r"(o\d|gpt-5)([-.:]|$)")
FAILED_ERROR = {
    "code": "server_error",
    "message": "The server had an error while processing your request. Sorry about that!",
}
# The request fields a response repeats, with what it shows when the request leaves them out.
_ECHOED: dict[str, Any] = {
    "background": False,
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "reasoning": {"effort": None, "summary": None},
    "safety_identifier": None,
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto",
    "tools": [],
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}
# What a Responses stream sends in place of its third event under a stream_error fault.
RESPONSES_ENDINGS = Endings(
    error_event({"type": "error", "sequence_number": 2}, flat=False),
    error_event({"type": "error", "sequence_number": 2}, flat=True),
    b"data: " + STREAM_ERROR + b"\n\n",
    (),
)


def check_request(body: dict[str, Any]) -> bytes | None:
    """An OpenAI error body when the request is not one the Responses API takes, else None."""
    if (error := validate(body, "input")) is not None:
        return error
    if not isinstance(body["input"], (str, list)):
        message = "Invalid type for 'input': expected one of a string or an array of input items."
        return invalid_param("input", message, "invalid_type")
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return invalid_param(
            "tools", "Invalid type for 'tools': expected an array.", "invalid_type"
        )
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            message = f"Invalid type for 'tools[{i}]': expected an object."
            return invalid_param(f"tools[{i}]", message, "invalid_type")
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            return missing_param(f"tools[{i}].name")  # e.g. chat's {"function": {...}} shape
    return None


def input_tokens(body: dict[str, Any]) -> int:
    """Prompt characters / 4 (input text, instructions, the tools JSON), at least 1."""
    given = body.get("input")
    chars = content_chars(body.get("instructions"))
    if isinstance(given, str):
        chars += len(given)
    elif isinstance(given, list):
        for item in given:
            if isinstance(item, dict):
                chars += content_chars(item.get("content"))
                chars += content_chars(item.get("output"))  # function_call_output
    if body.get("tools"):
        chars += len(orjson.dumps(body["tools"]))
    return max(1, chars // 4)


def _max_out(body: dict[str, Any]) -> int | None:
    limit = body.get("max_output_tokens")
    return limit if type(limit) is int else None


def responses_cost(body: dict[str, Any]) -> int:
    """Tokens counted against TPM at admission: the input plus the output allowance."""
    return input_tokens(body) + (_max_out(body) or DEFAULT_MAX_TOKENS)


def _chosen_function(body: dict[str, Any]) -> dict[str, Any] | None:
    tools, choice = body.get("tools"), body.get("tool_choice")
    if not isinstance(tools, list) or choice == "none":
        return None
    funcs = [t for t in tools if isinstance(t, dict) and t.get("type") == "function"]
    if isinstance(choice, dict) and choice.get("type") == "function":
        funcs = [f for f in funcs if f.get("name") == choice.get("name")] or funcs
    return funcs[0] if funcs else None


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """What one response says; ``kind`` is "text", "refusal", "function_call" or "none"."""

    model: str
    status: str  # "completed", "incomplete" or "failed"
    reasoning: bool
    summary: bool
    kind: str
    text: str  # the reply, the refusal or the call's arguments
    tool_name: str
    input_tokens: int
    output_tokens: int  # reasoning tokens included
    reasoning_tokens: int  # 0 on a failed response
    echo: dict[str, Any]

    def usage(self) -> dict[str, Any] | None:
        if self.status == "failed":
            return None
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


def plan_response(body: dict[str, Any], reply: str, fault: str | None = None) -> ResponsePlan:
    """The plan for a checked request; ``fault`` is "failed", "refusal" or None."""
    model, given = body["model"], body.get("reasoning")
    echo = {k: default if body.get(k) is None else body[k] for k, default in _ECHOED.items()}
    reasoning = isinstance(given, dict) or _REASONING_MODEL.match(model) is not None
    summary = isinstance(given, dict) and given.get("summary") is not None
    spent = _REASONING_TOKENS if reasoning else 0
    plan = ResponsePlan(
        model, "completed", reasoning, summary, "text", "", "", input_tokens(body), 0, spent, echo
    )
    if fault == "failed":
        return replace(
            plan, status="failed", reasoning=False, summary=False, kind="none", reasoning_tokens=0
        )
    if fault == "refusal":
        return replace(
            plan, kind="refusal", text=REFUSAL, output_tokens=spent + len(REFUSAL.split())
        )
    function = _chosen_function(body)
    if function is not None:
        args, name = tool_arguments(function), function["name"]
        out = spent + max(1, len(args) // 4)
        return replace(plan, kind="function_call", text=args, tool_name=name, output_tokens=out)
    words, limit = reply.split(), _max_out(body)
    if limit is not None and limit - spent < len(words):
        kept = words[: max(0, limit - spent)]
        kind, out = "text" if kept else "none", spent + len(kept)
        return replace(plan, status="incomplete", kind=kind, text=" ".join(kept), output_tokens=out)
    return replace(plan, text=reply, output_tokens=spent + len(words))


class _Ids:
    """The ids of one response's items, all from one suffix."""

    __slots__ = ("call", "function", "message", "reasoning", "response")

    def __init__(self, suffix: str) -> None:
        self.response = f"resp_{suffix}"
        self.reasoning = f"rs_{suffix}"
        self.message = f"msg_{suffix}"
        self.function = f"fc_{suffix}"
        self.call = f"call_{suffix}"


def _part(plan: ResponsePlan, text: str) -> dict[str, Any]:
    if plan.kind == "refusal":
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _items(plan: ResponsePlan, ids: _Ids, final: bool) -> Iterator[dict[str, Any]]:
    """The output items, as the final response holds them or (not ``final``) as
    ``output_item.added`` announces them."""
    status = ("incomplete" if plan.status == "incomplete" else "completed") if final else None
    if plan.reasoning:
        summary = [{"type": "summary_text", "text": REASONING_SUMMARY}] if plan.summary else []
        yield {"id": ids.reasoning, "type": "reasoning", "summary": summary if final else []}
    if plan.kind in ("text", "refusal"):
        content = [_part(plan, plan.text)] if final else []
        yield {
            "id": ids.message,
            "type": "message",
            "status": status or "in_progress",
            "content": content,
            "role": "assistant",
        }
    elif plan.kind == "function_call":
        yield {
            "id": ids.function,
            "type": "function_call",
            "status": status or "in_progress",
            "arguments": plan.text if final else "",
            "call_id": ids.call,
            "name": plan.tool_name,
        }


def _response(
    plan: ResponsePlan, ids: _Ids, created: int, output: list[dict[str, Any]], final: bool
) -> dict[str, Any]:
    status = plan.status if final else "in_progress"
    return {
        "id": ids.response,
        "object": "response",
        "created_at": created,
        "status": status,
        "completed_at": created if status == "completed" else None,
        "error": FAILED_ERROR if status == "failed" else None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "model": plan.model,
        "output": output,
        **plan.echo,
        "usage": plan.usage() if final else None,
    }


def response_json(plan: ResponsePlan, suffix: str, created: int) -> bytes:
    """The plain (non-stream) answer: the final response object."""
    ids = _Ids(suffix)
    return orjson.dumps(_response(plan, ids, created, list(_items(plan, ids, True)), True))


class _Events:
    """An event list under construction, numbering each event as it is added."""

    __slots__ = ("events", "seq")

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.seq = itertools.count()

    def add(self, type_: str, **fields: Any) -> None:
        data = orjson.dumps({"type": type_, "sequence_number": next(self.seq), **fields})
        self.events.append(b"event: " + type_.encode() + b"\ndata: " + data + b"\n\n")

    def deltas(
        self, type_: str, where: dict[str, Any], pieces: tuple[str, ...], tail: bytes
    ) -> None:
        """One delta event per piece: the fixed fields serialized once, the piece spliced in."""
        name = type_.encode()
        head = b'event: %s\ndata: {"type":"%s","sequence_number":' % (name, name)
        middle = b"," + orjson.dumps(where)[1:-1] + b',"delta":'
        end = tail + b"}\n\n"
        for piece in pieces:
            seq = b"%d" % next(self.seq)
            self.events.append(head + seq + middle + orjson.dumps(piece) + end)


def response_events(
    plan: ResponsePlan, suffix: str, created: int, chunks: int | None
) -> list[bytes]:
    """Every SSE event of one streamed response, the terminal event last."""
    ids, out = _Ids(suffix), _Events()
    start = _response(plan, ids, created, [], False)
    out.add("response.created", response=start)
    out.add("response.in_progress", response=start)
    final_items = list(_items(plan, ids, True))
    for index, (added, item) in enumerate(zip(_items(plan, ids, False), final_items, strict=True)):
        out.add("response.output_item.added", output_index=index, item=added)
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "reasoning" and plan.summary:
            at = {**where, "summary_index": 0}
            out.add("response.reasoning_summary_part.added", **at, part=_summary(""))
            pieces = split_pieces(REASONING_SUMMARY, None)
            out.deltas("response.reasoning_summary_text.delta", at, pieces, b"")
            out.add("response.reasoning_summary_text.done", **at, text=REASONING_SUMMARY)
            out.add("response.reasoning_summary_part.done", **at, part=_summary(REASONING_SUMMARY))
        elif item["type"] == "message":
            at = {**where, "content_index": 0}
            out.add("response.content_part.added", **at, part=_part(plan, ""))
            pieces = split_pieces(plan.text, chunks)
            if plan.kind == "refusal":
                out.deltas("response.refusal.delta", at, pieces, b"")
                out.add("response.refusal.done", **at, refusal=plan.text)
            else:
                out.deltas("response.output_text.delta", at, pieces, b',"logprobs":[]')
                out.add("response.output_text.done", **at, text=plan.text, logprobs=[])
            out.add("response.content_part.done", **at, part=_part(plan, plan.text))
        elif item["type"] == "function_call":
            pieces = split_pieces(plan.text, chunks or max(1, math.ceil(len(plan.text) / 4)))
            out.deltas("response.function_call_arguments.delta", where, pieces, b"")
            out.add("response.function_call_arguments.done", **where, arguments=plan.text)
        out.add("response.output_item.done", output_index=index, item=item)
    final = _response(plan, ids, created, final_items, True)
    out.add(f"response.{plan.status}", response=final)
    return out.events


def _summary(text: str) -> dict[str, str]:
    return {"type": "summary_text", "text": text}
