"""The static surface: SDK-style Responses code type-checks, with the SDK's types, and a typo
is an error (mypy --strict on small programs)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

import rawgpt

ROOT = Path(rawgpt.__file__).parent.parent

GOOD = """
from typing import Literal, assert_type

import rawgpt
from rawgpt.types.responses import (
    Response, ResponseOutputItem, ResponseStreamEvent, ResponseTextDeltaEvent, ResponseUsage,
)


async def main(c: rawgpt.AsyncClient) -> None:
    r = await c.responses.create(model="m", input="x", max_output_tokens=5)
    assert_type(r, Response)
    assert_type(r.output_text, str)
    assert_type(r.request_id, str | None)
    assert_type(r.usage, ResponseUsage | None)
    assert_type(r.output[0], ResponseOutputItem)
    if r.usage is not None:
        assert_type(r.usage.output_tokens_details.reasoning_tokens, int)
    item = r.output[0]
    if item.type == "function_call":
        assert_type(item.arguments, str)
    s = await c.responses.create(model="m", input="x", stream=True)
    assert_type(s, rawgpt.AsyncResponseStream)
    async with s:
        async for event in s:
            assert_type(event, ResponseStreamEvent)
            assert_type(event.sequence_number, int)
            if event.type == "response.output_text.delta":
                assert_type(event, ResponseTextDeltaEvent)
                assert_type(event.delta, str)
    assert_type(s.get_final_response(), Response)
    flag: bool = bool(r)
    either = await c.responses.create(model="m", input="x", stream=flag)
    assert_type(either, Response | rawgpt.AsyncResponseStream)
    await c.responses.create(prompt={"id": "pmpt_1"})  # model may come from the prompt
    kind: Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
    if r.status is not None:
        kind = r.status


def blocking(c: rawgpt.Client) -> None:
    with c.responses.create(model="m", input="x", stream=True) as s:
        assert_type(s, rawgpt.ResponseStream)
        for event in s:
            assert_type(event, ResponseStreamEvent)
    assert_type(s.get_final_response().output_text, str)
    assert_type(c.responses.create(model="m", input="x"), Response)
"""

BAD = """
import rawgpt


async def main(c: rawgpt.AsyncClient) -> None:
    await c.responses.create(model="m", input="x", max_output_token=5)
    r = await c.responses.create(model="m", input="x")
    r.output_txt
    s = await c.responses.create(model="m", input="x", stream=True)
    s.get_final_completion()
    async for event in s:
        event.delta
"""


def test_sdk_style_code_type_checks_and_typos_are_errors(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    out, err, _ = api.run(
        ["--strict", "--no-incremental", "--python-version", "3.11", str(tmp_path)]
    )
    report = out + err
    assert "good.py" not in report, report
    assert 'Unexpected keyword argument "max_output_token"' in report, report
    assert '"Response" has no attribute "output_txt"' in report, report
    assert 'has no attribute "get_final_completion"' in report, report
    assert 'has no attribute "delta"' in report, report  # not every event has a delta
