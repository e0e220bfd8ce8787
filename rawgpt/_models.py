"""Thin attribute views over parsed JSON.

A view wraps the dict orjson produced and nothing else: no validation pass, no
copy. Each object type of OpenAI's schema is a View subclass (made by
``shape()``) with one property per known field, so ``chunk.choices[0].delta``
costs a few dict reads. A known field the body omits reads as None (as in the
SDK); a name the schema does not know falls through to ``__getattr__``, which
returns it if the body has it (fields newer than this release) and raises
AttributeError otherwise, so typos fail loudly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, overload

import orjson

# Views are made on every attribute read, so the hot paths below build them with
# object.__new__ and a slot store: the same object as View(value), without the
# Python-level __init__ call (a fifth of the cost of ``r.choices[0].message``).
_new = object.__new__


def _wrap(value: Any, cls: type[View] | None) -> Any:
    kind = type(value)
    if kind is dict:
        view = _new(cls or View)
        view._d = value
        return view
    if kind is list:
        items = _new(ListView)
        items._l, items._c = value, cls
        return items
    return value


def _field(name: str, cls: type[View] | None) -> property:
    of = cls or View

    def get(self: View) -> Any:  # _wrap(self._d.get(name), cls), written out: no call
        value: Any = self._d.get(name)
        kind = type(value)
        if kind is dict:
            view = _new(of)
            view._d = value
            return view
        if kind is list:
            items = _new(ListView)
            items._l, items._c = value, cls
            return items
        return value

    get.__name__ = name
    return property(get)


class View:
    """Attribute access over one JSON object (see module docstring)."""

    __slots__ = ("_d",)
    _name: ClassVar[str] = "Object"
    _fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data

    def __getattr__(self, name: str) -> Any:
        if name[0] == "_":  # copy/pickle probing, or slots not yet set: never a field
            raise AttributeError(name)
        try:
            return _wrap(self._d[name], None)
        except KeyError:
            raise AttributeError(f"{self._name} has no field {name!r}") from None

    def __getitem__(self, key: str) -> Any:
        value = self._d[key]  # KeyError for an absent key, as a dict does
        if key in self._fields:
            return getattr(self, key)
        return _wrap(value, None)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style read with a default."""
        return self[key] if key in self._d else default

    def __eq__(self, other: object) -> bool:
        if isinstance(other, View):
            return self._d == other._d
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self._name}({orjson.dumps(self._d).decode()})"

    def __dir__(self) -> list[str]:
        return sorted(set(self._fields) | set(self._d) | {"to_dict", "to_json"})

    def __getstate__(self) -> dict[str, Any]:
        return {"_d": self._d}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

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


class Response(View):
    """A top-level response body, with the ``x-request-id`` it came with."""

    __slots__ = ("request_id",)

    def __init__(self, data: dict[str, Any], request_id: str | None = None) -> None:
        self._d = data
        self.request_id = request_id

    def __getstate__(self) -> dict[str, Any]:
        return {"_d": self._d, "request_id": self.request_id}

    @property
    def _request_id(self) -> str | None:
        """The SDK's spelling of ``request_id``."""
        return self.request_id


SHAPES: dict[str, type[View]] = {}


def shape(
    name: str, fields: Mapping[str, type[View] | None], base: type[View] = View
) -> type[View]:
    """A View subclass for one object type: a property per known field.

    A field's value is the view class of its objects (for dicts, or the items
    of lists), or None for scalars and objects the schema does not describe.
    """
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__module__": "rawgpt._schema",  # found there by name, so views pickle
        "__doc__": f"View of an OpenAI ``{name}`` object.",
        "_name": name,
        "_fields": frozenset(fields),
    }
    for field, cls in fields.items():
        namespace[field] = _field(field, cls)
    cls = type(name, (base,), namespace)
    SHAPES[name] = cls
    return cls


class ListView(Sequence[Any]):
    """A JSON array whose object items are read as views, wrapped on access."""

    __slots__ = ("_c", "_l")

    def __init__(self, data: list[Any], cls: type[View] | None = None) -> None:
        self._l = data
        self._c = cls

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if type(index) is int:
            value = self._l[index]
            if type(value) is dict:  # the common case, without a call to _wrap
                view = _new(self._c or View)
                view._d = value
                return view
            return _wrap(value, self._c)
        return [_wrap(v, self._c) for v in self._l[index]]

    def __len__(self) -> int:
        return len(self._l)

    def __iter__(self) -> Iterator[Any]:
        cls = self._c
        for v in self._l:
            yield _wrap(v, cls)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListView):
            return self._l == other._l
        if isinstance(other, list):
            return self._l == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"[{', '.join(repr(v) for v in self)}]"
