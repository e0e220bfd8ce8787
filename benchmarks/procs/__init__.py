"""Child processes the benchmarks start (``python -m benchmarks.procs.X``): servers, workers."""

from __future__ import annotations

import contextlib
import select
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping


@contextlib.contextmanager
def child_server(
    argv: list[str],
    env: Mapping[str, str],
    cwd: str,
    *,
    name: str,
    url_of: Callable[[str], str | None],
    start_timeout: float,
    hold_stdin: bool = False,
) -> Iterator[str]:
    """Run a server ``argv`` in a child process; yield the base URL ``url_of`` reads from
    its first line of stdout; always stop it after (SIGTERM, then kill) and close its
    pipes. ``hold_stdin``: give it a stdin pipe, whose closing tells it the parent left."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if hold_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], start_timeout)
        line = proc.stdout.readline().decode() if ready else ""
        url = url_of(line)
        if url is None:
            proc.kill()
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{name} did not start: {line!r}\n{err[-2000:]}")
        yield url
        if proc.poll() is not None:
            raise RuntimeError(f"{name} died (exit {proc.returncode})")
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
