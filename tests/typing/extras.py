"""What rawgpt adds to the SDK's surface, typed: ``mypy --strict`` must pass with no
error (test_typing.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rawgpt
from rawgpt.types import ChatCompletion, ChatCompletionChunk, CompletionUsage

MESSAGES: list[dict[str, str]] = [{"role": "user", "content": "Say hello"}]  # plain dicts
TOOLS: list[dict[str, Any]] = [{"type": "function", "function": {"name": "f"}}]


async def headers_and_ids(client: rawgpt.AsyncClient) -> str | None:
    r = await client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS)
    headers: Mapping[str, str] = r.headers
    remaining: str | None = r.headers.get("x-ratelimit-remaining-requests")
    print(headers, remaining, r.to_dict(), client.rate_limits)
    return r.request_id


async def stream_final(client: rawgpt.AsyncClient) -> int:
    s: rawgpt.AsyncStream[ChatCompletionChunk]
    s = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    async with s:
        async for chunk in s:
            print(chunk.choices[0].delta.content if chunk.choices else None)
    print(s.headers.get("x-request-id"), s.request_id)
    final: ChatCompletion = s.get_final_completion()
    usage: CompletionUsage | None = final.usage
    return 0 if usage is None else usage.completion_tokens


async def choose(client: rawgpt.AsyncClient, stream: bool) -> None:
    r = await client.chat.completions.create(model="m", messages=MESSAGES, stream=stream)
    if isinstance(r, rawgpt.AsyncStream):
        await r.close()
    else:
        print(r.choices[0].message.content)


async def newer_parameters(client: rawgpt.AsyncClient) -> ChatCompletion:
    return await client.chat.completions.create(
        model="m", messages=MESSAGES, extra_body={"brand_new_parameter": True}, timeout=5.0
    )


async def any_endpoint(client: rawgpt.AsyncClient) -> Any:
    r = await client.post("/moderations", {"input": "text"})
    return r.results  # an endpoint without a class: fields read as Any


def blocking(client: rawgpt.Client) -> None:
    with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as s:
        for chunk in s:
            print(chunk.choices[0].delta.content if chunk.choices else None)
        print(s.get_final_completion().choices[0].message.content, s.headers)
    r = client.chat.completions.create(model="m", messages=MESSAGES)
    print(r.headers, r.request_id, client.base_url, client.usage, client.max_retries)
    client.add_hook(lambda event: print(event.latency))
