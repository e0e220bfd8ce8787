"""Client configuration: timeouts, connection limits and defaults, in one place, and
the checks of what a client is built with (headers, the key, base_url, query).

Small frozen records, in the manner of httpx's ``Timeout`` and ``Limits``.
Nothing here imports aiohttp: the transport turns these into its own objects.
The checks raise ConfigurationError naming the option, never showing a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ._errors import ConfigurationError
from ._net import is_loopback
from .sse import DEFAULT_MAX_EVENT_BYTES

log = logging.getLogger("rawgpt")

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


_NAMED = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL"}


def _control(value: str) -> str | None:
    """The first character HTTP forbids in a header (RFC 9110 5.5: a control character;
    a tab is allowed), or None."""
    if value.isprintable():  # the usual case, in C: no control character at all
        return None
    return next((c for c in value if (c < " " and c != "\t") or c == "\x7f"), None)


def check_header(field: str, value: object) -> None:
    """ConfigurationError naming ``field``, never showing ``value``, unless ``value`` can
    go into an HTTP header: a str without control characters."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{field} must be a str, not {type(value).__name__}")
    char = _control(value)
    if char is None:
        return
    what = _NAMED.get(char) or f"the control character U+{ord(char):04X}"
    stripped = value.rstrip("\r\n")
    if stripped != value and _control(stripped) is None:
        what += " at its end (a value read from a file keeps its line end: strip() it)"
    raise ConfigurationError(f"{field} contains {what}; an HTTP header cannot carry it")


def check_headers(where: str, headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        check_name(f"a header name in {where} ({name!r})", name)
        check_header(f"{where}[{name!r}]", value)


# RFC 9110 5.6.2: a header name is a token of these characters.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def check_name(field: str, name: object) -> None:
    """ConfigurationError unless ``name`` can be a header's name (a non-empty token)."""
    check_header(field, name)  # a str without control characters
    text = str(name)
    if not text or not _TOKEN.issuperset(text):
        bad = "it is empty" if not text else f"{next(c for c in text if c not in _TOKEN)!r}"
        raise ConfigurationError(
            f"{field} is not a valid header name: {bad} (letters, digits and !#$%&'*+-.^_`|~)"
        )


def fingerprint(account: tuple[Any, ...]) -> str:
    """A short stable name for credentials, never showing them: a digest of the key (or,
    for a callable key, the callable's identity), organization and project."""
    import hashlib  # only for clients from with_options() with other credentials

    key, organization, project = account
    secret = key if isinstance(key, str) else f"callable {id(key)}"
    text = "\0".join((secret, organization or "", project or ""))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_auth_header(headers: Mapping[str, str], name: str) -> None:
    """ConfigurationError when ``headers`` set the header that carries api_key: the key
    would overwrite it (or, under another spelling, both would be sent)."""
    lower = name.lower()
    for given in headers:
        if given.lower() == lower:
            raise ConfigurationError(
                f"default_headers sets {given!r}, the header that carries api_key: pass the "
                "key as api_key=... (api_key_header= names the header it goes in)"
            )


def checked_query(where: str, query: Mapping[str, Any] | None) -> dict[str, str | int | float]:
    """``query`` as a dict, each name a str and each value a str, int or float (what a
    URL query carries); TypeError naming the first that is not, before any request."""
    if not query:
        return {}
    if not isinstance(query, Mapping):
        raise TypeError(f"{where} must be a mapping of names to values, not {type(query).__name__}")
    for name, value in query.items():
        if not isinstance(name, str):
            raise TypeError(f"{where}: a query parameter name must be a str, not {name!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(
                f"{where}[{name!r}] must be a str, int or float, not {type(value).__name__}"
            )
    return dict(query)


def checked_base_url(url: str) -> str:
    """``url`` without its trailing slash; ConfigurationError for a scheme other than
    http(s) or credentials in it (named, never shown). One WARNING when the key would
    cross the network in clear: http:// to a host that is not loopback."""
    if not url.startswith(("http://", "https://")):
        shown = url if "@" not in url else "***@" + url.rpartition("@")[2]
        raise ConfigurationError(f"base_url must start with http:// or https://, got {shown!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise ConfigurationError(f"base_url is not a valid URL: {exc}") from None
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"base_url carries credentials (user:password@ before the host {parts.hostname}): "
            "a URL ends up in logs and error messages; pass the key as api_key=... and any "
            "other credential in default_headers"
        )
    if url.startswith("http://") and not is_loopback(parts.hostname):
        log.warning(
            "base_url %s is plain http:// to %s, which is not this machine: the API key and "
            "every request travel unencrypted; use https:// (plain http:// is for loopback)",
            url,
            parts.hostname,
        )
    return url.rstrip("/")
