"""default_query= and api_key_header=: the exact URL and headers, Azure OpenAI's two forms."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import rawgpt
from rawgpt._errors import ConfigurationError

from ..conftest import KEY, MESSAGES
from .recorder import Recorder

AZURE_KEY = "azure-SECRET-0123456789abcdef0123"


@pytest.fixture
async def rec() -> AsyncIterator[Recorder]:
    async with Recorder() as server:
        yield server


async def test_default_query_on_every_request_and_extra_query_over_it(rec: Recorder) -> None:
    query: dict[str, str | int | float] = {"api-version": "2024-10-21", "n": 1}
    async with rawgpt.AsyncClient(api_key=KEY, base_url=rec.url + "/v1", default_query=query) as c:
        await c.chat.completions.create(model="m", messages=MESSAGES)
        await c.chat.completions.create(
            model="m", messages=MESSAGES, extra_query={"api-version": "preview", "x": "y"}
        )
        await c.embeddings.create(model="e", input="hi")
        await c.post("/chat/completions", {"model": "m", "messages": MESSAGES})
    assert [s.path_qs for s in rec.seen] == [
        "/v1/chat/completions?api-version=2024-10-21&n=1",
        "/v1/chat/completions?api-version=preview&n=1&x=y",
        "/v1/embeddings?api-version=2024-10-21&n=1",
        "/v1/chat/completions?api-version=2024-10-21&n=1",
    ]


async def test_no_default_query_sends_a_bare_path(rec: Recorder) -> None:
    async with rawgpt.AsyncClient(api_key=KEY, base_url=rec.url + "/v1") as c:
        await c.chat.completions.create(model="m", messages=MESSAGES)
        await c.chat.completions.create(model="m", messages=MESSAGES, extra_query={"x": "1"})
        assert c.chat.completions._send == c._request  # nothing between a call and the loop
    assert [s.path_qs for s in rec.seen] == ["/v1/chat/completions", "/v1/chat/completions?x=1"]


def test_a_bad_default_query_is_refused_when_the_client_is_built() -> None:
    with pytest.raises(TypeError, match=r"default_query\['v'\] must be a str, int or float"):
        rawgpt.AsyncClient(api_key=KEY, default_query={"v": ["a"]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=r"default_query\['v'\].*not bool"):
        rawgpt.AsyncClient(api_key=KEY, default_query={"v": True})
    with pytest.raises(TypeError, match="name must be a str"):
        rawgpt.AsyncClient(api_key=KEY, default_query={1: "a"})  # type: ignore[dict-item]


async def test_azure_v1_endpoint_is_a_plain_base_url(rec: Recorder) -> None:
    base = rec.url + "/openai/v1/"  # https://RESOURCE.openai.azure.com/openai/v1/
    async with rawgpt.AsyncClient(api_key=AZURE_KEY, base_url=base) as client:
        r = await client.chat.completions.create(model="my-deployment", messages=MESSAGES)
    assert r.choices[0].message.content == "Hello"
    (sent,) = rec.seen
    assert sent.path_qs == "/openai/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {AZURE_KEY}"
    assert "api-key" not in sent.headers


async def test_azure_deployment_endpoint_sends_the_key_once_in_api_key(rec: Recorder) -> None:
    async with rawgpt.AsyncClient(
        base_url=rec.url + "/openai/deployments/my-deployment",
        api_key=AZURE_KEY,
        api_key_header="api-key",
        default_query={"api-version": "2024-10-21"},
    ) as client:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        await client.embeddings.create(model="text-embedding-3-small", input="hi")
        client.api_key = AZURE_KEY + "-rotated"  # a new key goes into the same header
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    chat, embed, rotated = rec.seen
    where = "/openai/deployments/my-deployment"
    assert chat.path_qs == f"{where}/chat/completions?api-version=2024-10-21"
    assert embed.path_qs == f"{where}/embeddings?api-version=2024-10-21"
    for sent in (chat, embed):
        assert sent.headers["api-key"] == AZURE_KEY
        assert "authorization" not in sent.headers
        assert sum(AZURE_KEY in value for value in sent.headers.values()) == 1
    assert rotated.headers["api-key"] == AZURE_KEY + "-rotated"


async def test_the_azure_key_is_masked_like_any_key(rec: Recorder) -> None:
    rec.statuses = [400]
    async with rawgpt.AsyncClient(
        base_url=rec.url + "/openai/deployments/d",
        api_key=AZURE_KEY,
        api_key_header="api-key",
        max_retries=0,
    ) as client:
        with pytest.raises(rawgpt.BadRequestError) as info:
            await client.chat.completions.create(model="m", messages=MESSAGES, user=AZURE_KEY)
    assert AZURE_KEY not in repr(info.value) and AZURE_KEY not in str(info.value)


def test_another_key_header_never_reads_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(ConfigurationError, match="sent as the api-key header"):
        rawgpt.AsyncClient(base_url="https://r.openai.azure.com/openai/deployments/d",
                           api_key_header="api-key")  # fmt: skip
    with pytest.raises(ConfigurationError, match="'API-Key', the header that carries api_key"):
        rawgpt.AsyncClient(api_key=AZURE_KEY, api_key_header="api-key",
                           default_headers={"API-Key": AZURE_KEY})  # fmt: skip
    with pytest.raises(ConfigurationError, match="'authorization', the header that carries"):
        rawgpt.AsyncClient(default_headers={"authorization": "Bearer x"})
    with pytest.raises(ConfigurationError, match="api_key_header contains a newline"):
        rawgpt.AsyncClient(api_key=AZURE_KEY, api_key_header="api-key\n")
