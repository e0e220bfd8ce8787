"""A fast canned OpenAI-compatible HTTP/1.1 server, run in its own process.

The benchmark needs a server that is never the bottleneck, so this is a bare
``asyncio.Protocol``: keep-alive, ``Content-Length`` request bodies, one request
at a time per connection, and responses built ahead of time. Every POST gets
either a fixed ``chat.completion`` JSON body or, when the request body asks for
``"stream": true``, a ``text/event-stream`` of 200 ``chat.completion.chunk``
events (role, content, finish) and ``data: [DONE]``; a POST to ``/responses``
with ``"stream": true`` gets the Responses API stream of the same text; each event in its own
chunked-encoding chunk as OpenAI flushes per token. The whole stream goes out in
one write by default; ``--per-event`` writes one event per event-loop iteration
instead, so the client sees many small reads, closer to a live token stream.
The responses themselves are in ``benchmarks.payloads``.

Run it as ``python -m benchmarks.procs.canned [--port 0]``: it prints ``PORT <n>``
on stdout once listening, and exits when its stdin closes (the parent died or
let go), on SIGTERM, or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping

from benchmarks.payloads import Canned
from benchmarks.procs import child_server


class Server(asyncio.Protocol):
    """One connection: parse requests as they complete, answer each from the canned bytes."""

    canned: Canned
    count = 0
    per_event = False  # write each stream event on its own loop iteration

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
        chat = b"/chat/completions " in head[:200]
        stream = b'"stream":true' in body or b'"stream": true' in body
        responses = stream and b"/responses " in head[:200]
        if not head.startswith(b"post ") or not (chat or responses):
            self._reply(canned.not_found, close)
            return
        Server.count += 1
        rid = b"%016x" % Server.count
        if stream:
            chunks, tail = canned.stream_chunks, canned.stream_tail
            if responses:
                chunks, tail = canned.responses_chunks, canned.responses_tail
            if self.per_event:
                self._reply(canned.stream_head + rid + b"\r\n\r\n", False)
                self._trickle(iter(chunks), close)
            else:
                self._reply(canned.stream_head + rid + tail, close)
        else:
            self._reply(canned.json_head + rid + canned.json_tail, close)

    def _trickle(self, pieces: Iterator[bytes], close: bool) -> None:
        """One event per loop iteration, so each can leave in its own segment."""
        piece = next(pieces, None)
        if piece is None:
            if close and self.transport is not None:
                self.transport.close()
            return
        self._reply(piece, False)
        asyncio.get_running_loop().call_soon(self._trickle, pieces, close)

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


async def serve(host: str, port: int, watch_stdin: bool, per_event: bool = False) -> None:
    Server.canned = Canned()
    Server.per_event = per_event
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


def running_server(
    env: Mapping[str, str], cwd: str, per_event: bool = False
) -> contextlib.AbstractContextManager[str]:
    """Start the server in a child process; yield its base URL; always stop it after."""
    argv = [
        sys.executable,
        "-m",
        "benchmarks.procs.canned",
        *(["--per-event"] if per_event else []),
    ]
    return child_server(
        argv, env, cwd, name="canned server", url_of=_port_url, start_timeout=15.0, hold_stdin=True
    )


def _port_url(line: str) -> str | None:
    return f"http://127.0.0.1:{int(line.split()[1])}/v1" if line.startswith("PORT ") else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--no-stdin-watch",
        action="store_true",
        help="keep running when stdin closes (for manual use)",
    )
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="write each stream event separately, one per loop iteration (default: all at once)",
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, not args.no_stdin_watch, args.per_event))


if __name__ == "__main__":
    main()
