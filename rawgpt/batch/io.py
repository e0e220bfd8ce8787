"""Result files: crash-safe appends, torn-line repair, resume state, atomic rewrites.

Durability policy: each record is one ``write(2)`` of a whole line to an
``O_APPEND`` descriptor (no user-space buffer), so once the call returns the
line is in the OS page cache and survives a SIGKILL of the process. ``fsync``
runs at most every ``fsync_interval`` seconds (default 1 s) and at close, which
bounds what a power loss can take without paying a disk flush per line.

A kill in the middle of a large write can still leave a torn last line;
``repair_tail`` finds it and truncates it away before anything is appended.
``prepare`` is the resume step: repair both files, read the ids they hold,
scan the input (refusing duplicates) and drop superseded error lines.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import orjson

from .input import scan_input
from .progress import BatchSummary
from .shard import Shard, SkipOtherShards, in_shard

_CHUNK = 1 << 16


def default_errors_path(output: str | os.PathLike[str]) -> Path:
    """``results.jsonl`` -> ``results.errors.jsonl``; any other name gets ``.errors.jsonl``."""
    out = Path(output)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(f"{stem}.errors.jsonl")


class OutputInUseError(OSError):
    """Another run is writing the same output or errors file."""


@contextlib.contextmanager
def exclusive(*paths: str) -> Iterator[None]:
    """Hold a lock beside each file (``.NAME.lock``) for the run, so a second run on the
    same files fails at once instead of interleaving with this one. POSIX ``flock``: the
    lock dies with the process (a SIGKILL leaves nothing to clean up); none on Windows."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with contextlib.ExitStack() as held:
        for name in paths:
            target = Path(name)
            lock = target.with_name(f".{target.name}.lock")
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            held.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputInUseError(
                    f"{name} is in use by another rawgpt batch run (it holds {lock}): "
                    "wait for that run to end, or write to another file"
                ) from None
        yield


def _record_id(line: bytes) -> str | None:
    """The custom_id of a complete result line, or None when it is not one."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    cid = obj.get("custom_id") if type(obj) is dict else None
    return cid if type(cid) is str else None


def repair_tail(path: str | os.PathLike[str]) -> str | None:
    """Make the file end with a whole line; say what was done, or None if nothing was."""
    try:
        f = open(path, "r+b")  # noqa: SIM115 (closed below; need the handle for truncate)
    except FileNotFoundError:
        return None
    with f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return None
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return None
        end = size
        cut = 0
        while end > 0:  # look backwards for the last newline
            start = max(0, end - _CHUNK)
            f.seek(start)
            found = f.read(end - start).rfind(b"\n")
            if found >= 0:
                cut = start + found + 1
                break
            end = start
        f.seek(cut)
        if _record_id(f.read(size - cut)) is not None:
            f.seek(size)
            f.write(b"\n")
            return f"{path}: added the missing newline after the last record"
        f.truncate(cut)
        return f"{path}: removed a torn last line ({size - cut} bytes) left by an interrupted write"


def iter_records(path: str | os.PathLike[str]) -> Iterator[tuple[bytes, str | None]]:
    """``(raw line, custom_id or None when unreadable)`` for each line; nothing if no file."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (a generator owns it)
    except FileNotFoundError:
        return
    with f:
        for raw in f:
            if raw.strip():
                yield raw, _record_id(raw)


def read_ids(path: str | os.PathLike[str]) -> tuple[set[str], int]:
    """The custom_ids recorded in a result file, and how many lines were unreadable."""
    ids: set[str] = set()
    unreadable = 0
    for _, cid in iter_records(path):
        if cid is None:
            unreadable += 1
        else:
            ids.add(cid)
    return ids, unreadable


def rewrite_without(path: str | os.PathLike[str], drop: set[str]) -> int:
    """Atomically rewrite ``path`` without unreadable lines and ids in ``drop``.

    Writes a temporary file beside it, fsyncs it, and renames it over the
    original, so a crash leaves either the old file or the new one. Returns
    the number of lines removed.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.rewrite")
    removed = 0
    with open(tmp, "wb") as out:
        for raw, cid in iter_records(target):
            if cid is None or cid in drop:
                removed += 1
            else:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible everywhere (Windows): the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Appender:
    """Appends one JSON record per line: one write per line, periodic fsync."""

    def __init__(self, path: str | os.PathLike[str], *, fsync_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.fsync_interval = fsync_interval
        self.lines = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._synced_at = time.monotonic()
        self._dirty = False

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line, now."""
        data = memoryview(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        while data:
            data = data[os.write(self._fd, data) :]
        self.lines += 1
        self._dirty = True
        if time.monotonic() - self._synced_at >= self.fsync_interval:
            self.sync()

    def sync(self) -> None:
        """Flush what was written to the disk."""
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._synced_at = time.monotonic()

    def close(self) -> None:
        """fsync and close (once)."""
        if self._fd < 0:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)
            self._fd = -1


def prepare(
    requests: str,
    output: str,
    errors: str,
    retry_errors: bool,
    summary: BatchSummary,
    shard: Shard | None = None,
) -> Container[str]:
    """Repair and read the result files, scan the input; the custom_ids to skip.

    With a ``shard``, the ids of every other shard are skipped too, and the
    summary counts only this shard's lines (duplicates are still looked for
    across the whole file, so every shard refuses the same input).

    Afterwards no id is in both files: an error superseded by a success is
    dropped, and with ``retry_errors`` so is every error whose id is in the input
    (it is about to be sent again and will be recorded once, wherever it lands).
    """
    for path in (output, errors):
        if (note := repair_tail(path)) is not None:
            summary.repairs.append(note)
    out_ids, out_bad = read_ids(output)
    if out_bad:
        rewrite_without(output, set())
        summary.repairs.append(f"{output}: removed {out_bad} unreadable lines")
    err_ids, err_bad = read_ids(errors)
    done = out_ids if retry_errors else out_ids | err_ids
    skip: Container[str] = done if shard is None else SkipOtherShards(done, shard)
    scan = scan_input(requests, skip)  # raises on duplicates, before any send
    summary.lines, summary.to_do = scan.lines, scan.to_do
    if shard is not None:
        summary.lines = sum(in_shard(cid, shard) for cid in scan.ids)
    summary.skipped = summary.lines - scan.to_do
    drop = err_ids & out_ids
    if retry_errors:
        drop |= err_ids & scan.ids
    if drop or err_bad:
        rewrite_without(errors, drop)
    return skip
