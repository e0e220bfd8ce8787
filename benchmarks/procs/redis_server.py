"""A redis-server of the benchmark's own: a free loopback port, a temp dir, killed after."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


class RedisProcess:
    """One redis-server on one port; ``kill()`` is a crash (SIGKILL), ``start()`` a restart."""

    def __init__(self, directory: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server not found: apt-get install redis-server")
        self.exe, self.dir = exe, directory
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        self.version = next((w[2:] for w in out.split() if w.startswith("v=")), "?")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        give_up = time.monotonic() + 10
        while time.monotonic() < give_up:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        self.kill()
        raise SystemExit(f"redis-server did not start on port {self.port}")

    def script_calls(self) -> int:
        """EVALSHA + EVAL calls served so far (0 when the server is down)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"INFO commandstats\r\n")
                data = sock.recv(65536)
                size = int(data[1 : data.index(b"\r\n")])  # a bulk reply: $<size>\r\n<text>
                while len(data) < data.index(b"\r\n") + 2 + size:
                    data += sock.recv(65536)
        except (OSError, ValueError):
            return 0
        calls = 0
        for line in data.decode().splitlines():
            if line.startswith(("cmdstat_evalsha:", "cmdstat_eval:")):
                calls += int(line.split("calls=")[1].split(",")[0])
        return calls

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
