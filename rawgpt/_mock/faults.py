"""Fault specs for the mock server: parse ``"kind[:arg...][:flag...]"`` strings.

The same spec reaches the server from ``MockServer.add_fault``, from a per-request
``x-mock-fault`` header and from the command line::

    status:<code>[:html][:retry|:no_retry]   an error status (JSON body, or a proxy's HTML page)
    rate_limit[:<seconds>][:retry|:no_retry] 429 rate_limit_exceeded, retry-after <seconds> (1)
    quota[:retry|:no_retry]                  429 insufficient_quota
    too_large[:retry|:no_retry]              429 "Request too large"
    reset                                    headers, half the body, then the connection drops
    cut:<n>                                  a stream that drops after n events, no [DONE]
    end:<n>                                  a stream that ends cleanly after n events, no [DONE]
                                             (nor a Responses terminal event)
    stall:<n>:<seconds>                      a stream that goes silent after n events
    slow_headers:<seconds>                   wait before sending the response headers
    malformed                                200 with a body (or an SSE data line) that is bad JSON
    stream_error                             2 events, then an ``event: error`` SSE event
    stream_error_data                        2 events, then a ``data: {"error": ...}`` line
    stream_error_flat                        2 events, then an ``event: error`` whose data has
                                             ``code`` and ``message`` at the top level
    failed                                   Responses: status "failed" with an error (the
                                             stream ends with ``response.failed``); chat: a 500
    refusal                                  the model refuses: a refusal instead of the text

``retry`` / ``no_retry`` add ``x-should-retry: true`` / ``false`` to the error response.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

_ARITY: dict[str, tuple[int, int]] = {
    "status": (1, 1),
    "rate_limit": (0, 1),
    "quota": (0, 0),
    "too_large": (0, 0),
    "reset": (0, 0),
    "cut": (1, 1),
    "end": (1, 1),
    "stall": (2, 2),
    "slow_headers": (1, 1),
    "malformed": (0, 0),
    "stream_error": (0, 0),
    "stream_error_data": (0, 0),
    "stream_error_flat": (0, 0),
    "failed": (0, 0),
    "refusal": (0, 0),
}
_RETRY_KINDS = frozenset({"status", "rate_limit", "quota", "too_large"})
#: Faults that replace the whole response with an error.
ERROR_KINDS = _RETRY_KINDS
_STREAM_ERRORS = ("stream_error", "stream_error_data", "stream_error_flat")


@dataclass(frozen=True, slots=True)
class Fault:
    """One parsed fault; ``spec`` keeps the text it came from."""

    kind: str
    spec: str
    status: int = 0
    html: bool = False
    should_retry: bool | None = None
    seconds: float = 0.0
    events: int = 0

    def for_stream(self, stream: bool, *, responses: bool = False) -> Fault:
        """The fault as it applies to a streamed (or a plain JSON) response.

        On a plain response ``cut`` acts as ``reset``, ``end`` as ``malformed`` (the
        body ends cleanly halfway) and the stream errors as a 500; on a stream
        ``reset`` acts as ``cut:1``. ``failed`` is a 500 except on ``/v1/responses``.
        """
        if self.kind == "failed" and not responses:
            return replace(self, kind="status", status=500)
        if stream:
            return replace(self, kind="cut", events=1) if self.kind == "reset" else self
        if self.kind == "cut":
            return replace(self, kind="reset")
        if self.kind == "end":
            return replace(self, kind="malformed")
        if self.kind in _STREAM_ERRORS:
            return replace(self, kind="status", status=500)
        return self


def _bad(spec: str, why: str) -> ValueError:
    kinds = ", ".join(_ARITY)
    return ValueError(f"unknown mock fault spec {spec!r}: {why} (kinds: {kinds})")


def _number(spec: str, text: str, *, integer: bool) -> float:
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        raise _bad(spec, f"{text!r} is not {'an integer' if integer else 'a number'}") from None
    if not math.isfinite(value) or value < 0:
        raise _bad(spec, f"{text!r} must be a non-negative number")
    return value


def parse_fault(spec: str) -> Fault:
    """Parse a fault spec, raising ValueError that names the spec when it is not valid."""
    kind, *args = spec.strip().split(":")
    if kind not in _ARITY:
        raise _bad(spec, f"no fault kind {kind!r}")
    flags: list[str] = []
    while args and args[-1] in ("html", "retry", "no_retry"):
        flags.append(args.pop())
    low, high = _ARITY[kind]
    if not low <= len(args) <= high or len(set(flags)) != len(flags):
        raise _bad(spec, "wrong number of arguments")
    if "html" in flags and kind != "status":
        raise _bad(spec, "only status faults take :html")
    retry_flags = [f for f in flags if f != "html"]
    if retry_flags and (kind not in _RETRY_KINDS or len(retry_flags) > 1):
        raise _bad(spec, "use one of :retry or :no_retry, on an error fault")
    fault = Fault(
        kind,
        spec,
        html="html" in flags,
        should_retry=None if not retry_flags else retry_flags[0] == "retry",
    )
    if kind == "status":
        status = int(_number(spec, args[0], integer=True))
        if not 400 <= status <= 599:
            raise _bad(spec, "status must be between 400 and 599")
        return replace(fault, status=status)
    if kind == "rate_limit":
        return replace(
            fault, status=429, seconds=_number(spec, args[0], integer=False) if args else 1.0
        )
    if kind in ("quota", "too_large"):
        return replace(fault, status=429)
    if kind in ("cut", "end"):
        return replace(fault, events=int(_number(spec, args[0], integer=True)))
    if kind == "stall":
        events = int(_number(spec, args[0], integer=True))
        return replace(fault, events=events, seconds=_number(spec, args[1], integer=False))
    if kind == "slow_headers":
        return replace(fault, seconds=_number(spec, args[0], integer=False))
    return fault
