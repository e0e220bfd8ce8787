"""A loopback server that records each request as sent (path with its query, headers, the
connection it came on) and answers any ``.../chat/completions`` or ``.../embeddings`` POST.

MockServer routes only OpenAI's own paths and wants a Bearer key; this one takes Azure's
deployment paths and an ``api-key`` header too, so a test sees the exact URL and
headers a client sends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

COMPLETION = {
    "id": "chatcmpl-rec",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}


@dataclass(frozen=True)
class Seen:
    """One request: the path with its query string as sent, lower-cased header names,
    and the client port (one per TCP connection)."""

    path_qs: str
    headers: dict[str, str]
    port: int


class Recorder:
    """``async with Recorder() as rec``: ``rec.url`` is the server's root URL (no path)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.delay = 0.0  # seconds before each answer's headers
        self.statuses: list[int] = []  # answer these statuses first, one per request
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.seen.append(Seen(request.path_qs, headers, peer[1] if peer else 0))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.statuses:
            status = self.statuses.pop(0)
            error = {"error": {"message": "injected", "type": "server_error", "code": None}}
            return web.json_response(error, status=status)
        if request.path.endswith("/embeddings"):
            return web.json_response(EMBEDDINGS)
        return web.json_response(COMPLETION, headers={"x-request-id": "req_rec"})

    @property
    def ports(self) -> set[int]:
        """The client ports seen: one per connection the client opened."""
        return {seen.port for seen in self.seen}

    async def __aenter__(self) -> Recorder:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
