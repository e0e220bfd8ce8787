"""The output and errors files are the user's data (issue 13).

A file rawgpt did not write is refused before anything is sent and left exactly
as it was; only a torn last line (a crash in the middle of a write) is repaired.
New files are private (0600), a rewrite keeps the file's mode, no planted
symbolic link is followed, and two names for one file are refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from rawgpt.batch import ForeignFileError, OutputInUseError, run_batch
from rawgpt.batch.io import exclusive
from rawgpt.testing import MockServer

from ..conftest import KEY
from .conftest import chat_line, ids, run_cli, sent, write_lines

Snapshot = tuple[bytes, int, int, int]  # content, mtime_ns, mode, inode


def snapshot(path: Path) -> Snapshot:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, stat.S_IMODE(st.st_mode), st.st_ino


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common umask, so that a file created 0644 shows as one (and the tests can fail)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


SEED = [chat_line(f"s{i}") for i in range(4)] + [b"oops"]  # s0 fails (500), line 5 is bad


async def seed(tmp_path: Path, server: MockServer, **options: Any) -> tuple[Path, Path, Path]:
    """A real run: in.jsonl -> out.jsonl (s1..s3) and out.errors.jsonl (s0, line-5)."""
    tmp_path.mkdir(exist_ok=True)
    inp = write_lines(tmp_path / "in.jsonl", SEED)
    out = tmp_path / "out.jsonl"
    server.add_fault("status:500", times=1)
    settings: dict[str, Any] = {"api_key": KEY, "base_url": server.base_url, "max_retries": 0}
    summary = await run_batch(inp, out, concurrency=1, **settings, **options)
    assert (summary.succeeded, summary.failed, summary.invalid) == (3, 1, 1)
    server.requests.clear()
    return inp, out, tmp_path / "out.errors.jsonl"


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


# name -> (the file's content built from lines rawgpt wrote to it and to the other file,
#          the line refused, or None when the file is accepted)
Case = Callable[[list[bytes], list[bytes]], tuple[bytes, int | None]]
CASES: dict[str, Case] = {
    "empty": lambda ours, other: (b"", None),
    "all rawgpt lines": lambda ours, other: (b"".join(ours), None),
    "a torn last line": lambda ours, other: (b"".join(ours) + ours[0][:30], None),
    "a foreign line in the middle": lambda ours, other: (
        ours[0] + b"my notes\n" + b"".join(ours[1:]),
        2,
    ),
    "a foreign last line": lambda ours, other: (
        b"".join(ours) + b'{"custom_id": "s9", "note": "mine"}\n',
        len(ours) + 1,
    ),
    "a foreign last line without a newline": lambda ours, other: (
        b"".join(ours) + b"the end",
        len(ours) + 1,
    ),
    "a foreign JSON last line without a newline": lambda ours, other: (
        b"".join(ours) + b'{"custom_id": "s9"}',
        len(ours) + 1,
    ),
    "a blank line": lambda ours, other: (ours[0] + b"\n" + b"".join(ours[1:]), 2),
    "the other file's lines": lambda ours, other: (b"".join(other), 1),
}


@pytest.mark.parametrize("which", ["output", "errors"])
@pytest.mark.parametrize("case", list(CASES))
async def test_an_existing_file_is_resumed_only_when_rawgpt_wrote_it(
    tmp_path: Path, server: MockServer, which: str, case: str
) -> None:
    inp, out, err = await seed(tmp_path / "seed", server)
    ours, other = (lines_of(out), lines_of(err)) if which == "output" else (lines_of(err), [])
    if which == "errors":
        other = lines_of(out)
    content, refused = CASES[case](ours, other)
    work = tmp_path / "work"
    work.mkdir()
    target = work / ("results.txt" if which == "output" else "failed.txt")
    target.write_bytes(content)
    before = snapshot(target)
    names = {"output": work / "results.txt", "errors": work / "failed.txt"}
    settings: dict[str, Any] = {"api_key": KEY, "base_url": server.base_url, "max_retries": 0}
    if refused is not None:
        with pytest.raises(ForeignFileError) as info:
            await run_batch(inp, names["output"], errors=names["errors"], **settings)
        assert snapshot(target) == before  # not a byte, not the mtime, not the mode
        assert server.requests == []
        message = str(info.value)
        assert f"{target}: line {refused} " in message and "not written by rawgpt" in message
        assert (info.value.path, info.value.line) == (str(target), refused)
        assert sorted(p.name for p in work.iterdir() if not p.name.startswith(".")) == [
            target.name
        ]  # the other file was not created either
        return
    summary = await run_batch(inp, names["output"], errors=names["errors"], **settings)
    kept = content if case != "a torn last line" else b"".join(ours)
    assert target.read_bytes().startswith(kept)  # appended to, never cut into
    done_before = {orjson.loads(line)["custom_id"] for line in kept.splitlines()}
    assert summary.skipped == len(done_before) == (0 if case == "empty" else len(ours))
    assert not set(sent(server)) & done_before  # resumed: nothing done is sent again
    every = ids(names["output"]) + ids(names["errors"])
    assert sorted(every) == sorted({*every}) and len(every) == 5  # each id exactly once


@pytest.mark.parametrize("flag", ["--output", "--errors"])
@pytest.mark.parametrize(
    "content",
    [
        b"".join(b"note %d: buy milk\n" % i for i in range(1000)),
        b"".join(b'{"row": %d, "text": "mine"}\n' % i for i in range(1000)),
    ],
    ids=["text", "jsonl-without-custom_id"],
)
def test_the_cli_refuses_a_file_it_did_not_write(
    tmp_path: Path,
    mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    content: bytes,
) -> None:
    inp = write_lines(tmp_path / "requests.jsonl", [chat_line(f"r{i}") for i in range(5)])
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    before = snapshot(notes)
    args = [str(inp), "--base-url", mock.base_url, flag, str(notes)]
    if flag == "--errors":
        args += ["--output", str(tmp_path / "results.jsonl")]
    assert run_cli(args, monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"{notes}: line 1 " in err and "not written by rawgpt" in err and "untouched" in err
    assert snapshot(notes) == before
    assert mock.requests == [] and not (tmp_path / "results.jsonl").exists()


async def test_new_files_are_private(tmp_path: Path, server: MockServer, umask_022: None) -> None:
    _, out, err = await seed(tmp_path, server)
    for path in (out, err, tmp_path / ".out.jsonl.lock", tmp_path / ".out.errors.jsonl.lock"):
        assert mode(path) == 0o600, path


@pytest.mark.parametrize("kept", [0o600, 0o640])
async def test_a_rewrite_keeps_the_files_mode(
    tmp_path: Path, server: MockServer, umask_022: None, kept: int
) -> None:
    inp, out, err = await seed(tmp_path, server)
    out.write_bytes(out.read_bytes() + b'{"id":"batch_req_torn","cust')  # a crash mid-write
    for path in (out, err):
        path.chmod(kept)
    inode = err.stat().st_ino
    summary = await run_batch(inp, out, api_key=KEY, base_url=server.base_url, retry_errors=True)
    assert summary.succeeded == 1 and ids(err) == ["line-5"]
    assert err.stat().st_ino != inode  # the errors file was rewritten (s0 dropped) ...
    assert mode(err) == kept and mode(out) == kept  # ... and both keep the user's mode


async def test_a_planted_symlink_at_a_temporary_name_is_not_followed(
    tmp_path: Path, server: MockServer
) -> None:
    inp, out, err = await seed(tmp_path, server)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    planted = [tmp_path / f".{err.name}.rewrite", tmp_path / f".{out.name}.rewrite"]
    for link in planted:
        link.symlink_to(victim)
    before = sorted(p.name for p in tmp_path.iterdir())
    await run_batch(inp, out, api_key=KEY, base_url=server.base_url, retry_errors=True)
    assert victim.read_bytes() == b"precious\n"
    assert all(link.is_symlink() and link.readlink() == victim for link in planted)
    assert not err.is_symlink() and ids(err) == ["line-5"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary file left


async def test_a_planted_symlink_at_the_lock_name_is_refused(
    tmp_path: Path, server: MockServer
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line("a")])
    out, victim = tmp_path / "out.jsonl", tmp_path / "victim.txt"
    (tmp_path / ".out.jsonl.lock").symlink_to(victim)
    with pytest.raises(OSError, match=r"\.out\.jsonl\.lock is a symbolic link"):
        await run_batch(inp, out, api_key=KEY, base_url=server.base_url)
    assert not victim.exists() and not out.exists() and server.requests == []


async def test_a_run_through_a_symlink_takes_the_real_files_lock(
    tmp_path: Path, server: MockServer
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line("a")])
    out, link = tmp_path / "out.jsonl", tmp_path / "link.jsonl"
    link.symlink_to(out)
    with exclusive(str(out)), pytest.raises(OutputInUseError):
        await run_batch(inp, link, api_key=KEY, base_url=server.base_url)
    assert server.requests == [] and not out.exists()


@pytest.mark.parametrize("how", ["symlink", "hard link", "symlink to the requests"])
def test_two_names_for_one_file_are_refused(
    tmp_path: Path,
    mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line("a"), b"oops"])
    out, other = tmp_path / "out.jsonl", tmp_path / "other.jsonl"
    out.touch()
    if how == "hard link":
        other.hardlink_to(out)
    else:
        other.symlink_to(inp if how == "symlink to the requests" else out)
    before = snapshot(inp), snapshot(out)
    args = [str(inp), "-o", str(out), "--errors", str(other), "--base-url", mock.base_url]
    assert run_cli(args, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "must be three different files" in err and f"{other}" in err
    assert (snapshot(inp), snapshot(out)) == before and mock.requests == []
