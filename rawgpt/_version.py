"""The package version, read lazily from the installed metadata."""

from __future__ import annotations

import functools
import platform


@functools.cache
def version() -> str:
    """rawgpt's installed version ("0+unknown" when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _dist_version

    try:
        return _dist_version("rawgpt")
    except PackageNotFoundError:
        return "0+unknown"


@functools.cache
def user_agent() -> str:
    """The User-Agent header value."""
    return f"rawgpt/{version()} Python/{platform.python_version()}"
