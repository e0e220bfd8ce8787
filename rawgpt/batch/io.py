"""Result files: crash-safe appends, torn-line repair, resume state, atomic rewrites.

The files are the user's data. An existing output or errors file is resumed
only when every line in it is one rawgpt writes there (``records.not_ours``);
otherwise ``ForeignFileError`` is raised before anything is changed or sent.
The one exception is an unfinished last line (no newline): a whole record
gets its newline back; a torn one (the start of a record, or the NUL bytes a
power cut can leave) is cut off, since a crash in the middle of a write is
what leaves it. Anything else is refused as it is.

Durability policy: each record is one ``write(2)`` of a whole line to an
``O_APPEND`` descriptor (no user-space buffer), so once the call returns the
line is in the OS page cache and survives a SIGKILL of the process. ``fsync``
runs at most every ``fsync_interval`` seconds (default 1 s) and at close, which
bounds what a power loss can take without paying a disk flush per line.

Files rawgpt creates (results, errors, locks) are private: mode 0600. A rewrite
goes through a ``mkstemp`` file beside the real file (a name no one can plant a
link at) with the old file's mode, renamed over it. Locks are opened with
``O_NOFOLLOW``. ``prepare`` is the resume step: read and check both files, scan
the input (refusing duplicates), then repair the tails and drop superseded
error lines.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .input import scan_input
from .progress import BatchSummary
from .records import LINE_START, not_ours
from .shard import Shard, SkipOtherShards, in_shard

PRIVATE = 0o600  # the mode of every file rawgpt creates


def default_errors_path(output: str | os.PathLike[str]) -> Path:
    """``results.jsonl`` -> ``results.errors.jsonl``; any other name gets ``.errors.jsonl``."""
    out = Path(output)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(f"{stem}.errors.jsonl")


def check_distinct(requests: str, output: str, errors: str) -> None:
    """ValueError unless the three are different files, seen through links of both kinds."""
    files = (requests, output, errors)
    for i, a in enumerate(files):
        for b in files[i + 1 :]:
            if _same_file(a, b):
                raise ValueError(
                    "the requests, output and errors files must be three different files: "
                    f"{a} and {b} are the same file"
                )


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:  # one of them does not exist yet
        return False


class OutputInUseError(OSError):
    """Another run is writing the same output or errors file."""


class ForeignFileError(ValueError):
    """An existing output or errors file holds a line rawgpt does not write there.

    Nothing was sent and the file was left as it was. ``path``, ``line`` (1-based)
    and ``reason`` say where and why.
    """

    def __init__(self, path: str, line: int, reason: str, kind: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(
            f"{path}: line {line} is not a line rawgpt writes to its {kind} file ({reason}): "
            "the file was not written by rawgpt, so it is left untouched and nothing was "
            f"sent; choose another {kind} file, or move this one away"
        )


@contextlib.contextmanager
def exclusive(*paths: str) -> Iterator[None]:
    """Hold a lock beside each file (``.NAME.lock``, beside the real file when the path is a
    link) for the run, so a second run on the same files fails at once instead of
    interleaving with this one. POSIX ``flock``: the lock dies with the process (a SIGKILL
    leaves nothing to clean up); none on Windows. A link planted at the lock's name is
    refused, never followed."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with contextlib.ExitStack() as held:
        for name in paths:
            target = Path(os.path.realpath(name))
            lock = target.with_name(f".{target.name}.lock")
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                raise OSError(
                    exc.errno,
                    f"{lock} is a symbolic link, not a lock rawgpt made: it is not followed;"
                    " remove it and run again",
                ) from None
            held.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputInUseError(
                    f"{name} is in use by another rawgpt batch run (it holds {lock}): "
                    "wait for that run to end, or write to another file"
                ) from None
        yield


@dataclass
class ResultFile:
    """What an existing output or errors file holds, read without changing it."""

    path: str
    ids: set[str] = field(default_factory=set)
    size: int = 0
    torn_at: int | None = None  # a torn last line starts at this offset
    unterminated: bool = False  # the last record lacks its newline


