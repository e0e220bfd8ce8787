"""Tests for rawgpt._accumulate: merging chat.completion.chunk dicts into a chat.completion."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from rawgpt import types
from rawgpt._streaming.accumulate import Merged, accumulate, finished

TOP = {
    "id": "chatcmpl-abc",
    "object": "chat.completion.chunk",
    "created": 1_700_000_000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_44709d6fcb",
}


def ck(*choices: dict[str, Any], usage: Any = None, **top: Any) -> dict[str, Any]:
    """A chunk with the usual top-level fields (``usage: null`` as OpenAI sends it)."""
    return {**TOP, **top, "choices": list(choices), "usage": usage}


def part(
    index: int = 0,
    finish_reason: str | None = None,
    logprobs: Any = None,
    **delta: Any,
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}


USAGE = {
    "prompt_tokens": 10,
    "completion_tokens": 4,
    "total_tokens": 14,
    "prompt_tokens_details": {"cached_tokens": 0},
}


def test_plain_text_stream() -> None:
    chunks = [
        ck(part(role="assistant", content="", refusal=None)),
        ck(part(content="Hel")),
        ck(part(content="lo")),
        ck(part(content=" world")),
        ck(part(finish_reason="stop")),
    ]
    assert accumulate(chunks) == {
        "object": "chat.completion",
        "id": "chatcmpl-abc",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello world", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": None,
    }
    assert finished(chunks) is True


def test_include_usage_chunk_with_empty_choices() -> None:
    chunks = [
        ck(part(role="assistant", content="")),
        ck(part(content="Hi")),
        ck(part(finish_reason="stop")),
        ck(usage=USAGE),  # choices: [], usage set
    ]
    result = accumulate(chunks)
    assert result["usage"] == USAGE
    assert len(result["choices"]) == 1
    assert result["choices"][0]["message"]["content"] == "Hi"
    assert result["choices"][0]["finish_reason"] == "stop"
    assert finished(chunks) is True


def test_refusal_is_concatenated() -> None:
    chunks = [
        ck(part(role="assistant", content=None, refusal="")),
        ck(part(refusal="I can't ")),
        ck(part(refusal="help with that.")),
        ck(part(finish_reason="stop")),
    ]
    message = accumulate(chunks)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": None, "refusal": "I can't help with that."}


def test_tool_calls_merged_by_index_with_arguments_concatenated() -> None:
    chunks = [
        ck(part(role="assistant", content=None)),
        ck(
            part(
                tool_calls=[
                    {
                        "index": 0,
                        "id": "call_A",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            )
        ),
        ck(part(tool_calls=[{"index": 0, "function": {"arguments": '{"ci'}}])),
        ck(part(tool_calls=[{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}])),
        ck(
            part(
                tool_calls=[
                    {
                        "index": 1,
                        "id": "call_B",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            )
        ),
        ck(part(tool_calls=[{"index": 1, "function": {"arguments": '{"tz":'}}])),
        ck(part(tool_calls=[{"index": 1, "function": {"arguments": ' "CET"}'}}])),
        ck(part(finish_reason="tool_calls")),
    ]
    choice = accumulate(chunks)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_A",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "id": "call_B",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
        },
    ]
    args = [orjson.loads(c["function"]["arguments"]) for c in choice["message"]["tool_calls"]]
    assert args == [{"city": "Paris"}, {"tz": "CET"}]


def test_parallel_tool_calls_interleaved_by_index() -> None:
    chunks = [
        ck(
            part(
                tool_calls=[
                    {"index": 0, "id": "c0", "type": "function", "function": {"name": "a"}},
                    {"index": 1, "id": "c1", "type": "function", "function": {"name": "b"}},
                ]
            )
        ),
        ck(part(tool_calls=[{"index": 1, "function": {"arguments": "[1"}}])),
        ck(part(tool_calls=[{"index": 0, "function": {"arguments": "[0"}}])),
        ck(part(tool_calls=[{"index": 1, "function": {"arguments": "]"}}])),
        ck(part(tool_calls=[{"index": 0, "function": {"arguments": "]"}}])),
        ck(part(finish_reason="tool_calls")),
    ]
    calls = accumulate(chunks)["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("c0", "a", "[0]"),
        ("c1", "b", "[1]"),
    ]


def test_n_greater_than_one_interleaved_choices() -> None:
    chunks = [
        ck(part(0, role="assistant", content="")),
        ck(part(1, role="assistant", content="")),
        ck(part(2, role="assistant", content="")),
        ck(part(1, content="B1")),
        ck(part(0, content="A1")),
        ck(part(2, content="C1")),
        ck(part(0, content="A2")),
        ck(part(1, "length", content="B2")),
        ck(part(0, finish_reason="stop")),
        ck(part(2, content="C2")),
        ck(part(2, finish_reason="content_filter")),
        ck(usage=USAGE),
    ]
    result = accumulate(chunks)
    choices = result["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert [c["message"]["content"] for c in choices] == ["A1A2", "B1B2", "C1C2"]
    assert [c["finish_reason"] for c in choices] == ["stop", "length", "content_filter"]
    assert result["usage"] == USAGE
    assert finished(chunks) is True


def test_choices_sorted_by_index_even_if_a_higher_index_comes_first() -> None:
    chunks = [ck(part(1, content="second")), ck(part(0, content="first"))]
    result = accumulate(chunks)
    assert [c["index"] for c in result["choices"]] == [0, 1]
    assert [c["message"]["content"] for c in result["choices"]] == ["first", "second"]


def test_finish_reason_is_per_choice() -> None:
    chunks = [
        ck(part(0, content="a"), part(1, content="b")),
        ck(part(0, finish_reason="stop")),
    ]
    result = accumulate(chunks)
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["choices"][1]["finish_reason"] is None
    assert finished(chunks) is False


def test_last_finish_reason_wins_and_null_does_not_erase() -> None:
    chunks = [
        ck(part(content="x", finish_reason="length")),
        ck(part(content="y", finish_reason=None)),
    ]
    assert accumulate(chunks)["choices"][0]["finish_reason"] == "length"


def test_logprobs_are_appended() -> None:
    t1 = {"token": "Hel", "logprob": -0.1, "bytes": [72, 101, 108], "top_logprobs": []}
    t2 = {"token": "lo", "logprob": -0.2, "bytes": [108, 111], "top_logprobs": []}
    t3 = {"token": "!", "logprob": -0.3, "bytes": [33], "top_logprobs": []}
    chunks = [
        ck(part(role="assistant", content="", logprobs={"content": [], "refusal": None})),
        ck(part(content="Hel", logprobs={"content": [t1], "refusal": None})),
        ck(part(content="lo!", logprobs={"content": [t2, t3], "refusal": None})),
        ck(part(finish_reason="stop")),
    ]
    choice = accumulate(chunks)["choices"][0]
    assert choice["message"]["content"] == "Hello!"
    assert choice["logprobs"]["content"] == [t1, t2, t3]
    assert choice["logprobs"].get("refusal") is None


def test_no_logprobs_stays_none() -> None:
    assert accumulate([ck(part(content="x"))])["choices"][0]["logprobs"] is None


def test_top_level_fields_come_from_the_first_chunk_that_has_them() -> None:
    chunks: list[dict[str, Any]] = [
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []},
        {"id": "chatcmpl-2", "created": 5, "model": "m", "service_tier": "default", "choices": []},
        {"id": "chatcmpl-3", "created": 6, "model": "n", "choices": []},
    ]
    result = accumulate(chunks)
    assert result["id"] == "chatcmpl-1"
    assert result["created"] == 5
    assert result["model"] == "m"
    assert result["service_tier"] == "default"
    assert result["object"] == "chat.completion"


def test_empty_stream() -> None:
    assert accumulate([]) == {"object": "chat.completion", "choices": [], "usage": None}
    assert finished([]) is False


def test_usage_only_stream_is_not_finished() -> None:
    assert finished([ck(usage=USAGE)]) is False


def test_stream_cut_before_finish_is_not_finished() -> None:
    chunks = [ck(part(role="assistant", content="")), ck(part(content="partial"))]
    assert finished(chunks) is False
    assert accumulate(chunks)["choices"][0]["finish_reason"] is None


def test_input_chunks_are_not_mutated() -> None:
    chunks = [
        ck(part(role="assistant", content="")),
        ck(
            part(
                tool_calls=[
                    {"index": 0, "id": "c", "type": "function", "function": {"name": "f"}},
                ]
            )
        ),
        ck(part(tool_calls=[{"index": 0, "function": {"arguments": "{}"}}])),
        ck(part(content="x", logprobs={"content": [{"token": "x", "logprob": 0.0}]})),
        ck(part(content="y", logprobs={"content": [{"token": "y", "logprob": 0.0}]})),
        ck(part(finish_reason="stop")),
    ]
    before = copy.deepcopy(chunks)
    accumulate(chunks)
    accumulate(chunks)
    assert chunks == before


def test_accumulating_twice_gives_the_same_result() -> None:
    chunks = [ck(part(content="a")), ck(part(content="b", finish_reason="stop"))]
    assert accumulate(chunks) == accumulate(chunks)


def test_result_reads_through_the_completion_view() -> None:
    chunks = [
        ck(part(role="assistant", content="")),
        ck(part(content="Hi")),
        ck(part(finish_reason="stop")),
        ck(usage=USAGE),
    ]
    r = types.ChatCompletion(accumulate(chunks), "req_1")
    assert r.choices[0].message.content == "Hi"
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.total_tokens == 14
    assert r.object == "chat.completion"


def test_null_delta_values_do_not_erase_accumulated_text() -> None:
    chunks = [
        ck(part(role="assistant", content="abc")),
        ck(part(content=None, refusal=None, tool_calls=None)),
        ck(part(content="def", finish_reason="stop")),
    ]
    message = accumulate(chunks)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "abcdef", "refusal": None}


def test_legacy_function_call_arguments_are_concatenated() -> None:
    # The deprecated ``functions`` parameter streams ``delta.function_call`` pieces the
    # same way tool calls stream their function: name once, arguments in pieces.
    chunks = [
        ck(part(role="assistant", content=None, function_call={"name": "f", "arguments": ""})),
        ck(part(function_call={"arguments": '{"a"'})),
        ck(part(function_call={"arguments": ": 1}"})),
        ck(part(finish_reason="function_call")),
    ]
    message = accumulate(chunks)["choices"][0]["message"]
    assert message["function_call"] == {"name": "f", "arguments": '{"a": 1}'}


# ----------------------------------------------------------------- one rule for every field


def test_reasoning_content_pieces_are_concatenated() -> None:
    """vLLM, DeepSeek and llama.cpp stream the reasoning in ``reasoning_content``."""
    chunks = [
        ck(part(role="assistant", content="", reasoning_content=None)),
        ck(part(reasoning_content="Let me ")),
        ck(part(reasoning_content="think.")),
        ck(part(content="Hi", reasoning_content=None)),
        ck(part(finish_reason="stop")),
    ]
    message = accumulate(chunks)["choices"][0]["message"]
    assert message["reasoning_content"] == "Let me think."
    assert message["content"] == "Hi"


def test_openrouter_reasoning_and_its_details_merge() -> None:
    """OpenRouter: ``reasoning`` text, and ``reasoning_details`` pieces by index whose
    type and format repeat in every piece."""
    detail = {"type": "reasoning.text", "format": "unknown", "index": 0}
    chunks = [
        ck(part(role="assistant", content="", reasoning="Let me ")),
        ck(part(reasoning="think.", reasoning_details=[{**detail, "text": "Let me "}])),
        ck(part(reasoning_details=[{**detail, "text": "think."}])),
        ck(part(content="ok", finish_reason="stop")),
    ]
    message = accumulate(chunks)["choices"][0]["message"]
    assert message["reasoning"] == "Let me think."
    assert message["reasoning_details"] == [
        {"type": "reasoning.text", "format": "unknown", "text": "Let me think."}
    ]


def test_audio_pieces_merge() -> None:
    """Audio output: the id once, data and transcript concatenated, expires_at the latest."""
    chunks = [
        ck(part(role="assistant", content=None, audio={"id": "audio_1", "transcript": "Hel"})),
        ck(part(audio={"id": "audio_1", "data": "AAAA", "transcript": "lo"})),
        ck(
            part(audio={"data": "BBBB", "expires_at": 1}),
        ),
        ck(part(audio={"id": "audio_1", "expires_at": 2, "transcript": "!"})),
        ck(part(finish_reason="stop")),
    ]
    message = accumulate(chunks)["choices"][0]["message"]
    assert message["audio"] == {
        "id": "audio_1",
        "transcript": "Hello!",
        "data": "AAAABBBB",
        "expires_at": 2,
    }
    assert message["content"] is None


def test_fields_rawgpt_does_not_know_follow_the_rule() -> None:
    """Strings concatenate, numbers and bools keep the latest, lists of tokens extend,
    objects merge field by field; a choice's own fields keep the latest non-null."""
    chunks = [
        ck(part(x_text="a", x_count=1, x_flag=False, x_list=[1], x_obj={"id": "o", "t": "p"})),
        {**ck(part(x_text="b", x_count=2, x_list=[2, 3], x_obj={"id": "o2", "t": "q"})), "z": 1},
        ck({**part(finish_reason="stop", x_flag=True), "stop_reason": 7, "native": "end"}),
        ck({**part(), "stop_reason": None}),
    ]
    choice = accumulate(chunks)["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "x_text": "ab",
        "x_count": 2,
        "x_flag": True,
        "x_list": [1, 2, 3],
        "x_obj": {"id": "o", "t": "pq"},
    }
    assert (choice["finish_reason"], choice["stop_reason"], choice["native"]) == ("stop", 7, "end")


