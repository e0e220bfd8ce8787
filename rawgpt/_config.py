"""Client configuration: timeouts, connection limits and defaults, in one place.

Small frozen dataclasses, in the manner of httpx's ``Timeout`` and ``Limits``.
Nothing here imports aiohttp: the transport turns these into its own objects.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True, slots=True)
class Timeout:
    """Per-request time limits, in seconds; ``None`` means no limit.

    - ``connect``: opening the TCP (and TLS) connection.
    - ``read``: the longest idle gap between two received bytes (waiting for the
      response headers included). A long stream that keeps sending never trips
      it; a stalled one does.
    - ``total``: an optional overall deadline for one attempt, body included.
      Off by default, since it would cut long healthy streams.

    A plain float ``t`` given where a Timeout is expected means
    ``Timeout(connect=t, read=t)``, as httpx reads a float.
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    total: float | None = None

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Timeout.{name} must be a positive number or None, got {value!r}")

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        """Return ``value`` as a Timeout (``None`` gives the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                f"timeout must be a float or rawgpt.Timeout, got {type(value).__name__}"
            )
        return cls(connect=float(value), read=float(value))


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool limits, handed to aiohttp's ``TCPConnector``.

    - ``max_connections``: open connections at most, across hosts (requests
      beyond it wait for a free connection).
    - ``max_connections_per_host``: per (host, port); 0 means only the total applies.
    - ``keepalive_expiry``: seconds an idle connection stays in the pool.
    """

    max_connections: int = 100
    max_connections_per_host: int = 0
    keepalive_expiry: float = 30.0

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError(f"Limits.max_connections must be >= 1, got {self.max_connections}")
        if self.max_connections_per_host < 0:
            raise ValueError("Limits.max_connections_per_host must be >= 0")
        if not self.keepalive_expiry > 0:
            raise ValueError("Limits.keepalive_expiry must be positive")
