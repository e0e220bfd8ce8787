"""Thin attribute views over parsed JSON.

A view wraps the dict orjson produced and nothing else: no validation pass, no
copy. ``view.name`` reads ``d["name"]``, wrapping nested dicts and lists in
views on the way out. A field that OpenAI's schema defines but the body omits
reads as None (as in the SDK); a name the schema does not know raises
AttributeError unless the body has it, so typos fail loudly while fields newer
than this release still read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import orjson


class _Shape:
    """A schema node: the known field names of one object type, and their shapes."""

    __slots__ = ("fields", "name")

    def __init__(self, name: str, fields: Mapping[str, _Shape | None]) -> None:
        self.name = name
        self.fields = dict(fields)


_OPEN = _Shape("Object", {})  # an object the schema does not describe: body keys only


def _wrap(value: Any, shape: _Shape | None) -> Any:
    if type(value) is dict:
        return View(value, shape or _OPEN)
    if type(value) is list:
        return ListView(value, shape)
    return value


class View:
    """Attribute access over one JSON object (see module docstring)."""

    __slots__ = ("_d", "_s")

    def __init__(self, data: dict[str, Any], shape: _Shape = _OPEN) -> None:
        self._d = data
        self._s = shape

    def __getattr__(self, name: str) -> Any:
        if name[0] == "_":  # copy/pickle probing, or slots not yet set: never a field lookup
            raise AttributeError(name)
        try:
            value = self._d[name]
        except KeyError:
            if name in self._s.fields:
                return None
            raise AttributeError(f"{self._s.name!s} has no field {name!r}") from None
        if type(value) is dict or type(value) is list:
            return _wrap(value, self._s.fields.get(name))
        return value

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._d[key], self._s.fields.get(key))

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style read with a default."""
        if key in self._d:
            return self[key]
        return default

    def __eq__(self, other: object) -> bool:
        if isinstance(other, View):
            return self._d == other._d
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self._s.name}({orjson.dumps(self._d).decode()})"

    def __dir__(self) -> list[str]:
        return sorted(set(self._s.fields) | set(self._d) | {"to_dict", "to_json"})

    def to_dict(self) -> dict[str, Any]:
        """The parsed JSON body, unchanged (the same dict, not a copy)."""
        return self._d

    def to_json(self) -> str:
        """The object as a JSON string."""
        return orjson.dumps(self._d).decode()

    # Spellings code written for the SDK's pydantic models uses.
    def model_dump(self, **_: Any) -> dict[str, Any]:
        """Same as to_dict(): for code written against the official SDK."""
        return self._d

    def model_dump_json(self, **_: Any) -> str:
        """Same as to_json(): for code written against the official SDK."""
        return self.to_json()


class ListView(Sequence[Any]):
    """A JSON array whose object items are read as views, wrapped on access."""

    __slots__ = ("_l", "_s")

    def __init__(self, data: list[Any], shape: _Shape | None) -> None:
        self._l = data
        self._s = shape

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [_wrap(v, self._s) for v in self._l[index]]
        return _wrap(self._l[index], self._s)

    def __len__(self) -> int:
        return len(self._l)

    def __iter__(self) -> Iterator[Any]:
        shape = self._s
        for v in self._l:
            yield _wrap(v, shape)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListView):
            return self._l == other._l
        if isinstance(other, list):
            return self._l == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"[{', '.join(repr(v) for v in self)}]"


class Response(View):
    """A top-level response body, with the ``x-request-id`` it came with."""

    __slots__ = ("request_id",)

    def __init__(self, data: dict[str, Any], shape: _Shape, request_id: str | None) -> None:
        self._d = data
        self._s = shape
        self.request_id = request_id

    @property
    def _request_id(self) -> str | None:
        """The SDK's spelling of ``request_id``."""
        return self.request_id