def test_a_tool_call_id_in_every_chunk_is_kept_once_and_an_empty_later_name_ignored() -> None:
    call = {"index": 0, "id": "call_A", "type": "function"}
    chunks = [
        ck(part(tool_calls=[{**call, "function": {"name": "get_weather", "arguments": ""}}])),
        ck(part(tool_calls=[{**call, "function": {"name": "", "arguments": '{"a"'}}])),
        ck(part(tool_calls=[{**call, "function": {"name": None, "arguments": ": 1}"}}])),
        ck(part(finish_reason="tool_calls")),
    ]
    [merged] = accumulate(chunks)["choices"][0]["message"]["tool_calls"]
    assert merged == {
        "id": "call_A",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"a": 1}'},
    }


def test_a_custom_tool_call_keeps_its_type() -> None:
    first = {"index": 0, "id": "c", "type": "custom", "custom": {"name": "sql", "input": "SEL"}}
    chunks = [
        ck(part(tool_calls=[first])),
        ck(part(tool_calls=[{"index": 0, "custom": {"input": "ECT 1"}}])),
    ]
    [call] = accumulate(chunks)["choices"][0]["message"]["tool_calls"]
    assert call["type"] == "custom"
    assert call["custom"] == {"name": "sql", "input": "SELECT 1"}


