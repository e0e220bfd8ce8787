"""The batch runner's Python API against an in-process MockServer on loopback."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import rawgpt
from rawgpt.batch import BatchRunner, DuplicateCustomIdError, OutputInUseError, run_batch
from rawgpt.batch.io import exclusive
from rawgpt.testing import MockServer

from ..conftest import KEY, FakeSleep
from .conftest import CHAT, chat_line, ids, records, sent, write_lines


@pytest.fixture
def client(server: MockServer) -> rawgpt.AsyncClient:
    return rawgpt.AsyncClient(api_key=KEY, base_url=server.base_url, max_retries=0)


async def test_formats_and_bad_lines(tmp_path: Path, server: MockServer) -> None:
    plain_chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "plain"}]}
    plain_emb = {"model": "text-embedding-3-small", "input": ["a", "b"]}
    emb = {"custom_id": "emb", "method": "POST", "url": "/v1/embeddings", "body": plain_emb}
    inp = write_lines(
        tmp_path / "in.jsonl",
        [
            chat_line("a"),
            b"{not json",
            plain_chat,
            emb,
            {"custom_id": "nobody", "method": "POST", "url": CHAT},
            {"custom_id": "badurl", "method": "POST", "url": "/v1/completions", "body": {}},
            {"custom_id": "get", "method": "GET", "url": CHAT, "body": plain_chat},
            {"custom_id": "stream", "url": CHAT, "body": {**plain_chat, "stream": True}},
            b"[1, 2]",
            b"   ",
            plain_emb,
            {"custom_id": 7, "url": CHAT, "body": plain_chat},
            {"temperature": 1},
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = await run_batch(inp, out, api_key=KEY, base_url=server.base_url)
    assert (summary.lines, summary.succeeded, summary.invalid, summary.failed) == (12, 4, 8, 0)
    assert summary.exit_code == 3 and summary.remaining == 0
    good = {r["custom_id"]: r for r in records(out)}
    assert set(good) == {"a", "line-3", "emb", "line-11"}
    assert good["emb"]["response"]["body"]["object"] == "list"
    assert len(good["line-11"]["response"]["body"]["data"]) == 2
    first = good["a"]
    assert first["id"].startswith("batch_req_") and first["error"] is None
    assert first["response"]["status_code"] == 200
    assert first["response"]["request_id"].startswith("req_")
    assert first["response"]["body"]["object"] == "chat.completion"
    errors = {r["line"]: r for r in records(tmp_path / "out.errors.jsonl")}
    codes = {line: r["error"]["code"] for line, r in errors.items()}
    assert codes == {
        2: "invalid_json",
        5: "missing_body",
        6: "invalid_url",
        7: "invalid_method",
        8: "invalid_body",
        9: "invalid_line",
        12: "invalid_custom_id",
        13: "invalid_body",
    }
    assert errors[5]["custom_id"] == "nobody" and errors[2]["custom_id"] == "line-2"
    assert all(r["response"] is None and r["error"]["message"] for r in errors.values())
    assert len(server.requests) == 4  # bad lines are never sent
    assert summary.prompt_tokens > 0 and summary.completion_tokens > 0 and summary.cost_usd > 0


async def test_duplicates_refused_before_sending(tmp_path: Path, server: MockServer) -> None:
    lines = [chat_line("a"), chat_line("b"), chat_line("a"), chat_line("c"), chat_line("b")]
    inp = write_lines(tmp_path / "in.jsonl", [*lines, chat_line("a")])
    out = tmp_path / "out.jsonl"
    with pytest.raises(DuplicateCustomIdError) as info:
        await run_batch(inp, out, api_key=KEY, base_url=server.base_url)
    assert info.value.duplicates == {"a": [1, 3, 6], "b": [2, 5]}
    assert "'a' on lines 1, 3, 6" in str(info.value) and "'b' on lines 2, 5" in str(info.value)
    assert server.requests == [] and not out.exists()


async def test_torn_last_line_is_repaired(
    tmp_path: Path, server: MockServer, client: rawgpt.AsyncClient
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(5)])
    out = tmp_path / "out.jsonl"
    async with client:
        await run_batch(inp, out, client=client, concurrency=1)
        whole = out.read_bytes()
        out.write_bytes(whole[:-25])  # a kill in the middle of writing the last line
        progress = io.StringIO()
        summary = await run_batch(inp, out, client=client, progress=progress)
        assert summary.succeeded == 1 and summary.skipped == 4
        assert "removed a torn last line" in progress.getvalue()
        assert sorted(ids(out)) == [f"r{i}" for i in range(5)]  # parses: every line is JSON
        assert sent(server) == Counter({"r0": 1, "r1": 1, "r2": 1, "r3": 1, "r4": 2})
        out.write_bytes(out.read_bytes()[:-1])  # only the final newline lost: keep the record
        summary = await run_batch(inp, out, client=client)
        assert summary.to_do == 0 and len(server.requests) == 6
        assert out.read_bytes().endswith(b"}\n") and len(records(out)) == 5


async def test_errors_resent_only_with_retry_errors(
    tmp_path: Path, server: MockServer, client: rawgpt.AsyncClient
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(6)] + [b"oops"])
    out, err = tmp_path / "out.jsonl", tmp_path / "failed.jsonl"
    server.add_fault("status:500", times=2)
    server.add_fault("rate_limit:0.01:no_retry")
    async with client:
        first = await run_batch(inp, out, errors=err, client=client, concurrency=1)
        assert (first.succeeded, first.failed, first.invalid, first.exit_code) == (3, 3, 1, 3)
        assert first.rate_limited == 1
        failed = {r["custom_id"]: r for r in records(err)}
        assert set(failed) == {"r0", "r1", "r2", "line-7"}
        assert failed["r0"]["response"]["status_code"] == 500
        assert failed["r0"]["response"]["request_id"].startswith("req_")
        assert failed["r2"]["error"]["code"] == "rate_limit_exceeded"
        assert failed["r0"]["line"] == 1 and failed["line-7"]["line"] == 7

        again = await run_batch(inp, out, errors=err, client=client)
        assert again.to_do == 0 and again.exit_code == 0 and len(server.requests) == 6

        retried = await run_batch(inp, out, errors=err, client=client, retry_errors=True)
        assert (retried.to_do, retried.succeeded, retried.invalid) == (4, 3, 1)
        assert sent(server) == Counter({"r0": 2, "r1": 2, "r2": 2, "r3": 1, "r4": 1, "r5": 1})
    assert sorted(ids(out)) == [f"r{i}" for i in range(6)]
    assert ids(err) == ["line-7"]  # every custom_id exactly once across the two files


async def test_fatal_error_stops_without_recording(tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(20)])
    out = tmp_path / "out.jsonl"
    async with MockServer(api_key="sk-the-right-one") as srv:
        summary = await run_batch(inp, out, api_key=KEY, base_url=srv.base_url, concurrency=2)
        assert summary.fatal is not None and "401" in summary.fatal
        assert summary.exit_code == 1 and summary.remaining == 20
        assert len(srv.requests) <= 2  # stopped at the first answer
    assert records(out) == [] and records(tmp_path / "out.errors.jsonl") == []


async def test_stop_twice_abandons_in_flight(tmp_path: Path, server: MockServer) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(10)])
    out = tmp_path / "out.jsonl"
    server.add_fault("slow_headers:60", times=10)
    progress = io.StringIO()
    # no limiter: its slow start would hold the 2nd and 3rd sends until the 1st answers
    async with rawgpt.AsyncClient(
        api_key=KEY, base_url=server.base_url, rate_limiter=False
    ) as client:
        runner = BatchRunner(client, inp, out, concurrency=3, progress=progress, grace=60)
        task = asyncio.create_task(runner.run())
        while len(server.requests) < 3:
            await asyncio.sleep(0.01)
        runner.stop("SIGINT")
        runner.stop("SIGINT")  # a second Ctrl-C: do not wait for the grace period
        summary = await task
    assert summary.stopped == "SIGINT" and summary.exit_code == 130
    assert summary.abandoned == 3 and summary.remaining == 10 and summary.handled == 0
    assert len(server.requests) == 3 and records(out) == []
    lines = progress.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rawgpt batch interrupted (SIGINT)")


async def test_progress_lines_and_summary(tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(40)])
    out = tmp_path / "out.jsonl"
    progress = io.StringIO()
    async with (
        MockServer(latency_ms=5) as srv,
        rawgpt.AsyncClient(api_key=KEY, base_url=srv.base_url, prices={"o3": (1, 1)}) as c,
    ):
        runner = BatchRunner(c, inp, out, concurrency=2, progress=progress, progress_interval=0.01)
        summary = await runner.run()
    text = progress.getvalue()
    assert "req/s" in text and "tok/s" in text and "429s" in text and "ETA" in text
    assert text.splitlines()[0].startswith("batch: ")  # a plain line: not a terminal
    assert "rawgpt batch finished" in text and "40 ok" in text
    assert "no price for gpt-4o-mini" in text and "the client's price table" in text
    assert summary.unpriced_models == {"gpt-4o-mini"} and summary.cost_usd == 0
    assert summary.peak_rss_mb is None or summary.peak_rss_mb > 0


async def test_argument_checks(tmp_path: Path, client: rawgpt.AsyncClient) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line("a")])
    with pytest.raises(ValueError, match="three different files"):
        BatchRunner(client, inp, inp)
    with pytest.raises(ValueError, match="concurrency"):
        BatchRunner(client, inp, tmp_path / "o.jsonl", concurrency=0)
    with pytest.raises(TypeError, match="either client"):
        await run_batch(inp, tmp_path / "o.jsonl", client=client, api_key=KEY)
    await client.close()


async def test_a_second_run_on_the_same_files_is_refused(
    tmp_path: Path, server: MockServer
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line("a"), chat_line("b")])
    out, err = tmp_path / "out.jsonl", tmp_path / "other-errors.jsonl"
    settings: dict[str, Any] = {"api_key": KEY, "base_url": server.base_url, "errors": err}
    for held, named in ((out, r"out\.jsonl is in use by"), (err, r"other-errors\.jsonl is in use")):
        with exclusive(str(held)), pytest.raises(OutputInUseError, match=named):
            await run_batch(inp, out, **settings)  # another run is writing that file
    assert not server.requests and not out.exists()
    summary = await run_batch(inp, out, **settings)  # the locks are gone
    assert summary.succeeded == 2 and sorted(ids(out)) == ["a", "b"]
    with exclusive(str(out), str(err)):  # and this run let go of its own
        pass


async def test_the_summary_counts_every_429_answer_and_retry(
    tmp_path: Path, sleeps: FakeSleep
) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [chat_line(f"r{i}") for i in range(5)])
    out, progress = tmp_path / "out.jsonl", io.StringIO()
    async with MockServer() as srv:
        client = rawgpt.AsyncClient(
            api_key=KEY,
            base_url=srv.base_url,
            rate_limiter=False,
            max_retries=5,
            sleep=sleeps,  # the retry-after waits, without waiting
        )
        srv.add_fault("rate_limit:0.01", times=3)  # three 429s, each answered by a retry
        async with client:
            summary = await BatchRunner(client, inp, out, concurrency=1, progress=progress).run()
    assert summary.succeeded == 5 and summary.retries == 3 and summary.rate_limited == 3
    assert "5 ok, 0 failed, 0 invalid, 0 already done; 3 retries, 3 answers 429" in (
        progress.getvalue()
    )


async def test_a_batch_line_without_custom_id_is_not_sent(
    tmp_path: Path, server: MockServer
) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    inp = write_lines(
        tmp_path / "in.jsonl",
        [
            chat_line("a"),
            {"method": "POST", "url": CHAT, "body": {**body, "user": "no-id-1"}},
            {"url": CHAT, "body": {**body, "user": "no-id-2"}},
            {"body": {**body, "user": "no-id-3"}},
            {**body, "user": "plain"},  # a plain body: its id is its line number
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = await run_batch(inp, out, api_key=KEY, base_url=server.base_url)
    assert (summary.succeeded, summary.invalid) == (2, 3)
    assert sent(server) == Counter({"a": 1, "plain": 1})  # the Batch API would refuse them
    assert sorted(ids(out)) == ["a", "line-5"]
    errors = records(tmp_path / "out.errors.jsonl")
    assert [(r["line"], r["error"]["code"]) for r in errors] == [
        (2, "missing_custom_id"),
        (3, "missing_custom_id"),
        (4, "missing_custom_id"),
    ]
    assert "line 2: a Batch API request needs a custom_id" in errors[0]["error"]["message"]
    again = await run_batch(inp, out, api_key=KEY, base_url=server.base_url)
    assert again.to_do == 0 and len(server.requests) == 2  # resumed: recorded once, not resent
