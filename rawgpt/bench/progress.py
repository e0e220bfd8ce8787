"""Progress on stderr: one line rewritten in place on a terminal, plain lines when piped."""

from __future__ import annotations

import time
from typing import TextIO

PIPED_SECONDS = 5.0  # a plain line at most this often within a slice


class Progress:
    def __init__(self, out: TextIO, rounds: int, tty: bool | None = None) -> None:
        self.out = out
        self.rounds = rounds
        self.tty = out.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._last = 0.0
        self._width = 0

    def __call__(self, client: str, round_: int, done: int, size: int) -> None:
        elapsed = time.monotonic() - self.started
        of = f"/{size}" if size else ""
        text = f"[{elapsed:6.1f} s] round {round_ + 1}/{self.rounds} {client}: {done}{of} done"
        finished = bool(size) and done >= size
        if self.tty:
            self.out.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self.out.flush()
            return
        now = time.monotonic()
        if finished or done == 0 or now - self._last >= PIPED_SECONDS:
            self._last = now
            self.out.write(text + "\n")
            self.out.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()
