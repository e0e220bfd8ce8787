"""The async client against MockServer on real loopback sockets."""

from __future__ import annotations

import os
from typing import Any

import pytest

import rawgpt
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES


async def test_create_returns_views_over_the_body(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    r = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    assert isinstance(r.choices[0].message.content, str) and r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0
    assert r.choices[0].message.tool_calls is None
    assert r.request_id and r.request_id.startswith("req_")
    d = r.to_dict()
    assert d is r.to_dict() and d["model"] == "gpt-4o-mini"
    with pytest.raises(AttributeError, match="contnet"):
        _ = r.choices[0].message.contnet  # type: ignore[attr-defined]  # the typo is the point


async def test_keywords_pass_into_the_body_unchanged(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    await client.chat.completions.create(  # type: ignore[call-overload]  # unknown keywords go into the body
        model="m",
        messages=MESSAGES,
        seed=7,
        response_format={"type": "json_object"},
        brand_new_parameter=[1, 2],
        stream=False,
        extra_body={"extra": True},
        extra_headers={"X-Custom": "yes"},
        extra_query={"api-version": "1"},
        timeout=30,
    )
    req = server.requests[-1]
    assert req.body == {
        "model": "m",
        "messages": MESSAGES,
        "seed": 7,
        "response_format": {"type": "json_object"},
        "brand_new_parameter": [1, 2],
        "stream": False,
        "extra": True,
    }
    assert req.headers["x-custom"] == "yes"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert req.path.startswith("/v1/chat/completions")


async def test_not_given_keys_are_left_out(client: rawgpt.AsyncClient, server: MockServer) -> None:
    await client.chat.completions.create(  # type: ignore[call-overload]  # NOT_GIVEN is not in the param types
        model="m", messages=MESSAGES, temperature=rawgpt.NOT_GIVEN
    )
    assert "temperature" not in server.requests[-1].body


@pytest.mark.parametrize("missing", ["model", "messages"])
async def test_missing_required_keyword_fails_before_sending(
    client: rawgpt.AsyncClient, server: MockServer, missing: str
) -> None:
    kwargs: dict[str, Any] = {"model": "m", "messages": MESSAGES}
    del kwargs[missing]
    with pytest.raises(TypeError, match=missing):
        await client.chat.completions.create(**kwargs)
    assert server.requests == []


async def test_unserializable_body_fails_before_sending(
    client: rawgpt.AsyncClient, server: MockServer
) -> None:
    with pytest.raises(TypeError, match="JSON"):
        await client.chat.completions.create(  # type: ignore[call-overload]  # a set, to fail serializing
            model="m", messages=MESSAGES, stop={1, 2}
        )
    assert server.requests == []


async def test_embeddings_and_post(client: rawgpt.AsyncClient, server: MockServer) -> None:
    e = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [d.index for d in e.data] == [0, 1]
    assert isinstance(e.data[0].embedding[0], float)
    assert e.usage.prompt_tokens >= 1
    r = await client.post("/chat/completions", {"model": "m", "messages": MESSAGES})
    assert r.choices[0].message.content
    assert r.request_id
    with pytest.raises(ValueError, match="stream"):
        await client.post("chat/completions", {"model": "m", "messages": MESSAGES, "stream": True})


async def test_organization_project_and_default_headers(server: MockServer) -> None:
    async with rawgpt.AsyncClient(
        api_key=KEY,
        base_url=server.base_url,
        organization="org-1",
        project="proj-1",
        default_headers={"X-Team": "infra"},
    ) as c:
        await c.chat.completions.create(model="m", messages=MESSAGES)
    h = server.requests[-1].headers
    assert (h["openai-organization"], h["openai-project"], h["x-team"]) == (
        "org-1",
        "proj-1",
        "infra",
    )
    assert h["user-agent"].startswith("rawgpt/")


async def test_api_key_from_env_callable_and_assignment(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    async with rawgpt.AsyncClient() as c:
        await c.chat.completions.create(model="m", messages=MESSAGES)
        assert server.requests[-1].headers["authorization"] == "Bearer sk-from-env"
        calls = iter(["sk-one", "sk-two"])
        c.api_key = lambda: next(calls)
        await c.chat.completions.create(model="m", messages=MESSAGES)
        await c.chat.completions.create(model="m", messages=MESSAGES)
        assert [r.headers["authorization"] for r in server.requests[-2:]] == [
            "Bearer sk-one",
            "Bearer sk-two",
        ]

        async def rotating() -> str:
            return "sk-async"

        c.api_key = rotating
        await c.chat.completions.create(model="m", messages=MESSAGES)
        assert server.requests[-1].headers["authorization"] == "Bearer sk-async"
        c.api_key = "sk-assigned"
        await c.chat.completions.create(model="m", messages=MESSAGES)
        assert server.requests[-1].headers["authorization"] == "Bearer sk-assigned"


async def test_each_call_carries_its_own_key_and_headers(server: MockServer) -> None:
    """The session's default headers are the first key's; other keys and extras win."""
    import asyncio

    order = ["sk-a", "sk-b", "sk-a", "sk-c", "sk-b", "sk-a"]
    keys = iter(order)
    async with rawgpt.AsyncClient(api_key="sk-a", base_url=server.base_url) as c:
        await c.chat.completions.create(model="m", messages=MESSAGES, extra_headers={"X-B": "2"})
        c.api_key = lambda: next(keys)
        calls = [
            c.chat.completions.create(model="m", messages=MESSAGES, user=str(i)) for i in range(6)
        ]
        await asyncio.gather(*calls)
        c.api_key = "sk-a"
        await c.chat.completions.create(model="m", messages=MESSAGES, extra_headers={"X-A": "1"})
        await c.chat.completions.create(model="m", messages=MESSAGES)
    sent = {r.body["user"]: r.headers["authorization"] for r in server.requests[1:7]}
    assert sent == {str(i): f"Bearer {key}" for i, key in enumerate(order)}
    assert [r.headers.get("x-a") for r in server.requests[-2:]] == ["1", None]
    assert [r.headers.get("x-b") for r in server.requests] == ["2"] + [None] * 8  # not kept
    assert {r.headers["authorization"] for r in server.requests[-2:]} == {"Bearer sk-a"}


async def test_cookies_are_neither_kept_nor_sent(server: MockServer) -> None:
    """OpenAI's edge sets two cookies on every answer; an API client needs neither."""
    import aiohttp

    base = server.base_url.replace("127.0.0.1", "localhost")  # a jar refuses IP hosts
    body = {"model": "m", "messages": MESSAGES}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as plain:
        for _ in range(2):  # aiohttp's default jar keeps them and sends them back
            async with plain.post(f"{base}/chat/completions", json=body) as resp:
                await resp.read()
    async with rawgpt.AsyncClient(api_key=KEY, base_url=base) as c:
        for _ in range(2):
            await c.chat.completions.create(model="m", messages=MESSAGES)
    cookies = [r.headers.get("cookie") for r in server.requests]
    assert cookies[:2] == [None, cookies[1]] and "__cf_bm=" in (cookies[1] or "")
    assert cookies[2:] == [None, None]


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(rawgpt.OpenAIError, match="OPENAI_API_KEY"):
        rawgpt.AsyncClient()
    assert "OPENAI_API_KEY" not in os.environ


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ValueError, match="base_url"):
        rawgpt.AsyncClient(api_key=KEY, base_url="api.openai.com/v1")


def test_client_builds_without_a_running_loop() -> None:
    c = rawgpt.AsyncClient(api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert c._transport._session is None
    assert KEY not in repr(c)


async def test_per_call_timeout_and_max_retries_shortcut(server: MockServer) -> None:
    c = rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, max_retries=5, timeout=12.5)
    assert c.max_retries == 5 and c.retry.max_retries == 5
    assert c.timeout == rawgpt.Timeout(connect=12.5, read=12.5)
    async with c:
        r = await c.chat.completions.create(model="m", messages=MESSAGES, timeout=rawgpt.Timeout())
        assert r.choices[0].message.content


async def test_client_survives_a_new_event_loop(server: MockServer) -> None:
    """A serverless handler may call asyncio.run() per invocation with one global client."""
    import asyncio
    import threading

    c = rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url)
    await c.chat.completions.create(model="m", messages=MESSAGES)
    results: list[str] = []

    def other_loop() -> None:
        async def call() -> None:
            r = await c.chat.completions.create(model="m", messages=MESSAGES)
            assert r.choices[0].message.content is not None
            results.append(r.choices[0].message.content)
            await c.close()

        asyncio.run(call())

    t = threading.Thread(target=other_loop)
    t.start()
    while t.is_alive():
        await asyncio.sleep(0.01)
    assert len(results) == 1
