"""Client configuration: timeouts, connection limits and defaults, in one place.

Small frozen records, in the manner of httpx's ``Timeout`` and ``Limits``.
Nothing here imports aiohttp: the transport turns these into its own objects.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, ClassVar

from .sse import DEFAULT_MAX_EVENT_BYTES

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_MIB = 1024 * 1024


class Record:
    """An immutable value: its ``_fields`` (its slots, in ``__init__`` order) are set
    once by ``__init__``.

    Equality, hash, repr and pickling go by the fields, as a frozen dataclass's
    do (assigning raises ``dataclasses.FrozenInstanceError``). Written out
    rather than generated because ``@dataclass`` costs about as much at import
    as the rest of a class's module: rawgpt's import is a measured target.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _init(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` (checked like a new one); the rest stays as it is."""
        return type(self)(**{**dict(zip(self._fields, self._values(), strict=True)), **changes})

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, Record):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())


class Timeout(Record):
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

    _fields = ("connect", "read", "total")
    __slots__ = _fields
    connect: float | None
    read: float | None
    total: float | None

    def __init__(
        self, connect: float | None = 5.0, read: float | None = 600.0, total: float | None = None
    ) -> None:
        for name, value in (("connect", connect), ("read", read), ("total", total)):
            if value is not None and not value > 0:
                raise ValueError(f"Timeout.{name} must be a positive number or None, got {value!r}")
        self._init(connect=connect, read=read, total=total)

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


class Limits(Record):
    """Connection pool limits, handed to aiohttp's ``TCPConnector``, and size caps.

    - ``max_connections``: open connections at most, across hosts (requests
      beyond it wait for a free connection).
    - ``max_connections_per_host``: per (host, port); 0 means only the total applies.
    - ``keepalive_expiry``: seconds an idle connection stays in the pool.
    - ``max_response_bytes``: the largest body read whole (a JSON answer or an
      error body), counted after decompression (64 MiB). A body announcing more
      in its Content-Length fails before it is read.
    - ``max_event_bytes``: the largest SSE line or event a stream buffers (16 MiB).

    Past either cap the call raises APIResponseValidationError naming the cap,
    and the connection is closed, not read further.
    """

    _fields = (
        "max_connections",
        "max_connections_per_host",
        "keepalive_expiry",
        "max_response_bytes",
        "max_event_bytes",
    )
    __slots__ = _fields
    max_connections: int
    max_connections_per_host: int
    keepalive_expiry: float
    max_response_bytes: int
    max_event_bytes: int

    def __init__(
        self,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        keepalive_expiry: float = 30.0,
        max_response_bytes: int = 64 * _MIB,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"Limits.max_connections must be >= 1, got {max_connections}")
        if max_connections_per_host < 0:
            raise ValueError("Limits.max_connections_per_host must be >= 0")
        if not keepalive_expiry > 0:
            raise ValueError("Limits.keepalive_expiry must be positive")
        for name, cap in (
            ("max_response_bytes", max_response_bytes),
            ("max_event_bytes", max_event_bytes),
        ):
            if type(cap) is not int:
                raise TypeError(f"Limits.{name} must be an int (bytes), got {cap!r}")
            if cap < 1:
                raise ValueError(f"Limits.{name} must be >= 1 (bytes), got {cap}")
        self._init(
            max_connections=max_connections,
            max_connections_per_host=max_connections_per_host,
            keepalive_expiry=keepalive_expiry,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
        )
