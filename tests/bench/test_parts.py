"""The measuring parts on their own: one timed request, prompts, SLOs, percentiles, safety."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest

import rawgpt
from rawgpt.bench import ClientRun, summarize
from rawgpt.bench.measure import measure
from rawgpt.bench.prompts import Prompts, load
from rawgpt.bench.record import Record
from rawgpt.bench.safety import Refused, confirm, estimate, summary
from rawgpt.bench.slo import meets, parse_slo
from rawgpt.bench.stats import percentile


class Ticks:
    """A clock that moves 10 ms each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.01
        return self.now


def chunk(content: str | None = None, usage: Any = None, choices: bool = True) -> NS:
    delta = NS(content=content, refusal=None, tool_calls=None)
    return NS(choices=[NS(delta=delta)] if choices else [], usage=usage)


class FakeStream:
    def __init__(self, chunks: list[NS]) -> None:
        self.chunks = chunks

    async def __aenter__(self) -> FakeStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _gen(self) -> AsyncIterator[NS]:
        for c in self.chunks:
            yield c

    def __aiter__(self) -> AsyncIterator[NS]:
        return self._gen()


def creator(chunks: list[NS]) -> Any:
    async def create(**body: Any) -> FakeStream:
        return FakeStream(chunks)

    return create


async def test_a_stream_is_timed_at_each_content_delta_and_tokens_come_from_usage() -> None:
    chunks = [chunk(""), chunk("a"), chunk("b"), chunk("c"), chunk(None)]
    chunks.append(chunk(usage=NS(completion_tokens=7, prompt_tokens=3), choices=False))
    r = await measure(creator(chunks), {"stream": True}, 4, Ticks(), 0.0)
    # clock reads: start 0.01, "a" 0.02, "b" 0.03, "c" 0.04, end 0.05
    assert r.ok and r.index == 4 and r.start == pytest.approx(0.01)
    assert r.ttft == pytest.approx(0.01) and r.gaps == pytest.approx([0.01, 0.01])
    assert r.output_tokens == 7 and r.prompt_tokens == 3 and r.tokens_from == "usage"
    assert r.e2e == pytest.approx(0.04) and r.tpot == pytest.approx(0.03 / 6)


async def test_a_stream_without_usage_counts_its_deltas() -> None:
    r = await measure(creator([chunk("a"), chunk("b")]), {"stream": True}, 0, Ticks(), 0.0)
    assert r.output_tokens == 2 and r.tokens_from == "deltas"


async def test_a_failure_is_a_record_with_its_type_and_status() -> None:
    async def create(**body: Any) -> Any:
        raise rawgpt.RateLimitError("slow down", status_code=429)

    r = await measure(create, {"stream": True}, 0, Ticks(), 0.0)
    assert not r.ok and r.error == "RateLimitError" and r.status == 429


async def test_a_plain_request_has_no_first_token() -> None:
    async def create(**body: Any) -> Any:
        return NS(usage=NS(completion_tokens=5, prompt_tokens=2))

    r = await measure(create, {"stream": False}, 0, Ticks(), 0.0)
    assert r.ok and r.ttft is None and r.output_tokens == 5 and r.tpot is None


def test_synthetic_prompts_differ_per_request_and_per_client() -> None:
    def make(client: str) -> Prompts:
        return Prompts(
            model="m", stream=True, max_tokens=9, prompt_tokens=20, seed=0, client=client
        )

    a, b = make("rawgpt").body(0), make("rawgpt").body(1)
    assert a["messages"][0]["content"] != b["messages"][0]["content"]
    assert len(a["messages"][0]["content"].split()) == 20
    assert make("sdk").body(0)["messages"] != a["messages"]
    assert make("rawgpt").body(0) == a  # the same for the same request: reproducible
    assert a["max_tokens"] == 9 and a["stream"] is True
    assert a["stream_options"] == {"include_usage": True}


