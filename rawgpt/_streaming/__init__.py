"""Streams: reading a server-sent-event answer, its events as views, and merging them.

``chat`` is the chat completion stream (AsyncStream), ``accumulate`` merges its
chunks into one completion.
"""

from __future__ import annotations

from .chat import AsyncStream

__all__ = ["AsyncStream"]
