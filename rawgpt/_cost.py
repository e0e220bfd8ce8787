"""Admission cost: the tokens OpenAI counts against TPM when it admits a request.

Roughly prompt characters / 4 (message text, tools and other prompt text) plus
the output allowance (``max_completion_tokens`` or ``max_tokens``, else a
default) times ``n``. Users with a real tokenizer plug in ``prompt_tokens``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

DEFAULT_OUTPUT_TOKENS = 16
TokenCounter = Callable[[Mapping[str, Any]], int]


def _text_chars(content: Any) -> int:
    if type(content) is str:
        return len(content)
    chars = 0
    if type(content) is list:
        for part in content:
            text = part.get("text") if type(part) is dict else None
            if type(text) is str:
                chars += len(text)
    return chars


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Estimated prompt tokens: characters / 4 of messages, tools and embedding input."""
    chars = 0
    messages = body.get("messages")
    if type(messages) is list:
        for message in messages:
            if type(message) is dict:
                chars += _text_chars(message.get("content"))
    if body.get("tools"):
        chars += len(orjson.dumps(body["tools"]))
    given = body.get("input")
    if type(given) is str:
        chars += len(given)
    elif type(given) is list:
        for item in given:
            chars += len(item) * (1 if type(item) is str else 4)
    return max(1, chars // 4)


def admission_cost(body: Mapping[str, Any], counter: TokenCounter | None = None) -> int:
    """Tokens charged at admission for ``body`` (prompt + output allowance times n)."""
    prompt = counter(body) if counter is not None else prompt_tokens(body)
    if "input" in body and "messages" not in body:  # embeddings: no output
        return prompt
    out = body.get("max_completion_tokens") or body.get("max_tokens")
    n = body.get("n") or 1
    if type(out) is not int or type(n) is not int:
        out, n = DEFAULT_OUTPUT_TOKENS, 1 if type(n) is not int else n
    return prompt + out * n
