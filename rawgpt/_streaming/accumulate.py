"""Merge streamed chat completion chunks into the completion they add up to.

``Merged`` takes the chunks one at a time and keeps only what they add up to;
``accumulate`` and ``finished`` are the same merge over a list.

Per choice (any n), each ``delta`` merges into the message by one rule, so
fields rawgpt does not know merge as the known ones do:

- a string is a piece of a longer one, concatenated (``content``, ``refusal``,
  ``reasoning_content``, ``reasoning``, ``audio.data``, ``audio.transcript``,
  a tool call's ``arguments``), except identity fields (``id``, ``type``,
  ``role``, ``name``, ``format``): their first non-empty value stays, so an id
  repeated in every chunk is kept once and an empty later name is ignored;
- an object merges field by field (``audio``, a tool call's ``function``);
- a list of objects with an ``index`` (``tool_calls``) merges item by index; any
  other list is extended (the tokens of ``logprobs.content``);
- any other value (a number, a bool) keeps the latest.

``logprobs`` merge by the same rule; ``finish_reason`` and a choice's other
fields keep the latest non-null value; the top-level ids come from the first
chunk that has them, the usage from the last one (the ``include_usage`` chunk).
"""

from __future__ import annotations

from typing import Any

_TOP = ("id", "created", "model", "system_fingerprint", "service_tier")
# Identity fields: the first non-empty value stays. ``format`` is OpenRouter's, repeated
# in every ``reasoning_details`` piece.
_ONCE = frozenset(("id", "type", "role", "name", "format"))
# A long text arrives in many small pieces: held as a list, joined every _PIECES pieces
# (and at the end) so a 60,000-piece answer costs neither quadratic copying nor a
# Python object per piece.
_PIECES = 256


class _Text(list[str]):
    """The pieces of a concatenated string, joined when the completion is built."""

    __slots__ = ()


def _tool_call() -> dict[str, Any]:
    """A tool call before its pieces: every field the SDK's type has (type set at the end)."""
    return {"id": None, "type": None, "function": {"name": "", "arguments": _Text()}}


def _merge(into: dict[str, Any], delta: dict[str, Any]) -> None:
    """Merge one delta object into what is held (``delta`` is not changed)."""
    for key, value in delta.items():
        kind = type(value)
        if kind is str:
            if key in _ONCE:
                if value and not into.get(key):
                    into[key] = value
                continue
            held = into.get(key)
            if type(held) is _Text:
                held.append(value)
                if len(held) > _PIECES:
                    held[:] = ("".join(held),)
            else:
                into[key] = _Text((value,) if held is None else (held, value))
        elif value is None:
            continue
        elif kind is dict:
            held = into.get(key)
            if type(held) is not dict:
                held = into[key] = {}
            _merge(held, value)
        elif kind is list:
            held = into.get(key)
            if type(held) is not list:
                held = into[key] = []
            if value and type(value[0]) is dict and "index" in value[0]:
                _merge_by_index(held, value, _tool_call if key == "tool_calls" else dict)
            else:
                held.extend(value)
        else:
            into[key] = value


def _merge_by_index(held: list[Any], items: list[Any], new: Any) -> None:
    for item in items:
        if type(item) is not dict:
            continue
        index = item.get("index")
        if type(index) is not int or index < 0:
            index = len(held)
        while len(held) <= index:
            held.append(new())
        into = held[index]
        _merge(into, item)
        into.pop("index", None)  # the position in the list, not a field


def _built(value: Any) -> Any:
    """A plain copy of what is held: texts joined, containers new."""
    kind = type(value)
    if kind is _Text:
        return "".join(value)
    if kind is dict:
        return {k: _built(v) for k, v in value.items()}
    if kind is list:
        return [_built(v) for v in value]
    return value


class Merged:
    """A completion built from its chunks as they come: it holds what they add up to."""

    __slots__ = ("choices", "count", "top", "usage")

    def __init__(self) -> None:
        self.top: dict[str, Any] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: Any = None
        self.count = 0  # chunks added

    def add(self, chunk: dict[str, Any]) -> None:
        """Merge one ``chat.completion.chunk`` dict (it is not changed)."""
        self.count += 1
        top = self.top
        if len(top) < len(_TOP):
            for key in _TOP:
                if key not in top and chunk.get(key) is not None:
                    top[key] = chunk[key]
        parts = chunk.get("choices")
        if parts:
            choices = self.choices
            for part in parts:
                if type(part) is not dict:
                    continue
                index = part.get("index", 0)
                choice = choices.get(index)
                if choice is None:
                    choice = choices[index] = {
                        "index": index,
                        "message": {},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                for key, value in part.items():
                    if value is None or key == "index":
                        continue
                    if key == "delta":
                        if type(value) is dict:
                            _merge(choice["message"], value)
                    elif key == "logprobs":
                        if type(value) is dict:
                            if choice["logprobs"] is None:
                                choice["logprobs"] = {}
                            _merge(choice["logprobs"], value)
                    else:  # finish_reason, and any other field: the latest
                        choice[key] = value
        usage = chunk.get("usage")
        if usage:
            self.usage = usage

    @property
    def finished(self) -> bool:
        """Whether every choice seen has a finish_reason (a clean end without [DONE])."""
        choices = self.choices.values()
        return bool(choices) and all(c["finish_reason"] is not None for c in choices)

    def finish_reason(self) -> Any:
        """The first choice's finish_reason (None before any)."""
        choices = self.choices
        return choices[min(choices)]["finish_reason"] if choices else None

    def result(self) -> dict[str, Any]:
        """The ``chat.completion`` dict so far (a new one on every call)."""
        choices = []
        for index in sorted(self.choices):
            choice = _built(self.choices[index])
            held = choice["message"]
            message = {
                "role": held.pop("role", "assistant"),
                "content": held.pop("content", None),
                "refusal": held.pop("refusal", None),
            }
            message.update(held)
            for call in message.get("tool_calls") or ():
                if type(call) is dict and call.get("type", "") is None:
                    call["type"] = "function"
            choice["message"] = message
            choices.append(choice)
        return {
            "object": "chat.completion",
            **self.top,
            "choices": choices,
            "usage": self.usage,
        }


def _merged(chunks: list[dict[str, Any]]) -> Merged:
    merged = Merged()
    for chunk in chunks:
        merged.add(chunk)
    return merged


def accumulate(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``chat.completion`` dict that the given ``chat.completion.chunk`` dicts add up to."""
    return _merged(chunks).result()


def finished(chunks: list[dict[str, Any]]) -> bool:
    """Whether every choice seen has a finish_reason (a clean end without [DONE])."""
    return _merged(chunks).finished
