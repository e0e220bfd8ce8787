"""The continuously refilling bucket, and the admission cost it is charged."""

from __future__ import annotations

from typing import Any

import pytest

from rawgpt._ratelimit.bucket import Bucket
from rawgpt._ratelimit.estimate import DEFAULT_OUTPUT_TOKENS, admission_cost, prompt_tokens


def test_refills_at_limit_per_minute() -> None:
    b = Bucket(600, 0, now=100.0)  # 10 per second
    assert b.refill(100.0) == 0
    assert b.refill(100.5) == pytest.approx(5.0)
    assert b.refill(101.0) == pytest.approx(10.0)


def test_caps_at_the_limit() -> None:
    b = Bucket(60, 50, now=0.0)
    assert b.refill(3600.0) == 60.0
    assert Bucket(60, 500, now=0.0).level == 60.0


def test_wait_is_the_time_until_the_cost_fits() -> None:
    b = Bucket(60, 0, now=0.0)  # 1 per second
    assert b.wait(1, 0.0) == pytest.approx(1.0)
    assert b.wait(3, 0.0) == pytest.approx(3.0)
    assert b.wait(1, 1.0) == 0.0
    b = Bucket(60, 0, now=0.0)
    assert b.wait(1000, 0.0) == pytest.approx(60.0)  # never more than a full bucket's wait


def test_debt_waits_longer() -> None:
    b = Bucket(60, 2, now=0.0)
    b.take(5, 0.0)  # 3 in debt
    assert b.level == -3
    assert b.wait(1, 0.0) == pytest.approx(4.0)
    assert b.wait(1, 4.0) == 0.0


def test_give_back_never_overfills() -> None:
    b = Bucket(60, 59, now=0.0)
    b.take(10, 0.0)
    b.give_back(10, 0.0)
    assert b.level == 59
    b.give_back(10, 0.0)
    assert b.level == 60


def test_heed_moves_the_books_into_the_answers_bounds() -> None:
    b = Bucket(60, 30, now=0.0)
    assert b.heed(60, 0, 10, 5.0) is False  # refilled to 35, lowered to at most 10
    assert (b.level, b.stamp) == (10, 5.0)
    assert b.heed(60, 20, 50, 5.0) is False  # raised to at least 20
    assert b.level == 20
    assert b.heed(60, 0, 50, 6.0) is False  # inside the bounds: the books stand (refilled)
    assert b.level == pytest.approx(21.0)
    assert b.heed(120, 10, 10, 6.0) is True
    assert b.rate == 2.0
    assert b.refill(7.0) == pytest.approx(12.0)
    b.heed(120, -10_000, -10_000, 7.0)  # nonsense debt is bounded by one bucket
    assert b.level == -120
    b.heed(120, 10_000, 10_000, 7.0)
    assert b.level == 120
    assert Bucket(10, -1000, now=0.0).level == -10


def test_prompt_tokens_are_characters_over_four() -> None:
    body = {"messages": [{"role": "user", "content": "x" * 400}]}
    assert prompt_tokens(body) == 100
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "y" * 80}]}]}
    assert prompt_tokens(parts) == 20
    assert prompt_tokens({"messages": []}) == 1


def test_tools_and_tool_calls_count() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    base = {"messages": [{"role": "user", "content": "x" * 40}]}
    assert prompt_tokens({**base, "tools": tools}) > prompt_tokens(base)
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "z" * 400}}
    turn = {"role": "assistant", "content": None, "tool_calls": [call]}
    assert prompt_tokens({"messages": [*base["messages"], turn]}) >= 110


@pytest.mark.parametrize(
    ("body", "cost"),
    [
        ({"messages": [{"content": "x" * 40}], "max_tokens": 50}, 60),
        ({"messages": [{"content": "x" * 40}], "max_completion_tokens": 7, "max_tokens": 50}, 17),
        ({"messages": [{"content": "x" * 40}], "max_tokens": 50, "n": 3}, 160),
        ({"messages": [{"content": "x" * 40}]}, 10 + DEFAULT_OUTPUT_TOKENS),
        ({"messages": [{"content": "x" * 40}], "max_tokens": "lots", "n": 2}, 10 + 16 * 2),
        ({"messages": [{"content": "x" * 40}], "max_tokens": 50, "n": "two"}, 60),
        ({"input": "x" * 40}, 10),
        ({"input": ["x" * 40, "y" * 8, "z"]}, 13),
        ({"input": [1, 2, 3, 4, 5]}, 5),  # one token array
        ({"input": [[1, 2, 3], [4, 5]]}, 5),
    ],
)
def test_admission_cost(body: dict[str, Any], cost: int) -> None:
    assert admission_cost(body) == cost


def test_a_pluggable_counter_replaces_the_estimate() -> None:
    body = {"messages": [{"content": "x" * 400}], "max_tokens": 10}
    assert admission_cost(body, lambda b: 7) == 17
