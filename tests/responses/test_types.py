"""The Responses API's views: a class per output item, part and event, picked by ``type``."""

from __future__ import annotations

import pickle
from typing import Literal

import rawgpt
from rawgpt.types import ListView, View
from rawgpt.types import responses as types


class Cat(View):
    type: Literal["cat"]
    meows: int


class Dog(View):
    type: Literal["dog"]
    barks: int


class Pets(View):
    """Annotations unparsed under PEP 563 quote with ', not ": the tags are read alike."""

    pets: ListView[Cat | Dog]
    best: Cat | Dog | None


def test_a_union_field_picks_the_class_by_type() -> None:
    pets = Pets({"pets": [{"type": "dog", "barks": 2}, {"type": "cat", "meows": 1},
                          {"type": "fish"}], "best": {"type": "cat", "meows": 9}})  # fmt: skip
    dog, cat, fish = pets.pets
    assert type(dog) is Dog and dog.barks == 2
    assert type(cat) is Cat and cat.meows == 1
    assert type(fish) is View  # a type newer than the classes: a plain view
    assert type(pets.best) is Cat and pets.pets[1] == cat


BODY = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "output": [
        {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Hm."}]},
        {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Hello", "annotations": []},
                     {"type": "refusal", "refusal": "no"},
                     {"type": "output_text", "text": " there", "annotations": [
                         {"type": "url_citation", "url": "https://x", "title": "X",
                          "start_index": 0, "end_index": 1}]}]},
        {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"id": "msg_2", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "!", "annotations": []}]},
    ],
    "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 2},
              "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 3},
              "total_tokens": 12},
}  # fmt: skip


def test_response_output_items_parts_and_output_text() -> None:
    r = types.Response(BODY, headers={"x-request-id": "req_9"})
    reasoning, msg, call, _ = r.output
    assert isinstance(reasoning, types.ResponseReasoningItem)
    assert isinstance(reasoning.summary[0], types.Summary) and reasoning.summary[0].text == "Hm."
    assert isinstance(msg, types.ResponseOutputMessage)
    text, refusal, cited = msg.content
    assert isinstance(text, types.ResponseOutputText)
    assert isinstance(refusal, types.ResponseOutputRefusal) and refusal.refusal == "no"
    assert isinstance(cited, types.ResponseOutputText)
    assert isinstance(cited.annotations[0], types.AnnotationURLCitation)
    assert isinstance(call, types.ResponseFunctionToolCall) and call.status is None
    assert r.output_text == "Hello there!"  # every output_text part, refusals left out
    assert r.usage is not None and r.usage.input_tokens_details.cached_tokens == 2
    assert r.error is None and r.incomplete_details is None and r.request_id == "req_9"
    assert types.Response({"id": "r", "output": []}).output_text == ""
    assert types.Response({"id": "r"}).output_text == ""
    again = pickle.loads(pickle.dumps(r))
    assert again.output_text == r.output_text and again.request_id == "req_9"
    assert isinstance(r, rawgpt.Response)


def test_every_event_class_has_its_type() -> None:
    assert len(types.EVENT_CLASSES) == len(types.ResponseStreamEvent.__args__)
    for kind, cls in types.EVENT_CLASSES.items():
        assert cls({"type": kind})["type"] == kind
        assert "sequence_number" in cls._fields
    delta = types.EVENT_CLASSES["response.output_text.delta"]
    assert delta is types.ResponseTextDeltaEvent
