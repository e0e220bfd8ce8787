"""Mistakes the SDK's types catch: each marked line must draw exactly the mypy error
code in its ``# E:`` comment, and no other line any error (test_typing.py)."""

from __future__ import annotations

import rawgpt as openai

MESSAGES = [{"role": "user", "content": "Hi"}]


async def mistakes(client: openai.AsyncOpenAI) -> None:
    r = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    print(r.choices[0].message.contnt)  # E: attr-defined
    n: int = r.choices[0].message.content  # E: assignment
    print(r.choices[0].delta)  # E: attr-defined
    print(r.usage.total_tokens)  # E: union-attr
    print(r.choices[0].message.tool_calls[0].id)  # E: index
    await client.chat.completions.create(model="gpt-4o-mini")  # E: call-overload
    await client.chat.completions.create(messages=MESSAGES)  # E: call-overload
    await client.chat.completions.create(model="m", messages=MESSAGES, n="2")  # E: call-overload
    await client.chat.completions.create(model="m", messages=MESSAGES, n_=2)  # E: call-overload
    s = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    for chunk in s:  # E: attr-defined
        print(chunk)
    async for c in s:
        print(c.choices[0].message)  # E: attr-defined
    e = await client.embeddings.create(model="text-embedding-3-small")  # E: call-arg
    print(e.data[0].embeddings)  # E: attr-defined
    print(n)


def blocking_mistakes() -> None:
    client = openai.OpenAI(api_kee="sk-x")  # E: call-arg
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    print(r.choices[0].message.contnt)  # E: attr-defined
    s = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    print(s.choices)  # E: attr-defined
    print(client.base_ur)  # E: attr-defined
