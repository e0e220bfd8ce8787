"""Loopback servers for the network tests: a raw HTTP(S) server that counts its
connections, and a forward proxy that records what it is sent.

Both are plain asyncio servers speaking just enough HTTP/1.1 (one request per
connection, answered with ``Connection: close``), so they count exactly what
reaches them: a TLS handshake that fails still counts as a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from pathlib import Path
from typing import Self

import orjson

ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
)


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for localhost / 127.0.0.1, made with the openssl CLI
    (the venv has no ``cryptography``): (ca.pem, server.pem, server.key)."""
    ca_key, ca, key, csr, cert, ext = (
        str(directory / n)
        for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "server.ext")
    )
    Path(ext).write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "authorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = ["openssl", "req", *ec]
    subprocess.run(
        [
            *run,
            *("-x509", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=rawgpt test CA"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*run, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key),
            *("-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext),
        ],
        check=True,
        capture_output=True,
    )
    return Path(ca), Path(cert), Path(key)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One request: its request line, headers (lower-cased names) and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        if field:
            name, _, value = field.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return line, headers, body


def response(status: int, body: bytes = b"", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


class _Loopback:
    """A server on a free loopback port for ``async with``; subclasses write ``_serve``
    (one connection) and call ``_track`` in it, so leaving waits for their handlers."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await _finish(self._tasks)


class RawServer(_Loopback):
    """Answers every request with ``answer``; counts connections (TLS ones before the
    handshake) and requests."""

    def __init__(self, answer: bytes = b"", tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.answer = answer or response(200, ANSWER)
        self.tls = tls
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://localhost:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _track(self._tasks)
        self.connections += 1
        try:
            if self.tls is not None:
                await writer.start_tls(self.tls)
            line, headers, _ = await read_request(reader)
            self.requests.append((line, headers))
            writer.write(self.answer)
            await writer.drain()
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


class Proxy(_Loopback):
    """A forward proxy: absolute-URI requests for http:// targets, CONNECT tunnels for
    https:// ones. It records each request line and the headers it received."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _track(self._tasks)
        try:
            line, headers, body = await read_request(reader)
            self.seen.append((line, headers))
            method, target, _ = line.split(" ")
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                up_writer.close()
                return
            rest = target.split("://", 1)[1]
            hostport, _, path = rest.partition("/")
            host, _, port = hostport.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            fields = "".join(
                f"{k}: {v}\r\n" for k, v in headers.items() if k not in ("connection",)
            )
            request = f"{method} /{path} HTTP/1.1\r\n{fields}Connection: close\r\n\r\n"
            up_writer.write(request.encode())
            up_writer.write(body)
            await _pipe(up_reader, writer)
            up_writer.close()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


def _track(tasks: set[asyncio.Task[None]]) -> None:
    task = asyncio.current_task()
    if task is not None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _finish(tasks: set[asyncio.Task[None]]) -> None:
    """Let the connections in progress end (bounded), so no handler is left pending."""
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.write_eof()
