"""Tests for rawgpt.sse: WHATWG event-stream parsing, checked under every byte split."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest

from rawgpt.sse import DEFAULT_MAX_EVENT_BYTES, EventTooLargeError, ServerSentEvent, SSEDecoder

E = ServerSentEvent


def decode(
    chunks: Sequence[bytes | bytearray], max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES
) -> list[ServerSentEvent]:
    dec = SSEDecoder(max_event_bytes)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += dec.feed(chunk)
    assert dec.close() == []
    return events


CASES: list[tuple[str, bytes, list[ServerSentEvent]]] = [
    # --- WHATWG spec examples ---
    (
        "spec_stock",
        b"data: YHOO\ndata: +2\ndata: 10\n\n",
        [E(data="YHOO\n+2\n10")],
    ),
    (
        "spec_ids_and_comment",
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        b"data:  third event\n\n",
        [
            E(data="first event", id="1"),
            E(data="second event", id=""),
            E(data=" third event", id=""),
        ],
    ),
    (
        "spec_empty_data",
        b"data\n\ndata\ndata\n\ndata:\n",
        [E(data=""), E(data="\n")],
    ),
    (
        "spec_space_variants",
        b"data:test\n\ndata: test\n\n",
        [E(data="test"), E(data="test")],
    ),
    (
        "spec_event_types",
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        [E("add", "73857293"), E("remove", "2153"), E("add", "113411")],
    ),
    # --- line endings ---
    ("crlf", b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", [E(data="a\nb"), E(data="c")]),
    ("cr", b"data: a\rdata: b\r\rdata: c\r\r", [E(data="a\nb"), E(data="c")]),
    (
        "mixed",
        b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\rdata: e\n\n",
        [E(data="a\nb\nc"), E(data="d"), E(data="e")],
    ),
    ("cr_then_lf_lines", b"data: a\r\n\ndata: b\r\r\n", [E(data="a"), E(data="b")]),
    ("lf_cr_is_two_lines", b"data: a\n\rdata: b\n\n", [E(data="a"), E(data="b")]),
    ("crlf_crlf_blank", b"data: x\r\n\r\n\r\n\r\ndata: y\r\n\r\n", [E(data="x"), E(data="y")]),
    ("cr_inside_short_lines", b"a\rdata:1\r\r", [E(data="1")]),
    (
        "no_splitlines_extras",
        b"data: a\x0bb\x0cc\x1cd\xe2\x80\xa8e\x85f\n\n",
        [E(data="a\x0bb\x0cc\x1cd\u2028e\ufffdf")],
    ),
    # --- BOM ---
    ("bom", b"\xef\xbb\xbfdata: a\n\n", [E(data="a")]),
    ("bom_only_once", b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", []),
    ("bom_then_blank_line", b"\xef\xbb\xbf\ndata: a\n\n", [E(data="a")]),
    ("bom_not_at_start", b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [E(data="a")]),
    ("bom_in_value_kept", b"data: \xef\xbb\xbfa\n\n", [E(data="\ufeffa")]),
    ("partial_bom", b"\xef\xbbdata: a\n\n", []),
    # --- comments and fields ---
    ("comments", b":\n: hi\n:data: x\ndata: a\n: mid\ndata: b\n\n", [E(data="a\nb")]),
    ("only_comments", b": keep-alive\n\n: keep-alive\n\n", []),
    ("no_colon_data", b"data\n\n", [E(data="")]),
    ("no_colon_event", b"event\ndata: a\n\n", [E(data="a")]),
    ("two_spaces_keep_one", b"data:  a\nevent:  t\n\n", [E(" t", " a")]),
    ("tab_not_stripped", b"data:\ta\n\n", [E(data="\ta")]),
    ("trailing_space_kept", b"data: a \n\n", [E(data="a ")]),
    ("colon_in_value", b"data: a: b:c\n\n", [E(data="a: b:c")]),
    ("field_names_case_sensitive", b"Data: x\nDATA: y\nEvent: z\ndata: a\n\n", [E(data="a")]),
    ("field_name_with_space", b"data : x\n data: y\ndata: a\n\n", [E(data="a")]),
    ("unknown_fields", b"foo: bar\nx\ndata: a\nbaz:\n\n", [E(data="a")]),
    ("multiline_data", b"data: 1\ndata:\ndata: 3\n\n", [E(data="1\n\n3")]),
    ("empty_data_dispatches", b"data:\n\n", [E(data="")]),
    ("empty_data_space_dispatches", b"data: \n\n", [E(data="")]),
    ("blank_lines_no_data", b"\n\n\n\nevent: x\n\n", []),
    ("event_reset_without_data", b"event: x\n\ndata: a\n\n", [E(data="a")]),
    ("event_reset_after_dispatch", b"event: x\ndata: a\n\ndata: b\n\n", [E("x", "a"), E(data="b")]),
    ("event_last_wins", b"event: a\nevent: b\ndata: d\n\n", [E("b", "d")]),
    ("empty_event_is_none", b"event: x\nevent:\ndata: d\n\n", [E(data="d")]),
    ("event_after_data", b"data: d\nevent: late\n\n", [E("late", "d")]),
    # --- id ---
    (
        "id_persists",
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n",
        [E(data="a", id="1"), E(data="b", id="1"), E(data="c", id="2")],
    ),
    ("id_without_data_persists", b"id: 7\n\ndata: a\n\n", [E(data="a", id="7")]),
    (
        "id_nul_ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
    ),
    (
        "id_empty_resets",
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="")],
    ),
    ("id_unicode", b"id: \xc3\xa9t\xc3\xa9\ndata: a\n\n", [E(data="a", id="\u00e9t\u00e9")]),
    ("nul_in_data_kept", b"data: a\x00b\n\n", [E(data="a\x00b")]),
    # --- retry ---
    ("retry_valid", b"retry: 3000\ndata: a\n\n", [E(data="a", retry=3000)]),
    ("retry_no_space", b"retry:0\ndata: a\n\n", [E(data="a", retry=0)]),
    ("retry_invalid", b"retry: 3s\ndata: a\n\nretry: -1\ndata: b\n\n", [E(data="a"), E(data="b")]),
    ("retry_float_ignored", b"retry: 1.5\ndata: a\n\n", [E(data="a")]),
    ("retry_empty_ignored", b"retry:\ndata: a\n\n", [E(data="a")]),
    ("retry_unicode_digits_ignored", "retry: \u0661\u00b2\ndata: a\n\n".encode(), [E(data="a")]),
    ("retry_trailing_space_ignored", b"retry: 10 \ndata: a\n\n", [E(data="a")]),
    ("retry_not_carried", b"retry: 5\ndata: a\n\ndata: b\n\n", [E(data="a", retry=5), E(data="b")]),
    # --- end of stream ---
    ("unterminated_dropped", b"data: a\n\ndata: b\n", [E(data="a")]),
    ("unterminated_no_newline", b"data: a\n\ndata: b", [E(data="a")]),
    ("unterminated_cr", b"data: a\r\rdata: b\r", [E(data="a")]),
    ("empty_stream", b"", []),
    # --- encoding ---
    (
        "unicode_multibyte",
        "data: h\u00e9llo \u4e16\u754c \U0001f600\n\n".encode(),
        [E(data="h\u00e9llo \u4e16\u754c \U0001f600")],
    ),
    ("invalid_utf8", b"data: a\xffb\xc3\n\n", [E(data="a\ufffdb\ufffd")]),
    (
        "truncated_multibyte_before_lf",
        b"data: \xe4\xb8\ndata: \xf0\x9f\x98\n\n",
        [E(data="\ufffd\n\ufffd")],
    ),
    ("invalid_utf8_event", b"event: \x80x\ndata: a\n\n", [E("\ufffdx", "a")]),
    # --- OpenAI-shaped streams ---
    (
        "openai_chat",
        b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
        b'"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
        b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
        b": keep-alive\n\n"
        b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo \xe2\x9c\x93"}}]}\n\n'
        b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\n'
        b"data: [DONE]\n\n",
        [
            E(
                data='{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
                '"delta":{"role":"assistant","content":""},"finish_reason":null}]}'
            ),
            E(data='{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}'),
            E(data='{"id":"c1","choices":[{"index":0,"delta":{"content":"lo \u2713"}}]}'),
            E(data='{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'),
            E(data='{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}'),
            E(data="[DONE]"),
        ],
    ),
    (
        "openai_tool_calls",
        b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",'
        b'"function":{"name":"get_weather","arguments":""}}]}}]}\n\n'
        b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":'
        b'{"arguments":"{\\"ci"}}]}}]}\n\n'
        b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":'
        b'{"arguments":"ty\\": \\"Paris\\"}"}}]}}]}\n\n'
        b'data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}\n\n'
        b"data: [DONE]\n\n",
        [
            E(
                data='{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",'
                '"function":{"name":"get_weather","arguments":""}}]}}]}'
            ),
            E(
                data='{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"ci"}}]}}]}'
            ),
            E(
                data='{"choices":[{"delta":{"tool_calls":[{"index":0,"function":'
                '{"arguments":"ty\\": \\"Paris\\"}"}}]}}]}'
            ),
            E(data='{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}'),
            E(data="[DONE]"),
        ],
    ),
    (
        "openai_error_event",
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b'event: error\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\n',
        [
            E(data='{"choices":[{"delta":{"content":"Hi"}}]}'),
            E("error", '{"error":{"message":"overloaded","type":"server_error"}}'),
        ],
    ),
    (
        "openai_crlf_keepalive",
        b': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\n: keep-alive\r\n\r\ndata: [DONE]\r\n\r\n',
        [E(data='{"a":1}'), E(data="[DONE]")],
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_under_every_split(raw: bytes, expected: list[ServerSentEvent]) -> None:
    whole = decode([raw])
    assert whole == expected
    for i in range(len(raw) + 1):
        assert decode([raw[:i], raw[i:]]) == expected, f"split at byte {i}"
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == expected


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_random_splits_with_empty_feeds(raw: bytes, expected: list[ServerSentEvent]) -> None:
    rng = random.Random(len(raw))
    for _ in range(20):
        cuts = sorted(rng.randint(0, len(raw)) for _ in range(rng.randint(1, 6)))
        bounds = [0, *cuts, len(raw)]
        chunks = [raw[a:b] for a, b in itertools.pairwise(bounds)]
        assert decode(chunks) == expected, f"cuts {cuts}"


def test_bytearray_input() -> None:
    assert decode([bytearray(b"data: a\n"), bytearray(b"\n")]) == [E(data="a")]


def test_events_returned_per_feed() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: a\n") == []
    assert dec.feed(b"\ndata: b\n\ndata: c") == [E(data="a"), E(data="b")]
    assert dec.feed(b"\n\n") == [E(data="c")]
    assert dec.feed(b"") == []
    # A CR line end is acted on at once, without waiting to see if an LF follows.
    assert dec.feed(b"data: x\r\rdata: y") == [E(data="x")]
    assert dec.feed(b"\r") == []
    assert dec.feed(b"\r") == [E(data="y")]
    assert dec.feed(b"\n") == []  # the LF half of a CRLF split across feeds
    assert dec.feed(b"\n") == []  # a real blank line, with nothing to dispatch


def test_close_drops_unterminated_and_resets() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"id: 9\nevent: x\nretry: 5\ndata: a\n\nevent: y\ndata: partial\r") == [
        E("x", "a", "9", 5)
    ]
    assert dec.close() == []
    assert dec.close() == []
    # Fresh stream: no leftover data, event type, id or CR state; a BOM is stripped again.
    assert dec.feed(b"\n") == []  # would dispatch "partial" if the data buffer survived
    assert dec.feed(b"data: b\n\n") == [E(data="b")]
    assert dec.feed(b"data: c\r") == []
    assert dec.close() == []
    # The LF is a line of its own (not the tail of the old CRLF), so the BOM after it is
    # not at the stream start and its line is an unknown field.
    assert dec.feed(b"\n\xef\xbb\xbfdata: d\n\n") == []
    assert dec.close() == []
    assert dec.feed(b"\xef\xbb\xbfdata: c\n") == []
    assert dec.feed(b"\n") == [E(data="c")]


def test_huge_line_in_pieces() -> None:
    payload = (b"0123456789abcdef" * (4 * 1024 * 1024 // 16))[: 4 * 1024 * 1024]
    raw = b"data: " + payload + b"\n\n"
    dec = SSEDecoder()
    events: list[ServerSentEvent] = []
    step = 64 * 1024
    for i in range(0, len(raw), step):
        events += dec.feed(raw[i : i + step])
    assert dec.close() == []
    assert len(events) == 1
    assert events[0].data == payload.decode()


def test_huge_multibyte_line_split_inside_characters() -> None:
    text = "\u00e9\u4e16\U0001f600" * 100_000
    raw = ("data: " + text + "\r\n\r\n").encode()
    chunks = [raw[i : i + 65_531] for i in range(0, len(raw), 65_531)]
    assert decode(chunks) == [E(data=text)]


def test_server_sent_event_record() -> None:
    ev = ServerSentEvent("t", "d", "1", 10)
    assert (ev.event, ev.data, ev.id, ev.retry) == ("t", "d", "1", 10)
    assert ServerSentEvent() == ServerSentEvent(None, "", None, None)
    assert ev != ServerSentEvent("t", "d", "1", None)
    assert ev != ("t", "d", "1", 10)
    assert repr(ev) == "ServerSentEvent(event='t', data='d', id='1', retry=10)"
    assert not hasattr(ev, "__dict__")


# --------------------------------------------------------------------------- max_event_bytes


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bound_no_event_passes_changes_nothing(
    raw: bytes, expected: list[ServerSentEvent]
) -> None:
    bound = max(1, len(raw))
    for i in range(len(raw) + 1):
        assert decode([raw[:i], raw[i:]], bound) == expected, f"split at byte {i}"
    assert decode([raw[i : i + 1] for i in range(len(raw))], bound) == expected


def test_a_line_past_the_bound_raises_and_the_decoder_starts_afresh() -> None:
    dec = SSEDecoder(max_event_bytes=100)
    assert dec.feed(b"data: " + b"a" * 94) == []  # 100 bytes held: not past the bound
    with pytest.raises(EventTooLargeError, match=r"max_event_bytes \(100 bytes\)") as info:
        dec.feed(b"a")
    assert info.value.limit == 100
    assert isinstance(info.value, ValueError)
    assert dec.feed(b"data: ok\n\n") == [E(data="ok")]  # what was held is dropped


def test_an_event_past_the_bound_raises() -> None:
    """Data lines without the blank line that ends their event: 15 bytes a feed."""
    dec = SSEDecoder(max_event_bytes=100)
    for _ in range(6):
        assert dec.feed(b"data: 12345678\n") == []
    with pytest.raises(EventTooLargeError):
        dec.feed(b"data: 12345678\n")


def test_a_line_completed_by_a_feed_counts_with_its_event() -> None:
    dec = SSEDecoder(max_event_bytes=100)
    assert dec.feed(b"data: " + b"a" * 60) == []
    with pytest.raises(EventTooLargeError):
        dec.feed(b"b" * 40 + b"\ndata: c")  # a 107-byte line, its event still open


def test_events_at_the_bound_pass_under_any_split_and_one_byte_less_fails() -> None:
    """Each event's text before its blank line is 100 bytes: a bound of 100 never trips
    (the count is exact, whatever the feeds), 99 does once a feed ends after that text."""
    one = b"data: " + b"x" * 93 + b"\n"
    assert len(one) == 100
    raw = (one + b"\n") * 30
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.randint(0, len(raw)) for _ in range(rng.randint(1, 40)))
        chunks = [raw[a:b] for a, b in itertools.pairwise([0, *cuts, len(raw)])]
        assert len(decode(chunks, 100)) == 30, f"cuts {cuts}"
    with pytest.raises(EventTooLargeError):
        decode([one, b"\n"], 99)
    # Events kept apart: each open event is counted from its own start.
    assert len(decode([raw[:150], raw[150:310], raw[310:]], 100)) == 30


def test_the_default_bound_is_16_mib_and_none_means_none() -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 16 * 1024 * 1024
    piece = b"a" * (1024 * 1024)
    dec = SSEDecoder()
    assert dec.feed(b"data: ") == []
    with pytest.raises(EventTooLargeError):
        for _ in range(16):
            dec.feed(piece)
    dec = SSEDecoder(None)
    assert dec.feed(b"data: ") == []
    for _ in range(17):
        assert dec.feed(piece) == []
    assert dec.feed(b"\n\n")[0].data == "a" * 17 * 1024 * 1024


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "100"])
def test_a_bad_bound_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(value)  # type: ignore[arg-type]
