"""The arrival schedule and the rounds: pure functions, a seeded RNG, a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics

import pytest

from rawgpt.bench import Workload
from rawgpt.bench.record import Record
from rawgpt.bench.worker import run_slice
from rawgpt.bench.workload import ROUND_SPAN, Slice, arrivals, plan


def test_poisson_arrivals_hold_200_per_second_over_20_seconds() -> None:
    times = arrivals(200.0, random.Random(1), until=20.0)
    assert times[0] == 0.0 and all(b > a for a, b in itertools.pairwise(times))
    assert abs(len(times) / 20.0 - 200.0) / 200.0 < 0.03
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # exponential gaps: the standard deviation equals the mean
    assert statistics.stdev(gaps) == pytest.approx(statistics.mean(gaps), rel=0.05)


def test_burstiness_below_one_spreads_the_gaps() -> None:
    times = arrivals(100.0, random.Random(2), burstiness=0.25, count=4000)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert statistics.mean(gaps) == pytest.approx(0.01, rel=0.05)
    assert statistics.stdev(gaps) == pytest.approx(0.02, rel=0.1)  # gamma: mean / sqrt(shape)


def test_arrivals_by_count() -> None:
    assert len(arrivals(10.0, random.Random(0), count=7)) == 7
    with pytest.raises(ValueError):
        arrivals(10.0, random.Random(0))


def test_rounds_cut_the_requests_in_turn() -> None:
    slices = plan(Workload(model="m", requests=10, concurrency=2, rounds=3))
    assert [(s.first, s.count) for s in slices] == [(0, 3), (3, 3), (6, 4)]
    assert all(s.arrivals is None for s in slices)


def test_rounds_cut_a_rate_schedule_and_restart_its_clock() -> None:
    w = Workload(model="m", requests=100, concurrency=None, rate=50.0, rounds=2, seed=3)
    whole = arrivals(50.0, random.Random(3), count=100)
    slices = plan(w)
    assert sum(s.count or 0 for s in slices) == 100
    assert slices[1].first == slices[0].count
    for s in slices:
        assert s.arrivals is not None and s.arrivals[0] == 0.0
        base = whole[s.first]
        assert s.arrivals == [t - base for t in whole[s.first : s.first + len(s.arrivals)]]


def test_duration_only_rounds_number_their_requests_apart() -> None:
    slices = plan(Workload(model="m", requests=None, duration=6.0, rounds=3))
    assert [(s.first, s.count, s.duration) for s in slices] == [
        (0, None, 2.0), (ROUND_SPAN, None, 2.0), (2 * ROUND_SPAN, None, 2.0)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"requests": 0}, "--requests"),
        ({"concurrency": None}, "--concurrency or --rate"),
        ({"rate": -1.0}, "--rate"),
        ({"burstiness": 0.5}, "--burstiness"),
        ({"requests": None}, "--requests or --duration"),
        ({"max_tokens": 0}, "--max-tokens"),
    ],
)
def test_bad_workloads_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Workload(**{"model": "m", **options})  # type: ignore[arg-type]


class FakeTime:
    """A clock that only the fake sleep moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # what is due now runs now, as on a real loop
        self.now += seconds


async def test_a_rate_slice_sends_each_request_at_its_time() -> None:
    clock = FakeTime()
    sent: list[float] = []
    times = arrivals(200.0, random.Random(5), until=20.0)

    async def send(index: int) -> Record:
        sent.append(clock())
        clock.now += 0.0001  # a send takes some time: later sends do not drift
        return Record(index, 0.0)

    records = await run_slice(
        send, Slice(0, len(times), None, times), None, clock, sleep=clock.sleep
    )
    assert len(records) == len(times)
    assert sent == pytest.approx([100.0 + t for t in times], abs=1e-3)
    held = len(sent) / (sent[-1] - sent[0])
    assert abs(held - 200.0) / 200.0 < 0.03


async def test_a_capped_rate_slice_waits_for_a_free_place() -> None:
    clock = FakeTime()
    in_flight = [0, 0]  # now, most

    async def send(index: int) -> Record:
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        await clock.sleep(0.05)
        in_flight[0] -= 1
        return Record(index, 0.0)

    part = Slice(0, 20, None, [i * 0.001 for i in range(20)])
    records = await run_slice(send, part, 3, clock, sleep=clock.sleep)
    assert len(records) == 20 and in_flight[1] <= 3


async def test_a_concurrency_slice_runs_its_requests_once_each() -> None:
    clock = FakeTime()
    seen: list[int] = []

    async def send(index: int) -> Record:
        seen.append(index)
        return Record(index, 0.0)

    await run_slice(send, Slice(5, 12), 4, clock)
    assert sorted(seen) == list(range(5, 17))
