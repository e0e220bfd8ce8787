"""The clients under test, each written the way its users would write it.

Every client has the same coroutines: ``one()`` sends one non-streamed chat
completion and returns its content, ``stream()`` reads one streamed chat
completion chunk by chunk and returns the joined content with the
``time.perf_counter()`` at which its first non-empty piece arrived,
``responses()`` does the same with a streamed Responses API answer (every event
read, the ``response.output_text.delta`` ones joined), ``close()`` lets go of
the connections. Libraries are imported inside ``make()`` so a worker
process only ever imports the client it measures.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Protocol

MODEL = "gpt-4o-mini"
MAX_TOKENS = 100
MESSAGES: list[dict[str, str]] = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly and precisely."},
    {"role": "user", "content": "Write one short paragraph about why foxes jump over dogs."},
]
INPUT = MESSAGES[1]["content"]  # the Responses API's input: the same question
API_KEY = "sk-bench"
DEFAULT_NAMES = ("bare", "rawgpt", "sdk", "sdk-aiohttp", "httpx")
# Also measurable on request: rawgpt without its default rate limiter (rate_limiter=False).
NAMES = (*DEFAULT_NAMES, "rawgpt-nolimit")
LABELS = {
    "bare": "bare aiohttp+orjson",
    "rawgpt": "rawgpt",
    "rawgpt-nolimit": "rawgpt, rate_limiter=False",
    "sdk": "openai SDK (default transport)",
    "sdk-aiohttp": "openai SDK (aiohttp backend)",
    "httpx": "raw httpx+orjson",
}


class Unavailable(Exception):
    """The client cannot run here (a missing optional dependency)."""


class Client(Protocol):
    async def one(self) -> str: ...
    async def stream(self) -> tuple[str, float]: ...
    async def responses(self) -> tuple[str, float]: ...
    async def close(self) -> None: ...


class Bare:
    """The floor: one aiohttp session, orjson both ways, plain dicts."""

    def __init__(self, base_url: str, max_connections: int) -> None:
        import aiohttp
        import orjson

        self._loads = orjson.loads
        self._dumps = orjson.dumps
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max_connections))
        self._url = base_url + "/chat/completions"
        self._url_responses = base_url + "/responses"
        self._headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    async def one(self) -> str:
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}
        async with self._session.post(
            self._url, data=self._dumps(body), headers=self._headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            d = self._loads(await resp.read())
        content: str = d["choices"][0]["message"]["content"]
        return content

    async def stream(self) -> tuple[str, float]:
        first = 0.0
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS, "stream": True}
        loads = self._loads
        parts: list[str] = []
        async with self._session.post(
            self._url, data=self._dumps(body), headers=self._headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            async for line in resp.content:
                if line.startswith(b"data: "):
                    if line.startswith(b"data: [DONE]"):
                        break
                    content = loads(line[6:])["choices"][0]["delta"].get("content")
                    if content:
                        if not parts:
                            first = perf_counter()
                        parts.append(content)
        return "".join(parts), first

    async def responses(self) -> tuple[str, float]:
        first = 0.0
        body = {"model": MODEL, "input": INPUT, "max_output_tokens": MAX_TOKENS, "stream": True}
        loads = self._loads
        parts: list[str] = []
        async with self._session.post(
            self._url_responses, data=self._dumps(body), headers=self._headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            async for line in resp.content:
                if line.startswith(b"data: "):
                    event = loads(line[6:])
                    kind = event["type"]
                    if kind == "response.output_text.delta":
                        if not parts:
                            first = perf_counter()
                        parts.append(event["delta"])
                    elif kind == "response.completed":
                        break
        return "".join(parts), first

    async def close(self) -> None:
        await self._session.close()


class Httpx:
    """Raw httpx, written like the floor: one AsyncClient, orjson both ways, SSE lines by hand."""

    def __init__(self, base_url: str, max_connections: int) -> None:
        import httpx
        import orjson

        self._loads = orjson.loads
        self._dumps = orjson.dumps
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(600.0, connect=5.0))
        self._url = base_url + "/chat/completions"
        self._url_responses = base_url + "/responses"
        self._headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    async def one(self) -> str:
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}
        resp = await self._client.post(self._url, content=self._dumps(body), headers=self._headers)
        if resp.status_code != 200:
            raise RuntimeError(f"HTTP {resp.status_code}")
        content: str = self._loads(resp.content)["choices"][0]["message"]["content"]
        return content

    async def stream(self) -> tuple[str, float]:
        first = 0.0
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS, "stream": True}
        loads = self._loads
        parts: list[str] = []
        async with self._client.stream(
            "POST", self._url, content=self._dumps(body), headers=self._headers
        ) as resp:
            if resp.status_code != 200:
                raise RuntimeError(f"HTTP {resp.status_code}")
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    if line.startswith("data: [DONE]"):
                        break
                    content = loads(line[6:])["choices"][0]["delta"].get("content")
                    if content:
                        if not parts:
                            first = perf_counter()
                        parts.append(content)
        return "".join(parts), first

    async def responses(self) -> tuple[str, float]:
        first = 0.0
        body = {"model": MODEL, "input": INPUT, "max_output_tokens": MAX_TOKENS, "stream": True}
        loads = self._loads
        parts: list[str] = []
        async with self._client.stream(
            "POST", self._url_responses, content=self._dumps(body), headers=self._headers
        ) as resp:
            if resp.status_code != 200:
                raise RuntimeError(f"HTTP {resp.status_code}")
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    event = loads(line[6:])
                    kind = event["type"]
                    if kind == "response.output_text.delta":
                        if not parts:
                            first = perf_counter()
                        parts.append(event["delta"])
                    elif kind == "response.completed":
                        break
        return "".join(parts), first

    async def close(self) -> None:
        await self._client.aclose()


class DropIn:
    """The SDK's call shape, which rawgpt keeps (``import rawgpt as openai``): rawgpt and
    the SDK run this same user code, each on its own ``_client``."""

    _client: Any  # rawgpt.AsyncClient or openai.AsyncOpenAI

    async def one(self) -> str:
        create = self._client.chat.completions.create
        r = await create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
        content: str | None = r.choices[0].message.content
        return content or ""

    async def stream(self) -> tuple[str, float]:
        first = 0.0
        parts: list[str] = []
        create = self._client.chat.completions.create
        stream = await create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True)
        async with stream:
            async for chunk in stream:
                content = chunk.choices[0].delta.content
                if content:
                    if not parts:
                        first = perf_counter()
                    parts.append(content)
        return "".join(parts), first

    async def responses(self) -> tuple[str, float]:
        first = 0.0
        parts: list[str] = []
        stream = await self._client.responses.create(
            model=MODEL, input=INPUT, max_output_tokens=MAX_TOKENS, stream=True
        )
        async with stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    if not parts:
                        first = perf_counter()
                    parts.append(event.delta)
        return "".join(parts), first

    async def close(self) -> None:
        await self._client.close()


class RawGPT(DropIn):
    """rawgpt's public API, as its README shows it."""

    def __init__(self, base_url: str, limiter: bool = True) -> None:
        import rawgpt

        extra: dict[str, Any] = {} if limiter else {"rate_limiter": False}
        self._client = rawgpt.AsyncClient(
            api_key=API_KEY, base_url=base_url, max_retries=0, **extra
        )