def test_merged_one_chunk_at_a_time_holds_no_chunk() -> None:
    """Merged keeps what the chunks add up to: a long text in many pieces comes out
    whole, and what it holds does not grow by a list entry per piece."""
    merged = Merged()
    words = [f"w{i} " for i in range(5000)]
    merged.add(ck(part(role="assistant", content="")))
    for word in words:
        merged.add(ck(part(content=word, logprobs={"content": [{"token": word}]})))
    merged.add(ck(part(finish_reason="stop"), usage=USAGE))
    assert merged.count == 5002 and merged.finished and merged.usage == USAGE
    held = merged.choices[0]["message"]["content"]
    assert len(held) <= 257  # pieces are joined as they come, not kept one by one
    result = merged.result()
    choice = result["choices"][0]
    assert choice["message"]["content"] == "".join(words)
    assert [t["token"] for t in choice["logprobs"]["content"]] == words
    assert result["usage"] == USAGE and result["id"] == TOP["id"]


def test_a_result_shares_nothing_with_what_is_merged_after_it() -> None:
    merged = Merged()
    merged.add(ck(part(content="a", tool_calls=[{"index": 0, "function": {"arguments": "["}}])))
    first = merged.result()
    first["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "changed"
    merged.add(ck(part(content="b", tool_calls=[{"index": 0, "function": {"arguments": "]"}}])))
    second = merged.result()
    assert second["choices"][0]["message"]["content"] == "ab"
    assert second["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == "[]"
    assert first["choices"][0]["message"]["content"] == "a"
