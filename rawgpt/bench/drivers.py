"""The clients a benchmark can measure, each built the way its users build it.

``rawgpt``: ``rawgpt.AsyncClient``. ``sdk``: the official ``openai.AsyncOpenAI``
on its default transport. ``sdk-aiohttp``: the same on its aiohttp backend
(``openai.DefaultAioHttpClient``, the ``openai[aiohttp]`` extra). Each is built
in its own worker process, so the SDK is imported only there. Both keep their
default retries and rawgpt its rate limiter, unless ``retries`` is off.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from .measure import Create

CLIENTS = ("rawgpt", "sdk", "sdk-aiohttp")


class Unavailable(Exception):
    """The client cannot run here: a package it needs is not installed."""


def missing(name: str) -> str | None:
    """Why client ``name`` cannot run here (checked without importing it), or None."""
    if name not in CLIENTS:
        return f"unknown client {name!r}; known: {', '.join(CLIENTS)}"
    if name.startswith("sdk") and importlib.util.find_spec("openai") is None:
        return f"--clients {name} needs the openai package: pip install openai"
    return None


class Driver:
    """One built client: ``create`` sends a chat completion; ``rate_limited`` counts the
    429 answers the client saw, retried ones too when it can tell (None: it cannot)."""

    def __init__(self, create: Create, close: Callable[[], Awaitable[Any]]) -> None:
        self.create = create
        self.close = close
        self.rate_limited: int | None = None


def build(name: str, base_url: str, api_key: str, max_connections: int, retries: bool) -> Driver:
    """Build client ``name`` (inside the running event loop); Unavailable when it cannot."""
    problem = missing(name)
    if problem is not None:
        raise Unavailable(problem)
    if name == "rawgpt":
        return _rawgpt(base_url, api_key, max_connections, retries)
    return _sdk(base_url, api_key, retries, aiohttp_backend=name == "sdk-aiohttp")


def _rawgpt(base_url: str, api_key: str, max_connections: int, retries: bool) -> Driver:
    import rawgpt

    options: dict[str, Any] = {} if retries else {"max_retries": 0}
    client = rawgpt.AsyncClient(
        api_key=api_key,
        base_url=base_url,
        limits=rawgpt.Limits(max_connections=max_connections),
        **options,
    )
    driver = Driver(client.chat.completions.create, client.close)
    driver.rate_limited = 0

    def count(event: rawgpt.RequestEvent) -> None:
        driver.rate_limited = (driver.rate_limited or 0) + event.rate_limited

    client.add_hook(count)
    return driver


def _sdk(base_url: str, api_key: str, retries: bool, aiohttp_backend: bool) -> Driver:
    import openai

    options: dict[str, Any] = {} if retries else {"max_retries": 0}
    if aiohttp_backend:
        try:
            options["http_client"] = openai.DefaultAioHttpClient()
        except Exception as exc:  # the extra is missing: openai raises on construction
            raise Unavailable(
                f"--clients sdk-aiohttp needs the SDK's aiohttp backend: "
                f"pip install 'openai[aiohttp]' ({exc})"
            ) from None
    client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, **options)
    create = client.chat.completions.create
    known = set(inspect.signature(create).parameters)

    def send(**body: Any) -> Awaitable[Any]:
        # The SDK takes the API's fields as keywords and refuses others: those go in
        # extra_body, so the SDK sends the same JSON as rawgpt.
        extra = {k: body.pop(k) for k in list(body) if k not in known}
        if extra:
            body["extra_body"] = extra
        return create(**body)

    return Driver(send, client.close)
