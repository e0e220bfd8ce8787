"""client.with_options(...): other per-call settings over the same pool, limiter and usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

import rawgpt
from rawgpt._errors import ConfigurationError

from ..conftest import KEY, MESSAGES, FakeSleep, connector_of
from .recorder import Recorder

OTHER_KEY = "sk-other-SECRET-fedcba9876543210"


@pytest.fixture
async def rec() -> AsyncIterator[Recorder]:
    async with Recorder() as server:
        yield server


def _client(rec: Recorder, sleeps: FakeSleep | None = None, **kw: Any) -> rawgpt.AsyncClient:
    return rawgpt.AsyncClient(
        api_key=KEY, base_url=rec.url + "/v1", seed=1, sleep=sleeps or FakeSleep(), **kw
    )


async def _ask(client: rawgpt.AsyncClient) -> Any:
    return await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


async def test_derived_sends_its_headers_on_the_parents_pool(rec: Recorder) -> None:
    async with _client(rec, default_headers={"X-Team": "core"}) as parent:
        derived = parent.with_options(default_headers={"X-Trace": "abc"}, api_key=OTHER_KEY)
        await _ask(parent)
        await _ask(derived)
        await _ask(parent)
        parent_first, derived_sent, parent_again = rec.seen
        assert derived_sent.headers["x-trace"] == "abc"
        assert derived_sent.headers["x-team"] == "core"  # merged over the parent's
        assert derived_sent.headers["authorization"] == f"Bearer {OTHER_KEY}"
        for sent in (parent_first, parent_again):
            assert "x-trace" not in sent.headers
            assert sent.headers["authorization"] == f"Bearer {KEY}"
        # One pool: the same Transport, the same connector, one connection for all three.
        assert derived._transport is parent._transport
        assert connector_of(derived) is connector_of(parent)
        assert len(rec.ports) == 1
        assert derived.rate_limiter is parent.rate_limiter is not None
        assert derived.usage is parent.usage
        assert parent.usage.requests == 3


async def test_derived_opening_the_pool_first_lends_the_parent_no_header(rec: Recorder) -> None:
    """The session takes the headers of the send that opens it as its defaults, which
    aiohttp merges under any other send's: a derived client's header must not become one."""
    async with _client(rec) as parent:
        derived = parent.with_options(default_headers={"X-Trace": "abc"}, api_key=OTHER_KEY)
        await _ask(derived)
        await _ask(parent)
        assert rec.seen[0].headers["x-trace"] == "abc"
        assert "x-trace" not in rec.seen[1].headers
        assert rec.seen[1].headers["authorization"] == f"Bearer {KEY}"
        assert len(rec.ports) == 1


async def test_derived_timeout_applies_to_its_calls_only(rec: Recorder) -> None:
    async with _client(rec, timeout=5.0) as parent:
        quick = parent.with_options(timeout=rawgpt.Timeout(read=0.05), max_retries=0)
        rec.delay = 0.3  # longer than the derived client's read timeout, well under 5 s
        with pytest.raises(rawgpt.APITimeoutError):
            await _ask(quick)
        await _ask(parent)  # the parent's own timeout
        assert parent.timeout.read == 5.0
        assert quick.timeout.read == 0.05


async def test_derived_retries_its_own_way(rec: Recorder) -> None:
    sleeps = FakeSleep()
    async with _client(rec, sleeps) as parent:
        once = parent.with_options(max_retries=0)
        rec.statuses = [500]
        with pytest.raises(rawgpt.InternalServerError):
            await _ask(once)
        assert sleeps.delays == []
        rec.statuses = [500]
        await _ask(parent)  # retried once, after one (fake) wait
        assert len(sleeps.delays) == 1
        assert parent.max_retries == 2 and once.max_retries == 0
        patient = parent.with_options(retry=rawgpt.Retry(max_retries=5), max_retries=4)
        assert patient.max_retries == 4


async def test_closing_a_derived_client_leaves_the_parents_pool_open(rec: Recorder) -> None:
    parent = _client(rec)
    async with parent.with_options(timeout=30.0) as derived:
        await _ask(derived)
    await derived.close()  # twice: still nothing
    connector = connector_of(parent)
    assert not connector.closed
    await _ask(parent)
    assert len(rec.ports) == 1  # the same connection, reused after the derived client closed
    await parent.close()
    assert connector.closed


async def test_pool_options_are_refused_by_name(rec: Recorder) -> None:
    async with _client(rec) as parent:
        with pytest.raises(ConfigurationError, match=r"cannot change limits, proxy, ssl"):
            parent.with_options(ssl="/etc/ssl/certs", proxy=False, limits=rawgpt.Limits())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="'http_client'"):
            parent.with_options(http_client=object())  # type: ignore[call-arg]
        with pytest.raises(ConfigurationError, match=r"default_headers\['X-Bad'\]"):
            parent.with_options(default_headers={"X-Bad": "a\nb"})
        with pytest.raises(ConfigurationError, match="the header that carries api_key"):
            parent.with_options(default_headers={"authorization": "Bearer x"})
        with pytest.raises(ConfigurationError, match="api_key contains a newline"):
            parent.with_options(api_key="sk-new\n")
        assert rec.seen == []


async def test_base_url_override_and_proxy_mismatch(
    rec: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _client(rec) as parent:
        other = parent.with_options(base_url=rec.url + "/other/v1/")
        await _ask(other)
        assert rec.seen[0].path_qs == "/other/v1/chat/completions"
        assert parent.base_url == rec.url + "/v1"
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with _client(rec) as direct:  # 127.0.0.1 is in NO_PROXY: no proxy
        with pytest.raises(ConfigurationError, match="another proxy"):
            direct.with_options(base_url="http://localhost:1/v1")


async def test_default_query_and_headers_merge_over_the_parents(rec: Recorder) -> None:
    async with _client(rec, default_query={"a": "1", "b": "2"}) as parent:
        derived = parent.with_options(default_query={"b": "3"}, organization="org-x")
        await _ask(derived)
        assert rec.seen[0].path_qs == "/v1/chat/completions?a=1&b=3"
        assert rec.seen[0].headers["openai-organization"] == "org-x"
        await _ask(parent)
        assert rec.seen[1].path_qs == "/v1/chat/completions?a=1&b=2"
        assert "openai-organization" not in rec.seen[1].headers


async def test_derived_client_shares_only_what_it_should(rec: Recorder) -> None:
    """Every object a derived client holds in common with its parent is one it is meant to
    share; its resource namespaces send through the derived client (a namespace copied
    from the parent would send with the parent's options)."""
    shared_ok = {
        "_transport", "rate_limiter", "usage", "_rng", "_sleep", "limits", "_proxy",
        "_pool_timeout", "_wrap", "api_key", "base_url", "organization", "project",
        "timeout", "retry", "_static_headers", "_headers", "_headers_key", "_query", "_auth",
        "_call_timeout", "_scope", "_account",
    }  # fmt: skip
    async with _client(rec) as parent:
        derived = parent.with_options(max_retries=1)
        for name, value in vars(derived).items():
            if value is vars(parent).get(name) and not isinstance(value, bool | int | None):
                assert name in shared_ok, f"{name} is the parent's object"
        await derived.chat.completions.create(model="m", messages=MESSAGES)
        await derived.embeddings.create(model="m", input="x")
        await derived.post("/chat/completions", {"model": "m", "messages": MESSAGES})
        assert parent.usage.requests == 3


def test_blocking_with_options_shares_the_loop_thread_and_pool() -> None:
    async def serve() -> None:
        async with Recorder() as rec:
            ready.put_nowait(rec)
            await stop.wait()

    import queue
    import threading

    ready: queue.Queue[Recorder] = queue.Queue()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    rec = ready.get(timeout=5)
    try:
        parent = rawgpt.Client(api_key=KEY, base_url=rec.url + "/v1")
        derived = parent.with_options(default_headers={"X-Trace": "abc"}, max_retries=0)
        assert isinstance(derived, rawgpt.Client)
        derived.chat.completions.create(model="m", messages=MESSAGES)
        with derived:
            pass  # closing the derived client: a no-op
        parent.chat.completions.create(model="m", messages=MESSAGES)
        assert derived._runner() is parent._runner()
        assert derived._async._transport is parent._async._transport
        assert rec.seen[0].headers["x-trace"] == "abc" and "x-trace" not in rec.seen[1].headers
        derived.responses.create(model="m", input="hi")  # every namespace sends as derived
        assert rec.seen[2].path_qs == "/v1/responses" and rec.seen[2].headers["x-trace"] == "abc"
        assert len(rec.ports) == 1
        assert derived.max_retries == 0 and parent.max_retries == 2
        parent.close()
        assert parent._loop_thread is None
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        loop.close()


def test_derived_client_across_event_loops() -> None:
    """A pool follows the loop that uses it: a parent and its derived client used in one
    asyncio.run, then both in the next one."""

    async def round_trip(parent: rawgpt.AsyncClient, derived: rawgpt.AsyncClient) -> int:
        async with Recorder() as rec:
            parent.base_url = derived.base_url = rec.url + "/v1"
            await _ask(derived)
            await _ask(parent)
            return len(rec.ports)

    parent = rawgpt.AsyncClient(api_key=KEY, base_url="http://127.0.0.1:1/v1")
    derived = parent.with_options(timeout=20.0)
    assert asyncio.run(round_trip(parent, derived)) == 1
    assert asyncio.run(round_trip(parent, derived)) == 1
    asyncio.run(parent.close())


async def test_other_credentials_keep_their_own_rate_limit_state() -> None:
    """One limiter, two accounts: a 429 of the derived client's account (another key and
    organization) must not hold the parent's calls, and a derived client with the
    parent's credentials shares the parent's state."""
    from rawgpt.testing import MockServer

    async with (
        MockServer() as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url) as parent,
    ):
        other = parent.with_options(api_key=OTHER_KEY, organization="org-b", max_retries=0)
        same = parent.with_options(timeout=30.0)
        with pytest.raises(rawgpt.RateLimitError):
            await other.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                extra_headers={"x-mock-fault": "rate_limit:5"},
            )
        # The parent's account was not told to wait 5 s: its call goes straight out.
        await asyncio.wait_for(_ask(parent), timeout=2.0)
        await asyncio.wait_for(_ask(same), timeout=2.0)
        scopes = sorted(parent.rate_limits)
        assert len(scopes) == 2, scopes
        assert not any(OTHER_KEY in s or KEY in s for s in scopes)  # a digest, never the key


async def test_empty_credentials_in_with_options(rec: Recorder) -> None:
    async with _client(rec, organization="org-a", project="proj-a") as parent:
        with pytest.raises(ConfigurationError, match="empty"):
            parent.with_options(api_key="")
        cleared = parent.with_options(organization="", project="")
        await _ask(cleared)
        assert "openai-organization" not in rec.seen[0].headers
        assert "openai-project" not in rec.seen[0].headers
        assert cleared.organization is None and parent.organization == "org-a"


@pytest.mark.parametrize("name", ["", "api key", "Authorization ", "x:y", "ké"])
def test_a_header_name_that_is_not_a_token_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="not a valid header name"):
        rawgpt.AsyncClient(api_key=KEY, api_key_header=name)
    with pytest.raises(ConfigurationError, match="not a valid header name"):
        rawgpt.AsyncClient(api_key=KEY, default_headers={name: "v"})
