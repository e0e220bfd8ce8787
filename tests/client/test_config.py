"""Tests for rawgpt._config: Timeout and Limits validation and coercion."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

import rawgpt
from rawgpt._config import DEFAULT_BASE_URL, Limits, Timeout
from rawgpt._retry import Retry


def test_public_names() -> None:
    assert rawgpt.Timeout is Timeout
    assert rawgpt.Limits is Limits


def test_defaults() -> None:
    assert DEFAULT_BASE_URL == "https://api.openai.com/v1"
    assert Retry().max_retries == 2
    t = Timeout()
    assert (t.connect, t.read, t.total) == (5.0, 600.0, None)
    lim = Limits()
    assert (lim.max_connections, lim.max_connections_per_host, lim.keepalive_expiry) == (
        100,
        0,
        30.0,
    )
    assert (lim.max_response_bytes, lim.max_event_bytes) == (64 * 2**20, 16 * 2**20)


# --------------------------------------------------------------------------- Timeout


def test_timeout_fields() -> None:
    t = Timeout(connect=1.5, read=30, total=120)
    assert (t.connect, t.read, t.total) == (1.5, 30, 120)


def test_timeout_none_means_no_limit() -> None:
    t = Timeout(connect=None, read=None, total=None)
    assert (t.connect, t.read, t.total) == (None, None, None)


@pytest.mark.parametrize("field", ["connect", "read", "total"])
@pytest.mark.parametrize("value", [0, 0.0, -1, -0.001, math.nan])
def test_timeout_rejects_non_positive(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Timeout(**{field: value})


def test_timeout_is_frozen_and_slotted() -> None:
    t = Timeout()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.read = 1.0
    assert not hasattr(t, "__dict__")


def test_timeout_equality_and_hash() -> None:
    assert Timeout(connect=1, read=2) == Timeout(connect=1, read=2)
    assert Timeout(connect=1, read=2) != Timeout(connect=1, read=3)
    assert hash(Timeout(connect=1, read=2)) == hash(Timeout(connect=1, read=2))


@pytest.mark.parametrize("value", [10, 10.0, 2.5, 0.001])
def test_coerce_float_means_connect_and_read(value: float) -> None:
    t = Timeout.coerce(value)
    assert t == Timeout(connect=float(value), read=float(value), total=None)
    assert type(t.connect) is float and type(t.read) is float
    assert t.total is None


def test_coerce_none_gives_defaults() -> None:
    assert Timeout.coerce(None) == Timeout()


def test_coerce_timeout_is_returned_as_is() -> None:
    t = Timeout(connect=2, read=None, total=50)
    assert Timeout.coerce(t) is t


@pytest.mark.parametrize("value", [0, -3, 0.0, math.nan])
def test_coerce_invalid_number_raises_value_error(value: float) -> None:
    with pytest.raises(ValueError):
        Timeout.coerce(value)


@pytest.mark.parametrize("value", [True, False, "10", b"10", [10], {"read": 1}])
def test_coerce_wrong_type_raises_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="timeout"):
        Timeout.coerce(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Limits


def test_limits_fields() -> None:
    lim = Limits(max_connections=8, max_connections_per_host=4, keepalive_expiry=5.0)
    assert (lim.max_connections, lim.max_connections_per_host, lim.keepalive_expiry) == (8, 4, 5.0)


def test_limits_smallest_valid() -> None:
    lim = Limits(max_connections=1, max_connections_per_host=0, keepalive_expiry=0.001)
    assert lim.max_connections == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": -1}, "max_connections"),
        ({"max_connections_per_host": -1}, "max_connections_per_host"),
        ({"keepalive_expiry": 0}, "keepalive_expiry"),
        ({"keepalive_expiry": -1.0}, "keepalive_expiry"),
        ({"keepalive_expiry": math.nan}, "keepalive_expiry"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"max_event_bytes": -1}, "max_event_bytes"),
    ],
)
def test_limits_validation(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Limits(**kwargs)


@pytest.mark.parametrize("field", ["max_response_bytes", "max_event_bytes"])
@pytest.mark.parametrize("value", [True, 1.5, "1000", None])
def test_limits_caps_must_be_ints(field: str, value: object) -> None:
    with pytest.raises(TypeError, match=field):
        Limits(**{field: value})  # type: ignore[arg-type]


def test_limits_caps_replace() -> None:
    lim = Limits().replace(max_response_bytes=1024, max_event_bytes=512)
    assert (lim.max_response_bytes, lim.max_event_bytes) == (1024, 512)
    assert lim.max_connections == 100


def test_limits_is_frozen() -> None:
    lim = Limits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        lim.max_connections = 5
    assert Limits(max_connections=5) == Limits(max_connections=5)


def test_config_values_pickle_copy_and_repr() -> None:
    """Written-out records behave as the frozen dataclasses they replaced."""
    import copy
    import pickle

    values = [Timeout(connect=1, read=2), Limits(7, 2, 3.0), rawgpt.Retry(5, deadline=3.0)]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.deepcopy(value) == value and hash(copy.copy(value)) == hash(value)
    assert repr(values[1]) == (
        "Limits(max_connections=7, max_connections_per_host=2, keepalive_expiry=3.0, "
        "max_response_bytes=67108864, max_event_bytes=16777216)"
    )
    assert Timeout(1, 2) != Limits() and Timeout(1, 2) != (1, 2, None)
