"""SSE decoding speed: rawgpt's decoder vs the SDK's vs httpx-sse's, on the same bytes.

``python -m benchmarks.scenarios.sse [--megabytes M] [--repeats R]`` prints one JSON
line. The input is the canned server's 200-event chat stream (OpenAI-shaped
``chat.completion.chunk`` events, ``data: [DONE]`` last), repeated to about M
megabytes, cut three ways: one piece per event (a live stream, read as each
token is flushed), 1,500-byte pieces (TCP segments, lines split anywhere) and
64 KiB pieces (a burst read at once). Each decoder is driven the way its
library drives it:

- ``rawgpt``: ``rawgpt.sse.SSEDecoder().feed(piece)`` per piece;
- ``sdk``: ``openai._streaming.SSEDecoder().iter_bytes(pieces)``, the code path of
  the SDK's ``Stream`` / ``AsyncStream`` (its byte line splitter, then ``decode(line)``);
- ``httpx-sse``: what ``EventSource.iter_sse`` does: an incremental UTF-8 text
  decoder (as ``httpx.Response.iter_text``), ``SSELineDecoder``, then
  ``SSEDecoder.decode(line.rstrip("\\n"))``.

Every decoder must return the same events' data; each pass reads every event's
``data``. Passes alternate between decoders; the median pass gives MB/s.
"""

from __future__ import annotations

import argparse
import codecs
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.payloads import stream_events

Decode = Callable[[list[bytes]], list[str]]
CUTS = ("per event", "1500 B", "64 KiB")


def rawgpt_decode(pieces: list[bytes]) -> list[str]:
    from rawgpt.sse import SSEDecoder

    decoder = SSEDecoder()
    out: list[str] = []
    for piece in pieces:
        for event in decoder.feed(piece):
            out.append(event.data)
    return out


def sdk_decode(pieces: list[bytes]) -> list[str]:
    from openai._streaming import SSEDecoder

    return [event.data for event in SSEDecoder().iter_bytes(iter(pieces))]


def httpx_sse_decode(pieces: list[bytes]) -> list[str]:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    out: list[str] = []

    def handle(batch: Iterable[str]) -> None:
        for line in batch:
            event = decoder.decode(line.rstrip("\n"))
            if event is not None:
                out.append(event.data)

    for piece in pieces:
        handle(lines.decode(text.decode(piece)))
    handle(lines.flush())
    return out


DECODERS: dict[str, Decode] = {
    "rawgpt": rawgpt_decode,
    "sdk": sdk_decode,
    "httpx-sse": httpx_sse_decode,
}


def cut(events: list[bytes], how: str) -> list[bytes]:
    if how == "per event":
        return events
    blob = b"".join(events)
    size = 1500 if how == "1500 B" else 65536
    return [blob[i : i + size] for i in range(0, len(blob), size)]


def run(megabytes: float, repeats: int) -> dict[str, Any]:
    one = stream_events()
    copies = max(1, round(megabytes * 1e6 / sum(map(len, one))))
    events = one * copies
    total = sum(map(len, events))
    usable = {}
    for name, decode in DECODERS.items():
        try:
            decode(one)
            usable[name] = decode
        except ImportError as exc:
            print(f"note: SSE decoder {name} skipped: {exc}", file=sys.stderr)
    results: dict[str, Any] = {"bytes": total, "events": len(events), "repeats": repeats}
    for how in CUTS:
        pieces = cut(events, how)
        expected = rawgpt_decode(pieces)
        times: dict[str, list[float]] = {name: [] for name in usable}
        for r in range(repeats):
            names = list(usable)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                started = time.perf_counter()
                got = usable[name](pieces)
                times[name].append(time.perf_counter() - started)
                if got != expected:
                    raise RuntimeError(f"{name} decoded {how} pieces differently")
        results[how] = {
            name: {"mb_s": total / statistics.median(t) / 1e6, "pieces": len(pieces)}
            for name, t in times.items()
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=2.0, help="input size per pass")
    parser.add_argument("--repeats", type=int, default=7, help="passes per decoder and cut")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.megabytes, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
