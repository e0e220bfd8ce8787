"""Service-level objectives and goodput: the share of requests that meet all of them.

``--slo ttft_ms=500,itl_ms=50`` parses to ``{"ttft_ms": 500.0, "itl_ms": 50.0}``.
Per request: ``ttft_ms`` is its time to first token, ``itl_ms`` its longest gap
between two tokens (a stall is what a reader sees), ``tpot_ms`` its time per
output token after the first, ``e2e_ms`` its end-to-end latency. A failed
request meets none; a figure a request lacks (a plain, non-streamed request
has no first token) does not meet its objective.
"""

from __future__ import annotations

from .record import Record

KEYS = ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms")


def parse_slo(text: str) -> dict[str, float]:
    """``name=ms,...`` -> objectives; a ValueError names what is wrong."""
    slo: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in KEYS:
            raise ValueError(f"--slo {part!r}: want NAME=MS with NAME one of {', '.join(KEYS)}")
        try:
            slo[name] = float(value)
        except ValueError:
            raise ValueError(f"--slo {part!r}: {value.strip()!r} is not a number") from None
        if not slo[name] > 0:
            raise ValueError(f"--slo {part!r}: must be > 0 ms")
    if not slo:
        raise ValueError("--slo: give at least one NAME=MS")
    return slo


def _figure(record: Record, name: str) -> float | None:
    seconds = {
        "ttft_ms": record.ttft,
        "itl_ms": record.max_gap,
        "tpot_ms": record.tpot,
        "e2e_ms": record.e2e,
    }[name]
    if name == "itl_ms" and seconds is None and record.ttft is not None:
        return 0.0  # a stream of one token has no gap to miss
    return None if seconds is None else seconds * 1000.0


def meets(record: Record, slo: dict[str, float]) -> bool:
    if not record.ok:
        return False
    for name, limit in slo.items():
        value = _figure(record, name)
        if value is None or value > limit:
            return False
    return True
