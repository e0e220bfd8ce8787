"""``rawgpt chat``: one prompt, the reply printed as it arrives."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

from .. import AsyncClient, OpenAIError

MOCK_KEY = "sk-mock-no-key-needed"


def add_parser(sub: Any) -> None:
    """Add the ``chat`` subcommand to the CLI's subparsers."""
    chat = sub.add_parser("chat", help="send one prompt and print the reply")
    chat.add_argument("prompt")
    chat.add_argument("--model", default="gpt-4o-mini")
    chat.add_argument("--system", help="a system message to put first")
    chat.add_argument("--max-tokens", type=int, help="max_tokens for the reply")
    chat.add_argument("--temperature", type=float)
    chat.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print the reply as it arrives (default) or all at once",
    )
    chat.add_argument("--base-url", help="default: $OPENAI_BASE_URL or OpenAI's")
    chat.add_argument(
        "--mock",
        action="store_true",
        help="answer from an in-process MockServer: no key, no network",
    )
    add_network_args(chat)


def add_network_args(parser: argparse.ArgumentParser) -> None:
    """``--ca-bundle`` and ``--proxy``, for every subcommand that calls the API."""
    parser.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="trust the CA certificates in this PEM file (or hashed directory) instead of "
        "the system store (default: the system store plus $SSL_CERT_FILE / $SSL_CERT_DIR)",
    )
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="send every request through this proxy, http://[user:pass@]host:port "
        "(default: $HTTPS_PROXY / $HTTP_PROXY unless $NO_PROXY covers the host)",
    )


def new_client(args: argparse.Namespace, **options: Any) -> AsyncClient:
    """An AsyncClient with ``--ca-bundle`` and ``--proxy``; a bad option (a missing CA
    bundle, a malformed proxy URL) is an OpenAIError naming it, not a traceback."""
    try:
        return AsyncClient(ssl=args.ca_bundle, proxy=args.proxy, **options)
    except ValueError as exc:
        raise OpenAIError(str(exc)) from None


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[AsyncClient]:
    if not args.mock:
        async with new_client(args, base_url=args.base_url) as client:
            yield client
        return
    from ..testing import MockServer

    async with (
        MockServer() as server,
        new_client(args, api_key=MOCK_KEY, base_url=server.base_url) as client,
    ):
        yield client


async def run(args: argparse.Namespace) -> int:
    """Send the prompt; print the reply."""
    messages: list[dict[str, str]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    params: dict[str, Any] = {"model": args.model, "messages": messages}
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    out = sys.stdout
    async with _client(args) as client:
        if not args.stream:
            reply = await client.chat.completions.create(**params)
            out.write((reply.choices[0].message.content or "") + "\n")
            return 0
        stream = await client.chat.completions.create(stream=True, **params)
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    out.write(chunk.choices[0].delta.content)
                    out.flush()
        out.write("\n")
    return 0
