"""Admission cost: the tokens OpenAI counts against TPM when it admits a request.

Roughly prompt characters / 4 (message text, tools and other prompt text) plus
the output allowance (``max_completion_tokens`` or ``max_tokens``, else a
default) times ``n``. Users with a real tokenizer plug in ``prompt_tokens``.

A Responses API body counts its ``input`` (a string, or items: message
contents as strings or text parts, function call arguments and outputs),
``instructions``, ``tools`` and ``text.format`` schema, plus
``max_output_tokens`` (else the default). A body with ``input`` and no
Responses field (instructions, max_output_tokens, tools, reasoning, text, ...)
and no items is read as an embeddings body: no output allowance (so a bare
``{"model", "input": "..."}`` Responses call is charged the default output
allowance less than it might be).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

DEFAULT_OUTPUT_TOKENS = 16
TokenCounter = Callable[[Mapping[str, Any]], int]
_EXTRA_KEYS = frozenset(("tools", "functions", "response_format", "input", "instructions"))
# Fields of a Responses API body that an embeddings body never has.
_RESPONSES_KEYS = frozenset(
    (
        "instructions", "max_output_tokens", "tools", "tool_choice", "reasoning", "text",
        "previous_response_id", "conversation", "prompt", "stream", "store", "include",
        "background", "temperature", "top_p", "truncation", "metadata",
    )
)  # fmt: skip
# The text an input item carries besides its content: a call's arguments, a call's output.
_ITEM_TEXT = ("arguments", "output", "input", "name")


def _text_chars(content: Any) -> int:
    """Characters of a message's content: a string, or a list of parts with ``text``."""
    if type(content) is str:
        return len(content)
    chars = 0
    if type(content) is list:
        for part in content:
            text = part.get("text") if type(part) is dict else None
            if type(text) is str:
                chars += len(text)
    return chars


def _call_chars(calls: Any) -> int:
    """An assistant turn's tool calls are prompt text too: their names and arguments."""
    chars = 0
    if type(calls) is list:
        for call in calls:
            function = call.get("function") if type(call) is dict else None
            if type(function) is dict:
                chars += sum(len(v) for v in function.values() if type(v) is str)
    return chars


def _item_chars(item: dict[str, Any]) -> int:
    """Characters of a Responses API input item: its content (a string or text parts),
    a function call's name and arguments, a call output's text, a reasoning summary."""
    chars = _text_chars(item.get("content")) + _text_chars(item.get("summary"))
    for key in _ITEM_TEXT:
        value = item.get(key)
        chars += len(value) if type(value) is str else 0
    return chars


def _input_tokens(given: Any) -> int:
    """Embedding input: a string, a list of strings, a token array or a list of them;
    or Responses API input: a string or a list of items."""
    if type(given) is str:
        return max(1, len(given) // 4)
    if type(given) is not list:
        return 0
    if given and all(type(x) is int for x in given):
        return len(given)  # one token array
    tokens = 0
    for x in given:
        if type(x) is str:
            tokens += max(1, len(x) // 4)
        elif type(x) is dict:
            tokens += _item_chars(x) // 4
        else:
            tokens += _input_tokens(x)
    return tokens


def _is_responses(body: Mapping[str, Any]) -> bool:
    """A body with ``input`` is a Responses API call (not embeddings) when it has a field
    only Responses calls have, or input items."""
    if not _RESPONSES_KEYS.isdisjoint(body):
        return True
    given = body.get("input")
    return type(given) is list and any(type(x) is dict for x in given)


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Estimated prompt tokens: characters / 4 of messages and tools, or embedding input."""
    chars = 0
    messages = body.get("messages")
    if type(messages) is list:  # the hot path: one loop, no call for plain string contents
        for message in messages:
            if type(message) is dict:
                content = message.get("content")
                chars += len(content) if type(content) is str else _text_chars(content)
                if "tool_calls" in message:
                    chars += _call_chars(message["tool_calls"])
    if _EXTRA_KEYS.isdisjoint(body):
        return chars // 4 or 1
    for key in ("tools", "functions"):
        if type(body.get(key)) is list and body[key]:
            chars += len(orjson.dumps(body[key]))
    fmt = body.get("response_format")
    if type(fmt) is dict and type(fmt.get("json_schema")) is dict:  # a schema is prompt text
        chars += len(orjson.dumps(fmt["json_schema"]))
    text = body.get("text")  # the Responses API's structured output: text.format.schema
    fmt = text.get("format") if type(text) is dict else None
    if type(fmt) is dict and type(fmt.get("schema")) is dict:
        chars += len(orjson.dumps(fmt["schema"]))
    instructions = body.get("instructions")
    if type(instructions) is str:
        chars += len(instructions)
    given = body.get("input")
    if given is not None and messages is None:
        return max(1, _input_tokens(given) + chars // 4)
    return max(1, chars // 4)


def admission_cost(body: Mapping[str, Any], counter: TokenCounter | None = None) -> int:
    """Tokens charged at admission for ``body`` (prompt + output allowance times n)."""
    prompt = max(0, int(counter(body))) if counter is not None else prompt_tokens(body)
    if "input" in body and "messages" not in body and not _is_responses(body):
        return prompt  # embeddings: no output
    out = (
        body.get("max_completion_tokens")
        or body.get("max_tokens")
        or body.get("max_output_tokens")  # Responses API
    )
    n = body.get("n") or 1
    if type(out) is not int or out < 0:
        out = DEFAULT_OUTPUT_TOKENS
    if type(n) is not int or n < 1:
        n = 1
    return prompt + out * n
