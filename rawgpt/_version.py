"""The package version (one literal: pyproject reads it from here) and the User-Agent."""

from __future__ import annotations

import sys

__version__ = "0.1.0"

_USER_AGENT = f"rawgpt/{__version__} Python/{sys.version_info[0]}.{sys.version_info[1]}"


def version() -> str:
    """rawgpt's version."""
    return __version__


def user_agent() -> str:
    """The User-Agent header value."""
    return _USER_AGENT