class SDK(DropIn):
    """The official ``openai.AsyncOpenAI``, default transport or the aiohttp one."""

    def __init__(self, base_url: str, aiohttp_backend: bool) -> None:
        import openai

        extra: dict[str, Any] = {}
        if aiohttp_backend:
            if not hasattr(openai, "DefaultAioHttpClient"):
                raise Unavailable(f"openai {openai.__version__} has no DefaultAioHttpClient")
            try:
                extra["http_client"] = openai.DefaultAioHttpClient()
            except Exception as exc:  # missing extra: openai raises on construction
                raise Unavailable(f"openai.DefaultAioHttpClient unusable: {exc}") from exc
        self._client = openai.AsyncOpenAI(
            api_key=API_KEY, base_url=base_url, max_retries=0, **extra
        )


def make(name: str, base_url: str, max_connections: int) -> Client:
    """Build client ``name`` (call inside the running event loop)."""
    factories: dict[str, Any] = {
        "bare": lambda: Bare(base_url, max_connections),
        "httpx": lambda: Httpx(base_url, max_connections),
        "rawgpt": lambda: RawGPT(base_url),
        "rawgpt-nolimit": lambda: RawGPT(base_url, limiter=False),
        "sdk": lambda: SDK(base_url, aiohttp_backend=False),
        "sdk-aiohttp": lambda: SDK(base_url, aiohttp_backend=True),
    }
    if name not in factories:
        raise ValueError(f"unknown client {name!r}; known: {', '.join(NAMES)}")
    try:
        client: Client = factories[name]()
    except ImportError as exc:  # an optional library (the bench extra) is missing
        raise Unavailable(f"{LABELS[name]} needs a missing package: {exc}") from exc
    return client
