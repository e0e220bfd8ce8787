"""Request validation and response JSON for the mock server's endpoints.

A chat request becomes a ``ChatPlan`` (reply text or tool call, finish reason,
token counts); the plan renders as a ``chat.completion`` body here and as SSE
chunks in ``_mock_stream``. Token counts are the usual estimates: prompt
characters / 4, and one completion token per word of the reply.
"""

from __future__ import annotations

import base64
import math
import random
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import MISSING_MODEL, invalid_param, missing_param

FINGERPRINT = "fp_mock"
DEFAULT_REPLY = "This is a mock reply from the rawgpt test server."
REFUSAL = "I'm sorry, but I can't help with that request."
DEFAULT_MAX_TOKENS = 16
EMBEDDING_DIM = 8
_SAMPLES: dict[str, Any] = {
    "string": "mock",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
}
_INT_LIMITS = {
    "n": 128,
    "max_tokens": 10**6,
    "max_completion_tokens": 10**6,
    "max_output_tokens": 10**6,
    "dimensions": 4096,
}
MODELS_JSON = orjson.dumps(
    {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
            for name in ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small")
        ],
    }
)


def default_reply(words: int | None) -> str:
    """The default sentence, repeated to at least ``words`` words when more are asked for."""
    base = DEFAULT_REPLY.split(" ")
    if words is None or words <= len(base):
        return DEFAULT_REPLY
    return " ".join(base[i % len(base)] for i in range(words))


def validate(body: dict[str, Any], required: str) -> bytes | None:
    """An error body when ``body`` lacks the model, ``required`` or sane counts, else None."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        return MISSING_MODEL
    if body.get(required) is None or body.get(required) == []:
        return missing_param(required)
    for key, top in _INT_LIMITS.items():
        value = body.get(key)
        if value is not None and (type(value) is not int or not 1 <= value <= top):
            message = f"Invalid '{key}': expected an integer from 1 to {top}."
            return invalid_param(key, message, "invalid_value")
    return None


def content_chars(content: Any) -> int:
    """Characters of a content: a string, or a list of parts with ``text``."""
    if isinstance(content, str):
        return len(content)
    chars = 0
    for part in content if isinstance(content, list) else ():
        text = part.get("text") if isinstance(part, dict) else None
        chars += len(text) if isinstance(text, str) else 0
    return chars


def prompt_tokens(body: dict[str, Any]) -> int:
    """Prompt characters / 4 (message contents plus the tools JSON), at least 1."""
    messages = body.get("messages")
    chars = 0
    if isinstance(messages, list):
        chars = sum(content_chars(m.get("content")) for m in messages if isinstance(m, dict))
    if body.get("tools"):
        chars += len(orjson.dumps(body["tools"]))
    return max(1, chars // 4)


def _max_out(body: dict[str, Any]) -> int | None:
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return limit if type(limit) is int else None


def chat_cost(body: dict[str, Any]) -> int:
    """Tokens counted against TPM at admission: prompt plus the output allowance times n."""
    n = body.get("n") or 1
    return prompt_tokens(body) + (_max_out(body) or DEFAULT_MAX_TOKENS) * n


@dataclass(frozen=True, slots=True)
class ChatPlan:
    """What every choice of one chat completion says."""

    model: str
    n: int
    text: str
    finish_reason: str
    tool_name: str | None
    tool_args: str
    prompt_tokens: int
    completion_tokens: int  # per choice
    refusal: bool = False  # ``text`` is a refusal

    def usage(self) -> dict[str, int]:
        completion = self.completion_tokens * self.n
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools, choice = body.get("tools"), body.get("tool_choice")
    if not isinstance(tools, list) or choice == "none":
        return None
    funcs = [
        t["function"] for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        wanted = choice["function"].get("name")
        funcs = [f for f in funcs if f.get("name") == wanted] or funcs
    return funcs[0] if funcs else None


def tool_arguments(function: dict[str, Any]) -> str:
    """A JSON arguments string with one sample value per declared parameter."""
    params = function.get("parameters")
    props = params.get("properties") if isinstance(params, dict) else None
    if not isinstance(props, dict) or not props:
        return '{"x": 1}'
    args: dict[str, Any] = {}
    for name, schema in props.items():
        schema = schema if isinstance(schema, dict) else {}
        kind = schema.get("type")
        kind = kind[0] if isinstance(kind, list) and kind else kind
        enum = schema.get("enum")
        sample = enum[0] if isinstance(enum, list) and enum else _SAMPLES.get(str(kind), "mock")
        args[str(name)] = sample
    return orjson.dumps(args).decode()


def plan_chat(body: dict[str, Any], reply: str, *, refuse: bool = False) -> ChatPlan:
    model, n, prompt = body["model"], body.get("n") or 1, prompt_tokens(body)
    if refuse:
        return ChatPlan(model, n, REFUSAL, "stop", None, "", prompt, len(REFUSAL.split()), True)
    tool = _chosen_tool(body)
    if tool is not None:
        args = tool_arguments(tool)
        name = str(tool.get("name") or "tool")
        return ChatPlan(model, n, "", "tool_calls", name, args, prompt, max(1, len(args) // 4))
    words, limit = reply.split(), _max_out(body)
    if limit is not None and limit < len(words):
        return ChatPlan(model, n, " ".join(words[:limit]), "length", None, "", prompt, limit)
    return ChatPlan(model, n, reply, "stop", None, "", prompt, len(words))


def tool_call_id(completion_id: str, index: int) -> str:
    return f"call_{completion_id.removeprefix('chatcmpl-')}_{index}"


def completion_json(plan: ChatPlan, completion_id: str, created: int) -> bytes:
    choices = []
    for i in range(plan.n):
        message: dict[str, Any] = {"role": "assistant", "content": plan.text, "refusal": None}
        if plan.refusal:
            message["content"], message["refusal"] = None, plan.text
        if plan.tool_name is not None:
            function = {"name": plan.tool_name, "arguments": plan.tool_args}
            call = {"id": tool_call_id(completion_id, i), "type": "function", "function": function}
            message["content"], message["tool_calls"] = None, [call]
        choices.append(
            {"index": i, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}
        )
    return orjson.dumps(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": plan.model,
            "choices": choices,
            "usage": plan.usage(),
            "system_fingerprint": FINGERPRINT,
        }
    )


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(type(v) is int for v in value)


def embedding_items(body: dict[str, Any]) -> list[Any] | None:
    """The inputs to embed: strings or token arrays (one array of ints is one input)."""
    value = body.get("input")
    if isinstance(value, str) or _is_tokens(value):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) or _is_tokens(v) for v in value):
        return value
    return None


def embedding_cost(body: dict[str, Any]) -> int:
    items = embedding_items(body) or []
    return sum(max(1, len(x) // 4) if isinstance(x, str) else len(x) for x in items)


def _vector(item: Any, dim: int) -> list[float]:
    seed = zlib.crc32(item.encode() if isinstance(item, str) else orjson.dumps(item))
    rnd = random.Random(seed)
    vec = [rnd.uniform(-1.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


def embeddings_json(body: dict[str, Any]) -> bytes:
    dim = body.get("dimensions") or EMBEDDING_DIM
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for i, item in enumerate(embedding_items(body) or []):
        vec: Any = _vector(item, dim)
        if as_base64:
            vec = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vec})
    tokens = embedding_cost(body)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return orjson.dumps({"object": "list", "data": data, "model": body["model"], "usage": usage})
