"""Everyday code written for the official SDK, run against rawgpt: ``mypy --strict``
must pass with no error. test_typing.py checks it against rawgpt and, with the imports
swapped, against the SDK itself: the code here is the SDK's style, not rawgpt's (whose
additions are in extras.py)."""

from __future__ import annotations

import json
from typing import Any

import rawgpt as openai
from rawgpt.types.chat import ChatCompletion, ChatCompletionChunk


async def plain(client: openai.AsyncOpenAI) -> str:
    r = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], max_tokens=50
    )
    choice = r.choices[0]
    text: str = choice.message.content or ""
    reason: str = choice.finish_reason
    created: int = r.created
    if r.usage is not None:
        total: int = r.usage.total_tokens
        if r.usage.prompt_tokens_details is not None:
            cached: int | None = r.usage.prompt_tokens_details.cached_tokens
            print(total, cached)
    print(reason, created, r.id, r.model, r.system_fingerprint, r.model_dump(), r.to_json())
    return text


async def tools(client: openai.AsyncOpenAI) -> list[dict[str, Any]]:
    r: ChatCompletion = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ],
        tool_choice="auto",
        temperature=0,
    )
    message = r.choices[0].message
    calls: list[dict[str, Any]] = []
    for call in message.tool_calls or []:
        if call.type == "function":
            calls.append({"id": call.id, "name": call.function.name})
            calls.append(json.loads(call.function.arguments))
    if message.refusal is not None:
        print(message.refusal.upper())
    return calls


async def stream(client: openai.AsyncOpenAI) -> str:
    parts: list[str] = []
    s = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    async with s:
        async for chunk in s:
            if chunk.choices and chunk.choices[0].delta.content is not None:
                parts.append(chunk.choices[0].delta.content)
            for delta_call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
                index: int = delta_call.index
                if delta_call.function is not None and delta_call.function.arguments:
                    print(index, delta_call.function.arguments)
            if chunk.usage is not None:
                print(chunk.usage.completion_tokens)
    return "".join(parts)


def handle(chunk: ChatCompletionChunk) -> str | None:
    return chunk.choices[0].delta.content if chunk.choices else None


async def embed(client: openai.AsyncOpenAI) -> list[float]:
    e = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    print(e.usage.prompt_tokens, len(e.data))
    return list(e.data[0].embedding)


async def errors(client: openai.AsyncOpenAI) -> None:
    try:
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    except openai.RateLimitError as e:
        status: int = e.status_code
        print(status, e.request_id)
    except openai.APIStatusError as e:
        print(e.status_code, e.body)
    except openai.APITimeoutError:
        pass
    except openai.APIConnectionError as e:
        print(e)


async def build() -> None:
    async with openai.AsyncOpenAI(api_key="sk-x", base_url="http://127.0.0.1:1/v1") as client:
        await plain(client)


def blocking() -> None:
    client = openai.OpenAI(api_key="sk-x", max_retries=2, timeout=30.0)
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    print(r.choices[0].message.content)
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    ) as s:
        for chunk in s:
            print(chunk.choices[0].delta.content if chunk.choices else "")
    e = client.embeddings.create(model="text-embedding-3-small", input="a")
    print(e.data[0].index)
    client.close()
