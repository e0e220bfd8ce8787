"""Code written for openai.AsyncOpenAI runs unchanged after ``import rawgpt as openai``."""

from __future__ import annotations

import types
from typing import Any

import openai as official
import pytest

import rawgpt
from rawgpt.testing import MockServer


async def sdk_program(openai: types.ModuleType, base_url: str) -> list[Any]:
    """A typical program written against the official SDK's async client."""
    out: list[Any] = []
    client = openai.AsyncOpenAI(api_key="sk-dropin", base_url=base_url, max_retries=0)
    r = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=50,
    )
    out += [r.choices[0].message.content, r.choices[0].finish_reason, r.usage.total_tokens]
    out.append(r.choices[0].message.tool_calls)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            out.append(chunk.usage.completion_tokens)
    out.append(text)
    for fault, cls in [
        ("rate_limit", openai.RateLimitError),
        ("status:400", openai.BadRequestError),
        ("status:401", openai.AuthenticationError),
        ("status:404", openai.NotFoundError),
        ("status:500", openai.InternalServerError),
    ]:
        try:
            await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-mock-fault": fault},
            )
        except cls as e:
            out.append((type(e).__name__, e.status_code, isinstance(e, openai.APIStatusError)))
        except openai.APIError as e:  # pragma: no cover - would fail the comparison
            out.append(("unexpected", type(e).__name__))
    e2 = await client.embeddings.create(model="text-embedding-3-small", input="hello")
    out.append(len(e2.data[0].embedding))
    await client.close()
    return out


@pytest.mark.parametrize("module", [rawgpt], ids=["rawgpt"])
async def test_sdk_program_gives_the_same_results(module: types.ModuleType) -> None:
    async with MockServer() as srv:
        expected = await sdk_program(official, srv.base_url)
        got = await sdk_program(module, srv.base_url)
    assert got == expected
    assert expected[1] == "stop" and expected[-1] == 8