def _torn(tail: bytes) -> bool:
    """Whether an unfinished last line is what a crash leaves: the start of a record, or
    NUL bytes (a file whose size reached the disk before its data)."""
    return tail.startswith(LINE_START) or LINE_START.startswith(tail) or not tail.strip(b"\0")


def read_results(path: str | os.PathLike[str], *, errors: bool) -> ResultFile:
    """The custom_ids in ``path`` (nothing if there is no file), changing nothing.

    ForeignFileError at the first line that is not one rawgpt writes to that file
    (``errors``: the errors file), unless it is an unfinished last line that
    ``repair_tail`` may finish (see the module docstring).
    """
    found = ResultFile(os.fspath(path))
    reason: str | None
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        return found
    with f:
        for number, raw in enumerate(f, 1):
            finished = raw.endswith(b"\n")
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                if not finished and _torn(raw):
                    found.torn_at = found.size
                    found.size += len(raw)
                    break
                reason = "a blank line" if not raw.strip() else "not valid JSON"
            else:
                reason = not_ours(obj, errors=errors)
            if reason is not None:
                kind = "errors" if errors else "output"
                raise ForeignFileError(found.path, number, reason, kind)
            found.ids.add(obj["custom_id"])
            found.unterminated = not finished
            found.size += len(raw)
    return found


def repair_tail(found: ResultFile) -> str | None:
    """Finish the last line that ``read_results`` found unfinished; what was done, or None."""
    if found.torn_at is not None:
        os.truncate(found.path, found.torn_at)
        return (
            f"{found.path}: removed a torn last line ({found.size - found.torn_at} bytes) left"
            " by an interrupted write"
        )
    if found.unterminated:
        with open(found.path, "ab") as f:
            f.write(b"\n")
        return f"{found.path}: added the missing newline after the last record"
    return None


def _record_id(line: bytes) -> str | None:
    """The custom_id of a line, or None when it has none."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    cid = obj.get("custom_id") if type(obj) is dict else None
    return cid if type(cid) is str else None


def rewrite_without(path: str | os.PathLike[str], drop: set[str]) -> int:
    """Atomically rewrite ``path`` without the records whose custom_id is in ``drop``.

    Writes a ``mkstemp`` file beside the real file (``path`` may be a link: the link
    stays) with the file's mode, fsyncs it, and renames it over the file, so a crash
    leaves either the old file or the new one. Every other line is kept. Returns the
    number of lines removed.
    """
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    removed = 0
    try:
        with open(fd, "wb") as out, open(target, "rb") as f:
            if hasattr(os, "fchmod"):  # not on Windows
                os.fchmod(out.fileno(), stat.S_IMODE(os.fstat(f.fileno()).st_mode))
            for raw in f:
                if _record_id(raw) in drop:
                    removed += 1
                else:
                    out.write(raw if raw.endswith(b"\n") else raw + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(Path(folder))
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
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
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
    """Check and read the result files, scan the input, then repair; the custom_ids to skip.

    Nothing is changed before both files are known to be rawgpt's (else
    ForeignFileError) and the input has no duplicate custom_id (else
    DuplicateCustomIdError).

    With a ``shard``, the ids of every other shard are skipped too, and the
    summary counts only this shard's lines (duplicates are still looked for
    across the whole file, so every shard refuses the same input).

    Afterwards no id is in both files: an error superseded by a success is
    dropped, and with ``retry_errors`` so is every error whose id is in the input
    (it is about to be sent again and will be recorded once, wherever it lands).
    """
    out = read_results(output, errors=False)
    err = read_results(errors, errors=True)
    done = out.ids if retry_errors else out.ids | err.ids
    skip: Container[str] = done if shard is None else SkipOtherShards(done, shard)
    scan = scan_input(requests, skip)  # raises on duplicates, before any change or send
    summary.lines, summary.to_do = scan.lines, scan.to_do
    if shard is not None:
        summary.lines = sum(in_shard(cid, shard) for cid in scan.ids)
    summary.skipped = summary.lines - scan.to_do
    for found in (out, err):
        if (note := repair_tail(found)) is not None:
            summary.repairs.append(note)
    drop = err.ids & out.ids
    if retry_errors:
        drop |= err.ids & scan.ids
    if drop:
        rewrite_without(errors, drop)
    return skip
