"""Streams: reading a server-sent-event answer, its events as views, and merging them.

``base`` reads any event stream (SSEStream); ``chat`` is the chat completion
stream (AsyncStream), ``accumulate`` merges its chunks into one completion;
``responses`` is the Responses API's event stream (AsyncResponseStream),
loaded on first use so that ``import rawgpt`` does not pay for its types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import SSEStream
from .chat import AsyncStream

if TYPE_CHECKING:
    from .responses import AsyncResponseStream

__all__ = ["AsyncResponseStream", "AsyncStream", "SSEStream"]


def __getattr__(name: str) -> Any:
    if name == "AsyncResponseStream":
        from .responses import AsyncResponseStream

        return AsyncResponseStream
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
