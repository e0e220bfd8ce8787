"""The clients under test, each written the way its users would write it.

Every client has the same three coroutines: ``one()`` sends one non-streamed
chat completion and returns its content, ``stream()`` reads one streamed chat
completion chunk by chunk and returns the joined content, ``close()`` lets go
of the connections. Libraries are imported inside ``make()`` so a worker
process only ever imports the client it measures.
"""

from __future__ import annotations

from typing import Any, Protocol

MODEL = "gpt-4o-mini"
MAX_TOKENS = 100
MESSAGES: list[dict[str, str]] = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly and precisely."},
    {"role": "user", "content": "Write one short paragraph about why foxes jump over dogs."},
]
API_KEY = "sk-bench"
DEFAULT_NAMES = ("bare", "rawgpt", "sdk", "sdk-aiohttp")
# Also measurable on request: rawgpt without its default rate limiter (rate_limiter=False).
NAMES = (*DEFAULT_NAMES, "rawgpt-nolimit")
LABELS = {
    "bare": "bare aiohttp+orjson",
    "rawgpt": "rawgpt",
    "rawgpt-nolimit": "rawgpt, rate_limiter=False",
    "sdk": "openai SDK (httpx)",
    "sdk-aiohttp": "openai SDK (aiohttp)",
}


class Unavailable(Exception):
    """The client cannot run here (a missing optional dependency)."""


class Client(Protocol):
    async def one(self) -> str: ...
    async def stream(self) -> str: ...
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

    async def stream(self) -> str:
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
                        parts.append(content)
        return "".join(parts)

    async def close(self) -> None:
        await self._session.close()


class RawGPT:
    """rawgpt's public API, as its README shows it."""

    def __init__(self, base_url: str, limiter: bool = True) -> None:
        import rawgpt

        extra: dict[str, Any] = {} if limiter else {"rate_limiter": False}
        self._client = rawgpt.AsyncClient(
            api_key=API_KEY, base_url=base_url, max_retries=0, **extra
        )

    async def one(self) -> str:
        r = await self._client.chat.completions.create(
            model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS
        )
        content: str = r.choices[0].message.content
        return content

    async def stream(self) -> str:
        parts: list[str] = []
        stream = await self._client.chat.completions.create(
            model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        )
        async with stream:
            async for chunk in stream:
                content = chunk.choices[0].delta.content
                if content:
                    parts.append(content)
        return "".join(parts)

    async def close(self) -> None:
        await self._client.close()


_SDK_MESSAGES: Any = MESSAGES  # plain dicts, as users pass them; the SDK's TypedDicts accept them


class SDK:
    """The official ``openai.AsyncOpenAI``, default transport or the aiohttp one."""

    def __init__(self, base_url: str, aiohttp_backend: bool) -> None:
        import openai

        extra: dict[str, Any] = {}
        if aiohttp_backend:
            try:
                extra["http_client"] = openai.DefaultAioHttpClient()
            except Exception as exc:  # missing extra: openai raises on construction
                raise Unavailable(f"openai.DefaultAioHttpClient unusable: {exc}") from exc
        self._client = openai.AsyncOpenAI(
            api_key=API_KEY, base_url=base_url, max_retries=0, **extra
        )

    async def one(self) -> str:
        r = await self._client.chat.completions.create(
            model=MODEL,
            messages=_SDK_MESSAGES,
            max_tokens=MAX_TOKENS,
        )
        content = r.choices[0].message.content
        return content or ""

    async def stream(self) -> str:
        parts: list[str] = []
        stream = await self._client.chat.completions.create(
            model=MODEL,
            messages=_SDK_MESSAGES,
            max_tokens=MAX_TOKENS,
            stream=True,
        )
        async with stream:
            async for chunk in stream:
                content = chunk.choices[0].delta.content
                if content:
                    parts.append(content)
        return "".join(parts)

    async def close(self) -> None:
        await self._client.close()


def make(name: str, base_url: str, max_connections: int) -> Client:
    """Build client ``name`` (call inside the running event loop)."""
    if name == "bare":
        return Bare(base_url, max_connections)
    if name == "rawgpt":
        return RawGPT(base_url)
    if name == "rawgpt-nolimit":
        return RawGPT(base_url, limiter=False)
    if name == "sdk":
        return SDK(base_url, aiohttp_backend=False)
    if name == "sdk-aiohttp":
        try:
            import openai
        except ImportError as exc:
            raise Unavailable(f"openai not installed: {exc}") from exc
        if not hasattr(openai, "DefaultAioHttpClient"):
            raise Unavailable(f"openai {openai.__version__} has no DefaultAioHttpClient")
        return SDK(base_url, aiohttp_backend=True)
    raise ValueError(f"unknown client {name!r}; known: {', '.join(NAMES)}")
