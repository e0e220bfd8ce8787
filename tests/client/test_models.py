"""Tests for rawgpt.types: thin attribute views over parsed JSON, typed like the SDK."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from rawgpt import types
from rawgpt.types import ListView, Response, View


def completion_body() -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 3,
            "total_tokens": 12,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def tool_body() -> dict[str, Any]:
    body = completion_body()
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_time", "arguments": "{}"},
            },
        ],
    }
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


def completion(
    body: dict[str, Any] | None = None, request_id: str | None = "req_1"
) -> types.ChatCompletion:
    return types.ChatCompletion(body if body is not None else completion_body(), request_id)


def chunk(body: dict[str, Any]) -> types.ChatCompletionChunk:
    return types.ChatCompletionChunk(body)


# --------------------------------------------------------------------------- attribute access


def test_attribute_access_at_every_depth() -> None:
    r = completion()
    assert r.id == "chatcmpl-123"
    assert r.created == 1_700_000_000
    assert r.choices[0].message.content == "Hello!"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].index == 0
    assert r.usage is not None
    assert r.usage.total_tokens == 12
    assert r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.system_fingerprint == "fp_1"


def test_explicit_null_reads_as_none() -> None:
    r = completion()
    assert r.choices[0].message.refusal is None
    assert r.choices[0].logprobs is None


def test_known_but_missing_fields_read_as_none() -> None:
    r = completion()
    message = r.choices[0].message
    assert message.tool_calls is None  # a plain answer
    assert message.function_call is None
    assert message.audio is None
    assert message.annotations is None
    assert r.service_tier is None
    assert r.usage is not None
    assert r.usage.completion_tokens_details is None
    assert r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens_details.audio_tokens is None


def test_chunk_with_empty_delta() -> None:
    c = chunk(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
        }
    )
    delta = c.choices[0].delta
    assert isinstance(delta, View)
    assert delta.content is None
    assert delta.role is None
    assert delta.tool_calls is None
    assert delta.refusal is None
    assert c.choices[0].finish_reason == "stop"
    assert c.usage is None


def test_usage_chunk_with_empty_choices() -> None:
    c = chunk(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        }
    )
    assert len(c.choices) == 0
    assert list(c.choices) == []
    assert c.usage is not None
    assert c.usage.total_tokens == 3


def test_typo_raises_attribute_error_naming_the_field() -> None:
    message = completion().choices[0].message
    with pytest.raises(AttributeError, match="contnet"):
        _ = message.contnet  # type: ignore[attr-defined]  # the typo is the point
    with pytest.raises(AttributeError) as info:
        _ = completion().usgae  # type: ignore[attr-defined]  # the typo is the point
    assert "usgae" in str(info.value)
    assert "ChatCompletion" in str(info.value)
    assert not hasattr(message, "contnet")
    assert getattr(message, "contnet", "fallback") == "fallback"


def test_typo_on_nested_usage_raises() -> None:
    usage = completion().usage
    assert usage is not None  # so the AttributeError below is the typo's, not None's
    with pytest.raises(AttributeError, match="total_token"):
        _ = usage.total_token  # type: ignore[attr-defined]  # the typo is the point


def test_unknown_field_present_in_the_body_reads() -> None:
    body = completion_body()
    body["brand_new_field"] = {"nested": [1, 2]}
    body["choices"][0]["message"]["reasoning_content"] = "thinking..."
    r = completion(body)
    assert r.brand_new_field.nested == [1, 2]  # type: ignore[attr-defined]  # not in the class: read from the body
    assert r.choices[0].message.reasoning_content == "thinking..."  # type: ignore[attr-defined]  # ditto


def test_undescribed_object_is_open_body_keys_only() -> None:
    body = completion_body()
    body["extra"] = {"a": 1}
    extra = completion(body).extra  # type: ignore[attr-defined]  # not in the class: read from the body
    assert extra.a == 1
    with pytest.raises(AttributeError, match="'b'"):
        _ = extra.b


def test_plain_view_has_no_schema() -> None:
    v = View({"x": 1})
    assert v.x == 1  # type: ignore[attr-defined]  # a plain View reads any body key
    with pytest.raises(AttributeError):
        _ = v.y  # type: ignore[attr-defined]  # absent from the body


def test_tool_calls_are_wrapped_at_depth() -> None:
    body = tool_body()
    del body["choices"][0]["message"]["tool_calls"][1]["id"]
    r = completion(body)
    calls = r.choices[0].message.tool_calls
    assert isinstance(calls, ListView)
    assert len(calls) == 2
    first, second = calls
    assert first.type == "function" and second.type == "function"
    assert first.id == "call_1"
    assert first.function.name == "get_weather"
    assert orjson.loads(first.function.arguments) == {"city": "Paris"}
    assert second.function.name == "get_time"
    assert r.choices[0].message.content is None
    # shapes carry through lists: a missing known field of a tool call reads None
    # (read as object: the class types it str, which this body breaks)
    missing: object = second.id
    assert missing is None
    with pytest.raises(AttributeError, match="nmae"):
        _ = first.function.nmae  # type: ignore[attr-defined]


def test_tool_calls_are_told_apart_by_type() -> None:
    body = tool_body()
    calls_body = body["choices"][0]["message"]["tool_calls"]
    calls_body[1] = {"id": "call_2", "type": "custom", "custom": {"name": "sql", "input": "x"}}
    calls_body.append({"id": "call_3", "function": {"name": "f", "arguments": "{}"}})
    calls_body.append({"id": "call_4", "type": "newer_kind", "newer": {}})
    calls = completion(body).choices[0].message.tool_calls
    assert calls is not None
    kinds = [type(c) for c in calls]
    assert kinds == [
        types.ChatCompletionMessageFunctionToolCall,
        types.ChatCompletionMessageCustomToolCall,
        types.ChatCompletionMessageFunctionToolCall,  # no type (some servers): the first
        View,  # a newer type: a plain view, its fields pass
    ]
    assert [type(c) for c in calls[1:3]] == kinds[1:3]  # slices pick too
    custom = calls[1]
    assert isinstance(custom, types.ChatCompletionMessageCustomToolCall)
    assert custom.custom.input == "x"
    untyped = calls[2]
    assert isinstance(untyped, types.ChatCompletionMessageFunctionToolCall)
    assert untyped.function.name == "f" and untyped.type is None
    newer: Any = calls[3]
    assert newer.newer.to_dict() == {}
    with pytest.raises(AttributeError):
        _ = newer.function


def test_logprobs_are_wrapped() -> None:
    body = completion_body()
    body["choices"][0]["logprobs"] = {
        "content": [
            {
                "token": "Hello",
                "logprob": -0.1,
                "bytes": [72, 101],
                "top_logprobs": [{"token": "Hello", "logprob": -0.1, "bytes": None}],
            }
        ]
    }
    lp = completion(body).choices[0].logprobs
    assert lp is not None
    assert lp.refusal is None
    assert lp.content is not None
    assert lp.content[0].token == "Hello"
    assert lp.content[0].logprob == -0.1
    assert lp.content[0].bytes == [72, 101]
    assert lp.content[0].top_logprobs[0].token == "Hello"


def test_embeddings_shape() -> None:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    r = types.CreateEmbeddingResponse(body, "req_e")
    assert r.data[0].embedding == [0.1, -0.2]
    assert r.data[0].index == 0
    assert r.usage.prompt_tokens == 2
    with pytest.raises(AttributeError):
        _ = r.data[0].embeddings  # type: ignore[attr-defined]  # the typo is the point


# --------------------------------------------------------------------------- dict access & identity


def test_to_dict_returns_the_same_dict() -> None:
    body = completion_body()
    r = completion(body)
    assert r.to_dict() is body
    assert r.model_dump() is body
    assert r.choices[0].message.to_dict() is body["choices"][0]["message"]
    assert r.usage is not None
    assert r.usage.to_dict() is body["usage"]


def test_views_are_live_over_the_dict() -> None:
    body = completion_body()
    r = completion(body)
    body["choices"][0]["message"]["content"] = "changed"
    assert r.choices[0].message.content == "changed"


def test_to_json_round_trips() -> None:
    body = completion_body()
    r = completion(body)
    assert orjson.loads(r.to_json()) == body
    assert orjson.loads(r.model_dump_json()) == body


def test_item_access() -> None:
    body = completion_body()
    r = completion(body)
    assert r["id"] == "chatcmpl-123"
    assert r["choices"][0]["message"]["content"] == "Hello!"
    assert r["usage"].total_tokens == 12
    assert r["choices"][0]["message"].tool_calls is None  # shape kept through item access
    with pytest.raises(KeyError):
        _ = r["nope"]
    with pytest.raises(KeyError):
        _ = r["choices"][0]["message"]["tool_calls"]


def test_contains_and_get() -> None:
    r = completion()
    assert "id" in r
    assert "usage" in r
    assert "service_tier" not in r  # known to the schema, absent from the body
    assert r.get("service_tier") is None
    assert r.get("service_tier", "default") == "default"
    assert r.get("usage").total_tokens == 12
    assert r.get("model") == "gpt-4o-mini"


def test_dir_lists_schema_and_body_fields() -> None:
    body = completion_body()
    body["extra_field"] = 1
    names = dir(completion(body))
    assert {"id", "choices", "usage", "service_tier", "extra_field", "to_dict"} <= set(names)


# --------------------------------------------------------------------------- equality, repr


def test_equality() -> None:
    assert completion() == completion()
    assert completion() == View(completion_body())
    other = completion_body()
    other["id"] = "chatcmpl-999"
    assert completion() != completion(other)
    assert completion().choices[0] == completion().choices[0]
    assert completion().choices[0].message != completion(tool_body()).choices[0].message


def test_view_is_not_equal_to_unrelated_objects() -> None:
    assert completion() != 42
    assert completion() != "chatcmpl-123"


def test_views_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(completion())
    with pytest.raises(TypeError):
        hash(completion().choices)


def test_repr_contains_the_class_name_and_data() -> None:
    r = completion()
    text = repr(r)
    assert text.startswith("ChatCompletion(")
    assert "chatcmpl-123" in text
    assert repr(r.choices[0].message).startswith("ChatCompletionMessage(")
    assert repr(r.usage).startswith("CompletionUsage(")
    c = chunk({"choices": [{"index": 0, "delta": {"content": "x"}}]})
    assert repr(c).startswith("ChatCompletionChunk(")
    assert repr(c.choices[0].delta).startswith("ChoiceDelta(")
    assert repr(r.choices).startswith("[Choice(")


# --------------------------------------------------------------------------- ListView


def test_list_view_sequence_protocol() -> None:
    r = completion(tool_body())
    calls = r.choices[0].message.tool_calls
    assert isinstance(calls, Sequence)
    assert [c.id for c in calls] == ["call_1", "call_2"]
    assert calls[-1].id == "call_2"
    sliced = calls[0:1]
    assert isinstance(sliced, list)
    assert len(sliced) == 1
    assert isinstance(sliced[0], types.ChatCompletionMessageFunctionToolCall)
    assert sliced[0].function.name == "get_weather"
    with pytest.raises(IndexError):
        _ = calls[2]
    assert bool(completion().choices) is True
    assert bool(ListView([], None)) is False


def test_list_view_of_scalars() -> None:
    lv: ListView[int] = ListView([1, 2, 3], None)
    assert list(lv) == [1, 2, 3]
    assert lv == [1, 2, 3]
    assert lv != [1, 2]
    assert lv == ListView([1, 2, 3], None)
    assert repr(lv) == "[1, 2, 3]"


def test_list_view_of_lists_wraps_inner_lists() -> None:
    lv: ListView[ListView[int]] = ListView([[1, 2], [3]], None)
    assert isinstance(lv[0], ListView)
    assert lv[0][1] == 2


def test_list_view_equals_its_raw_list() -> None:
    # A ListView compares equal to the list it wraps, whatever the items are.
    raw = [{"index": 0, "message": {"content": "hi"}}]
    lv: ListView[View] = ListView(raw, None)
    assert lv == ListView(raw, None)
    assert lv == raw


# --------------------------------------------------------------------------- Response


def test_response_request_id() -> None:
    r = completion(request_id="req_abc")
    assert r.request_id == "req_abc"
    assert r._request_id == "req_abc"
    assert completion(request_id=None).request_id is None


def test_response_is_a_view() -> None:
    r = completion()
    assert isinstance(r, View)
    assert isinstance(r.choices[0], View)
    assert not isinstance(r.choices[0], Response)


def test_body_field_named_request_id_does_not_shadow_the_header() -> None:
    body = completion_body()
    body["request_id"] = "from-body"
    assert completion(body, request_id="from-header").request_id == "from-header"


# --------------------------------------------------------------------------- copy / pickle


def test_copy_and_deepcopy() -> None:
    body = completion_body()
    v = types.ChatCompletion(body)
    shallow = copy.copy(v)
    assert shallow == v
    assert shallow.to_dict() is body
    deep = copy.deepcopy(v)
    assert deep == v
    assert deep.to_dict() is not body
    assert deep.choices[0].message.content == "Hello!"


def test_pickle_round_trip() -> None:
    r = completion(request_id="req_p")
    back = pickle.loads(pickle.dumps(r))
    assert back == r
    assert back.request_id == "req_p"
    assert back.choices[0].message.tool_calls is None


def test_list_view_takes_any_integer_index() -> None:
    class Index(int):
        pass

    r = completion(tool_body())
    assert r.choices[Index(0)].finish_reason == "tool_calls"
    calls = r.choices[0].message.tool_calls
    assert calls is not None
    first = calls[Index(1)]
    assert isinstance(first, types.ChatCompletionMessageFunctionToolCall)
    assert first.function.name == "get_time"


def test_headers_read_any_case_and_stay_read_only_through_pickle() -> None:
    r = types.ChatCompletion(completion_body(), headers={"x-request-id": "req_9", "x-a": "1"})
    for view in (r, pickle.loads(pickle.dumps(r)), copy.deepcopy(r)):
        assert view.request_id == "req_9"
    back = pickle.loads(pickle.dumps(r))
    assert back.headers["X-A"] == "1" and "X-REQUEST-ID" in back.headers
    with pytest.raises(TypeError):
        back.headers["x-b"] = "2"
