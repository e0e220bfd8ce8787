"""Merge streamed chat completion chunks into the completion they add up to.

Per choice (any n): content and refusal concatenated, tool_calls merged by
index with their arguments concatenated, logprobs appended, the last
finish_reason; the usage of the ``include_usage`` chunk.
"""

from __future__ import annotations

from typing import Any

_TOP = ("id", "created", "model", "system_fingerprint", "service_tier")


def _merge_tool_calls(into: list[dict[str, Any]], pieces: list[dict[str, Any]]) -> None:
    for piece in pieces:
        index = piece.get("index", len(into))
        while len(into) <= index:
            into.append({"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        call = into[index]
        if piece.get("id"):
            call["id"] = piece["id"]
        if piece.get("type"):
            call["type"] = piece["type"]
        fn = piece.get("function")
        if fn:
            _merge_functions([call["function"]], fn)


def _merge_functions(held: list[dict[str, Any]], piece: dict[str, Any]) -> None:
    if not held:
        held.append({"name": "", "arguments": ""})
    if piece.get("name"):
        held[0]["name"] = held[0]["name"] or piece["name"]
    if piece.get("arguments"):
        held[0]["arguments"] += piece["arguments"]


def _merge_choice(choice: dict[str, Any], part: dict[str, Any]) -> None:
    message = choice["message"]
    delta = part.get("delta") or {}
    for key, value in delta.items():
        if value is None:
            continue
        if key in ("content", "refusal"):
            message[key] = value if message[key] is None else message[key] + value
        elif key == "tool_calls":
            _merge_tool_calls(message.setdefault("tool_calls", []), value)
        elif key == "function_call":  # the deprecated `functions` API, streamed the same way
            held = [message["function_call"]] if message.get("function_call") else []
            _merge_functions(held, value)
            message["function_call"] = held[0]
        elif key == "role":
            message["role"] = value
        else:
            message[key] = value
    if part.get("finish_reason") is not None:
        choice["finish_reason"] = part["finish_reason"]
    logprobs = part.get("logprobs")
    if logprobs:
        kept: dict[str, Any] = choice["logprobs"] or {}
        choice["logprobs"] = kept
        for key in ("content", "refusal"):
            if logprobs.get(key):
                kept.setdefault(key, []).extend(logprobs[key])


def accumulate(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``chat.completion`` dict that the given ``chat.completion.chunk`` dicts add up to."""
    result: dict[str, Any] = {"object": "chat.completion"}
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        for key in _TOP:
            if key not in result and chunk.get(key) is not None:
                result[key] = chunk[key]
        for part in chunk.get("choices") or ():
            index = part.get("index", 0)
            choice = choices.get(index)
            if choice is None:
                choice = choices[index] = {
                    "index": index,
                    "message": {"role": "assistant", "content": None, "refusal": None},
                    "logprobs": None,
                    "finish_reason": None,
                }
            _merge_choice(choice, part)
        if chunk.get("usage"):
            usage = chunk["usage"]
    result["choices"] = [choices[i] for i in sorted(choices)]
    result["usage"] = usage
    return result


def finished(chunks: list[dict[str, Any]]) -> bool:
    """Whether every choice seen has a finish_reason (a clean end without [DONE])."""
    seen: dict[int, bool] = {}
    for chunk in chunks:
        for part in chunk.get("choices") or ():
            index = part.get("index", 0)
            seen[index] = seen.get(index, False) or part.get("finish_reason") is not None
    return bool(seen) and all(seen.values())