def test_a_prompts_file_takes_chat_bodies_and_batch_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    chat = {
        "model": "x",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 5,
    }
    batch = {"custom_id": "1", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": "y", "messages": [], "stream_options": {"foo": 1}}}  # fmt: skip
    path.write_text(json.dumps(chat) + "\n\n" + json.dumps(batch) + "\n")
    bodies = load(str(path))
    assert len(bodies) == 2
    p = Prompts(model=None, stream=True, max_tokens=None, prompt_tokens=1, seed=0, client="c",
                bodies=bodies)  # fmt: skip
    assert p.body(0)["model"] == "x" and p.body(0)["max_completion_tokens"] == 5
    assert p.body(1)["stream_options"] == {"foo": 1, "include_usage": True}
    assert p.body(2)["model"] == "x"  # from the top again
    q = Prompts(model="z", stream=False, max_tokens=3, prompt_tokens=1, seed=0, client="c",
                bodies=bodies)  # fmt: skip
    assert q.body(0)["model"] == "z" and q.body(0)["max_completion_tokens"] == 3
    assert "stream_options" not in q.body(1) and q.body(1)["stream"] is False


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1: not JSON"),
        ("[1]", "line 1: not a JSON object"),
        ('{"url": "/v1/embeddings", "body": {}}', "is not /v1/chat/completions"),
        ('{"model": "m"}', "line 1: no messages"),
    ],
)
def test_a_bad_prompts_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=message):
        load(str(path))


def test_an_empty_or_missing_prompts_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="no requests"):
        load(str(tmp_path / "e.jsonl"))
    with pytest.raises(ValueError, match="--prompts"):
        load(str(tmp_path / "missing.jsonl"))


def test_slo_parsing_and_goodput() -> None:
    slo = parse_slo("ttft_ms=100, itl_ms=20")
    assert slo == {"ttft_ms": 100.0, "itl_ms": 20.0}
    for bad in ("ttft=1", "ttft_ms", "ttft_ms=x", "ttft_ms=0", ""):
        with pytest.raises(ValueError, match="--slo"):
            parse_slo(bad)
    good = Record(0, 0.0, 0.5, ttft=0.05, gaps=[0.01, 0.015], output_tokens=3)
    slow_first = Record(1, 0.0, 0.5, ttft=0.15, gaps=[0.01], output_tokens=2)
    stalled = Record(2, 0.0, 0.5, ttft=0.05, gaps=[0.01, 0.03], output_tokens=3)
    failed = Record(3, 0.0, 0.1, error="APIConnectionError")
    assert [meets(r, slo) for r in (good, slow_first, stalled, failed)] == [
        True,
        False,
        False,
        False,
    ]
    run = ClientRun("c", [good, slow_first, stalled, failed], cpu_s=0.02, wall_s=1.0)
    s = summarize(run, slo)
    assert s.goodput == 0.25 and s.requests_ok == 3 and s.failures == {"APIConnectionError": 1}
    assert s.client_cpu_ms_per_request == pytest.approx(5.0)
    assert s.output_tokens == 8 and s.client_cpu_us_per_output_token == pytest.approx(2500.0)
    assert s.ttft_ms is not None and s.ttft_ms.p50 == pytest.approx(50.0)
    assert s.itl_ms is not None and s.itl_ms.mean == pytest.approx(15.0)  # all gaps pooled


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 50) != percentile([], 50)  # NaN


def test_cost_estimate() -> None:
    assert estimate(1000, 100, 50, (0.15, 0.60)) == pytest.approx(0.045)
    assert estimate(1000, 100, 50, None) is None
    assert "no price known for 'x'" in summary("h", 10, None, "x", "")
    assert "$0.0450" in summary("api.openai.com", 1000, 0.045, "gpt-4o-mini", "note")


class Asker:
    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.asked.append(prompt)
        return self.answer

    def say(self, text: str) -> None:
        self.said.append(text)


def test_loopback_goes_without_asking() -> None:
    a = Asker("n")
    confirm(loopback=True, yes=False, tty=False, message="m", ask=a.ask, say=a.say)
    assert a.asked == [] and a.said == []


def test_no_terminal_and_no_yes_refuses() -> None:
    a = Asker("y")
    with pytest.raises(Refused, match="--yes"):
        confirm(loopback=False, yes=False, tty=False, message="m", ask=a.ask, say=a.say)
    assert a.asked == [] and a.said == ["m"]


def test_yes_goes_ahead_after_saying_what_it_sends() -> None:
    a = Asker("n")
    confirm(loopback=False, yes=True, tty=False, message="m", ask=a.ask, say=a.say)
    assert a.asked == [] and a.said == ["m"]


@pytest.mark.parametrize(
    ("answer", "goes"), [("y", True), ("YES", True), ("", False), ("n", False)]
)
def test_a_terminal_asks(answer: str, goes: bool) -> None:
    a = Asker(answer)
    if goes:
        confirm(loopback=False, yes=False, tty=True, message="m", ask=a.ask, say=a.say)
    else:
        with pytest.raises(Refused):
            confirm(loopback=False, yes=False, tty=True, message="m", ask=a.ask, say=a.say)
    assert len(a.asked) == 1
