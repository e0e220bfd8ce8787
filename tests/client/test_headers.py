"""An answer's headers on every view (plain, streamed, merged) and the limiter's state."""

from __future__ import annotations

import pytest

import rawgpt
from rawgpt.testing import MockServer

from ..conftest import KEY, MESSAGES


async def test_headers_on_answers_streams_and_final_completions() -> None:
    async with (
        MockServer(rpm=600, tpm=1_000_000) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as client,
    ):
        r = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert r.headers["X-RateLimit-Limit-Requests"] == "600"  # any case
        assert r.headers["x-ratelimit-limit-requests"] == "600"
        assert r.request_id is not None and r.request_id == r.headers["x-request-id"]
        with pytest.raises(TypeError):
            r.headers["x-new"] = "1"  # type: ignore[index]  # read-only

        e = await client.embeddings.create(model="text-embedding-3-small", input="a")
        assert "x-ratelimit-remaining-tokens" in e.headers

        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        async with stream:
            async for _ in stream:
                pass
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        final = stream.get_final_completion()
        assert final.headers is stream.headers
        assert final.request_id == stream.request_id is not None

        limits = client.rate_limits  # per (base_url, model)
        assert sorted(limits) == [
            f"{srv.base_url}/gpt-4o-mini",
            f"{srv.base_url}/text-embedding-3-small",
        ]
        state = limits[f"{srv.base_url}/gpt-4o-mini"]
        assert state["limit_requests"] == 600 and state["remaining_requests"] < 600


async def test_errors_keep_their_headers_and_no_limiter_means_no_state() -> None:
    async with (
        MockServer() as srv,
        rawgpt.AsyncClient(
            api_key=KEY, base_url=srv.base_url, rate_limiter=False, max_retries=0
        ) as client,
    ):
        with pytest.raises(rawgpt.APIStatusError) as caught:
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-mock-fault": "status:503"}
            )
        assert caught.value.headers is not None and "x-request-id" in caught.value.headers
        assert client.rate_limits == {}
