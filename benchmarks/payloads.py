"""The canned responses: a realistic ``chat.completion``, a 200-event stream, and a
Responses API stream of the same text (``RESPONSES_EVENTS`` events).

Built once, as bytes, by the server (``benchmarks.procs.canned``); the workers use
the same functions to know what content a complete answer carries. Headers
mimic OpenAI's: ``x-request-id`` (a fresh one per response, spliced in by the
server) and the ``x-ratelimit-*`` family.
"""

from __future__ import annotations

from typing import Any

import orjson

STREAM_EVENTS = 200  # role chunk + content chunks + finish chunk
RESPONSES_DELTAS = STREAM_EVENTS - 2  # the same text as the chat stream, one delta per token
RESPONSES_EVENTS = RESPONSES_DELTAS + 8  # created, in_progress, added x2, done x3, completed
MODEL = "gpt-4o-mini-2024-07-18"
_WORDS = [
    "The",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "a",
    "patient",
    "benchmark",
    "counts",
    "every",
    "byte",
    "that",
    "crosses",
    "the",
    "loopback",
    "interface",
    "and",
    "keeps",
    "careful",
    "notes",
    "about",
    "the",
    "time",
    "spent",
]


def content_tokens(count: int) -> list[str]:
    """``count`` token-sized pieces of text, as a model would stream them."""
    return [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(count)]


def completion_body() -> bytes:
    """A realistic non-streamed ``chat.completion`` (about 100 tokens of content)."""
    content = "".join(content_tokens(100)) + "."
    return orjson.dumps(
        {
            "id": "chatcmpl-BenchAbCdEfGhIjKlMnOpQrStUvWxYz",
            "object": "chat.completion",
            "created": 1730000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 25,
                "completion_tokens": 101,
                "total_tokens": 126,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_0ba0d124f1",
        }
    )


def _chunk(delta: dict[str, Any], finish: str | None, n: int) -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-BenchStreamAbCdEfGhIjKlMnOpQrSt",
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": MODEL,
            "service_tier": "default",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "obfuscation": "xY3z"[: 1 + n % 4],
        }
    )


def stream_content() -> str:
    """The text the stream carries (what a client should reassemble)."""
    return "".join(content_tokens(STREAM_EVENTS - 2))


def stream_events() -> list[bytes]:
    """The SSE events of one streamed completion, ``[DONE]`` last."""
    events = [_chunk({"role": "assistant", "content": "", "refusal": None}, None, 0)]
    events += [
        _chunk({"content": t}, None, i + 1) for i, t in enumerate(content_tokens(STREAM_EVENTS - 2))
    ]
    events.append(_chunk({}, "stop", STREAM_EVENTS))
    return [b"data: " + e + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _response(status: str, text: str | None) -> dict[str, Any]:
    """A Responses API ``response`` object, as OpenAI streams it (with its echoed settings)."""
    output = []
    if text is not None:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        output = [{"id": "msg_bench", "type": "message", "status": "completed",
                   "content": [part], "role": "assistant"}]  # fmt: skip
    usage = None
    if status == "completed":
        usage = {"input_tokens": 25, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": RESPONSES_DELTAS, "output_tokens_details":
                 {"reasoning_tokens": 0}, "total_tokens": 25 + RESPONSES_DELTAS}  # fmt: skip
    return {
        "id": "resp_bench0123456789abcdef", "object": "response", "created_at": 1730000000,
        "status": status, "background": False, "error": None, "incomplete_details": None,
        "instructions": None, "max_output_tokens": 100, "max_tool_calls": None, "model": MODEL,
        "output": output, "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
        "store": True, "temperature": 1.0, "text": {"format": {"type": "text"},
        "verbosity": "medium"}, "tool_choice": "auto", "tools": [], "top_logprobs": 0,
        "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
    }  # fmt: skip


def responses_events() -> list[bytes]:
    """The SSE events of one streamed Responses API answer carrying ``stream_content()``:
    created, in_progress, the message item and its part, one delta per token, the
    done events, and response.completed with the whole response."""
    text = stream_content()
    item = {"id": "msg_bench", "type": "message", "status": "in_progress", "content": [],
            "role": "assistant"}  # fmt: skip
    at = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", None)},
        {"type": "response.in_progress", "response": _response("in_progress", None)},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **at, "part": part},
    ]
    events += [
        {
            "type": "response.output_text.delta",
            **at,
            "delta": t,
            "logprobs": [],
            "obfuscation": "xY3z"[: 1 + i % 4],
        }
        for i, t in enumerate(content_tokens(RESPONSES_DELTAS))
    ]
    done = {**item, "status": "completed",
            "content": [{**part, "text": text}]}  # fmt: skip
    events += [
        {"type": "response.output_text.done", **at, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": {**part, "text": text}},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {"type": "response.completed", "response": _response("completed", text)},
    ]
    return [
        b"event: %s\ndata: %s\n\n"
        % (e["type"].encode(), orjson.dumps({"type": e["type"], "sequence_number": n, **e}))
        for n, e in enumerate(events)
    ]


def chunked(pieces: list[bytes]) -> list[bytes]:
    """``pieces`` in chunked transfer encoding, one chunk each, then the last chunk."""
    return [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]


_COMMON = (
    b"date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"access-control-expose-headers: X-Request-ID\r\n"
    b"openai-organization: user-benchmark\r\n"
    b"openai-processing-ms: 312\r\n"
    b"openai-version: 2020-10-01\r\n"
    b"x-ratelimit-limit-requests: 30000\r\n"
    b"x-ratelimit-limit-tokens: 150000000\r\n"
    b"x-ratelimit-remaining-requests: 29999\r\n"
    b"x-ratelimit-remaining-tokens: 149999975\r\n"
    b"x-ratelimit-reset-requests: 2ms\r\n"
    b"x-ratelimit-reset-tokens: 0s\r\n"
    b"strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"server: cloudflare\r\n"
    b"cf-cache-status: DYNAMIC\r\n"
    b'alt-svc: h3=":443"; ma=86400\r\n'
)


class Canned:
    """The precomputed responses, split where the per-response request id goes."""

    def __init__(self) -> None:
        body = completion_body()
        self.json_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + b"content-length: %d\r\n" % len(body)
            + _COMMON
            + b"x-request-id: req_"
        )
        self.json_tail = b"\r\n\r\n" + body
        self.stream_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\n" + _COMMON + b"x-request-id: req_"
        )
        self.stream_chunks = chunked(stream_events())
        self.stream_tail = b"\r\n\r\n" + b"".join(self.stream_chunks)
        self.responses_chunks = chunked(responses_events())
        self.responses_tail = b"\r\n\r\n" + b"".join(self.responses_chunks)
        missing = b'{"error":{"message":"Not found","type":"invalid_request_error"}}'
        self.not_found = (
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
            + b"content-length: %d\r\n\r\n" % len(missing)
            + missing
        )
