"""A fast canned OpenAI-compatible HTTP/1.1 server, run in its own process.

The benchmark needs a server that is never the bottleneck, so this is a bare
``asyncio.Protocol``: keep-alive, ``Content-Length`` request bodies, one request
at a time per connection, and responses built ahead of time. Every POST gets
either a fixed ``chat.completion`` JSON body or, when the request body asks for
``"stream": true``, a ``text/event-stream`` of 200 ``chat.completion.chunk``
events (role, content, finish) and ``data: [DONE]``, each event in its own
chunked-encoding chunk as OpenAI flushes per token. Headers mimic OpenAI's:
``x-request-id`` (a fresh one per response) and the ``x-ratelimit-*`` family.

Run it as ``python -m benchmarks._canned [--port 0]``: it prints ``PORT <n>``
on stdout once listening, and exits when its stdin closes (the parent died or
let go), on SIGTERM, or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

STREAM_EVENTS = 200  # role chunk + content chunks + finish chunk
MODEL = "gpt-4o-mini-2024-07-18"
_WORDS = [
    "The",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "a",
    "patient",
    "benchmark",
    "counts",
    "every",
    "byte",
    "that",
    "crosses",
    "the",
    "loopback",
    "interface",
    "and",
    "keeps",
    "careful",
    "notes",
    "about",
    "the",
    "time",
    "spent",
]


def content_tokens(count: int) -> list[str]:
    """``count`` token-sized pieces of text, as a model would stream them."""
    return [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(count)]


def completion_body() -> bytes:
    """A realistic non-streamed ``chat.completion`` (about 100 tokens of content)."""
    content = "".join(content_tokens(100)) + "."
    return orjson.dumps(
        {
            "id": "chatcmpl-BenchAbCdEfGhIjKlMnOpQrStUvWxYz",
            "object": "chat.completion",
            "created": 1730000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 25,
                "completion_tokens": 101,
                "total_tokens": 126,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_0ba0d124f1",
        }
    )


def _chunk(delta: dict[str, Any], finish: str | None, n: int) -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-BenchStreamAbCdEfGhIjKlMnOpQrSt",
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": MODEL,
            "service_tier": "default",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "obfuscation": "xY3z"[: 1 + n % 4],
        }
    )


def stream_content() -> str:
    """The text the stream carries (what a client should reassemble)."""
    return "".join(content_tokens(STREAM_EVENTS - 2))


def stream_events() -> list[bytes]:
    """The SSE events of one streamed completion, ``[DONE]`` last."""
    events = [_chunk({"role": "assistant", "content": "", "refusal": None}, None, 0)]
    events += [
        _chunk({"content": t}, None, i + 1) for i, t in enumerate(content_tokens(STREAM_EVENTS - 2))
    ]
    events.append(_chunk({}, "stop", STREAM_EVENTS))
    return [b"data: " + e + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def chunked(pieces: list[bytes]) -> bytes:
    """``pieces`` in chunked transfer encoding, one chunk each, then the last chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


_COMMON = (
    b"date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"access-control-expose-headers: X-Request-ID\r\n"
    b"openai-organization: user-benchmark\r\n"
    b"openai-processing-ms: 312\r\n"
    b"openai-version: 2020-10-01\r\n"
    b"x-ratelimit-limit-requests: 30000\r\n"
    b"x-ratelimit-limit-tokens: 150000000\r\n"
    b"x-ratelimit-remaining-requests: 29999\r\n"
    b"x-ratelimit-remaining-tokens: 149999975\r\n"
    b"x-ratelimit-reset-requests: 2ms\r\n"
    b"x-ratelimit-reset-tokens: 0s\r\n"
    b"strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"server: cloudflare\r\n"
    b"cf-cache-status: DYNAMIC\r\n"
    b'alt-svc: h3=":443"; ma=86400\r\n'
)


class Canned:
    """The precomputed responses, split where the per-response request id goes."""

    def __init__(self) -> None:
        body = completion_body()
        self.json_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + b"content-length: %d\r\n" % len(body)
            + _COMMON
            + b"x-request-id: req_"
        )
        self.json_tail = b"\r\n\r\n" + body
        self.stream_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\n" + _COMMON + b"x-request-id: req_"
        )
        self.stream_tail = b"\r\n\r\n" + chunked(stream_events())
        missing = b'{"error":{"message":"Not found","type":"invalid_request_error"}}'
        self.not_found = (
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
            + b"content-length: %d\r\n\r\n" % len(missing)
            + missing
        )


class Server(asyncio.Protocol):
    """One connection: parse requests as they complete, answer each from the canned bytes."""

    canned: Canned
    count = 0

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            elif b"\r\ntransfer-encoding:" in head:
                self._reply(b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\n\r\n", True)
                return
            total = end + 4 + length
            if len(buf) < total:
                return
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        canned = self.canned
        close = b"\r\nconnection: close" in head
        if not head.startswith(b"post ") or b"/chat/completions " not in head[:200]:
            self._reply(canned.not_found, close)
            return
        Server.count += 1
        rid = b"%016x" % Server.count
        if b'"stream":true' in body or b'"stream": true' in body:
            self._reply(canned.stream_head + rid + canned.stream_tail, close)
        else:
            self._reply(canned.json_head + rid + canned.json_tail, close)

    def _reply(self, data: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if close:
            transport.close()


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Exit when the parent goes away: its end of our stdin closes."""
    try:
        while sys.stdin.buffer.read(1):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(stop.set)


async def serve(host: str, port: int, watch_stdin: bool) -> None:
    Server.canned = Canned()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Server, host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if watch_stdin:
        threading.Thread(target=_watch_stdin, args=(loop, stop), daemon=True).start()
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {bound}\n")
    sys.stdout.flush()
    started = time.monotonic()
    await stop.wait()
    server.close()
    sys.stderr.write(
        f"canned server: {Server.count} requests in {time.monotonic() - started:.1f}s\n"
    )


@contextlib.contextmanager
def running_server(env: Mapping[str, str], cwd: str) -> Iterator[str]:
    """Start the server in a child process; yield its base URL; always stop it after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._canned"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15.0)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            proc.kill()
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"canned server did not start: {line!r}\n{err}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
        if proc.poll() is not None:
            raise RuntimeError(f"canned server died (exit {proc.returncode})")
    finally:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--no-stdin-watch",
        action="store_true",
        help="keep running when stdin closes (for manual use)",
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, not args.no_stdin_watch))


if __name__ == "__main__":
    main()
