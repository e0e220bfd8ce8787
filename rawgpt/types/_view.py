"""Thin attribute views over parsed JSON, typed by their class bodies.

A view wraps the dict orjson produced and nothing else: no validation pass, no
copy. Each object type of OpenAI's schema is a View subclass written like the
SDK's models, one annotation per field (``content: str | None``); when the
class is made, each annotation becomes a property that reads the dict, so
``chunk.choices[0].delta`` costs a few dict reads and the checker sees the
SDK's types. A known field the body omits reads as None (as in the SDK); a
name the class does not know falls through to ``__getattr__``, which returns
it if the body has it (fields newer than this release) and raises
AttributeError otherwise, so typos fail loudly. The checker does not see that
fallback: for mypy and pyright a typo is an error.

A field's annotation names the view class its objects (or list items) are read
as; a union of view classes (``A | B``) picks the class by the object's
``type`` field, from each class's ``type: Literal["..."]`` annotation (an
object without a ``type`` reads as the union's first class, one with a
``type`` newer than this release as a plain View).
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

import orjson

T = TypeVar("T", covariant=True)

# Views are made on every attribute read, so the hot paths below build them with
# object.__new__ and a slot store: the same object as View(value), without the
# Python-level __init__ call (a fifth of the cost of ``r.choices[0].message``).
_new = object.__new__
_NO_HEADERS: Mapping[str, str] = {}


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


def _union_field(name: str, pick: dict[Any, type[View]]) -> property:
    """A field whose objects are one of several view classes, told apart by ``type``
    (an object without one reads as the first; one newer than this release as a View)."""
    first = next(iter(pick.values()))

    def get(self: View) -> Any:
        value: Any = self._d.get(name)
        kind = type(value)
        if kind is dict:
            tag = value.get("type")
            view = _new(pick.get(tag, View) if tag is not None else first)
            view._d = value
            return view
        if kind is list:
            items = _new(UnionListView)
            items._l, items._c, items._pick = value, first, pick
            return items
        return value

    get.__name__ = name
    return property(get)


def _views_named(annotation: str, scope: Mapping[str, Any]) -> list[type[View]]:
    """The view classes an annotation names (directly or through a type alias)."""
    found: list[type[View]] = []
    for token in annotation.translate(_SEPARATORS).split():
        obj: Any = scope.get(token)
        members = obj.__args__ if hasattr(obj, "__args__") else (obj,)  # an alias of a union
        for member in members:
            if isinstance(member, type) and issubclass(member, View) and member not in found:
                found.append(member)
    return found


_SEPARATORS = str.maketrans("[]|,", "    ")


def _discriminator(cls: type[View]) -> str | None:
    """The value of ``type`` a class declares, from ``type: Literal["value"]``."""
    for klass in cls.__mro__:
        annotation = klass.__dict__.get("__annotations__", {}).get("type")  # noqa: RUF063 (no inspect import)
        if annotation is not None:  # a string: "Literal['value']" (quotes as Python writes)
            value = annotation.removeprefix("Literal[").removesuffix("]")
            if value != annotation and value[:1] in ("'", '"') and value.count(value[0]) == 2:
                return str(value[1:-1])
            return None
    return None


class _Shape(type):
    """Makes a View class: slots, and a property per annotated field of its body."""

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _Shape:
        ns.setdefault("__slots__", ())
        own = [f for f in ns.get("__annotations__", {}) if f[0] != "_"]
        if own:
            scope = sys.modules[ns["__module__"]].__dict__
            for field in own:
                views = _views_named(ns["__annotations__"][field], scope)
                if len(views) > 1:
                    pick: dict[Any, type[View]] = {}
                    for view in views:
                        tag = _discriminator(view)
                        if tag is None:
                            raise TypeError(f"{name}.{field}: {view.__name__} has no type tag")
                        pick[tag] = view
                    ns[field] = _union_field(field, pick)
                else:
                    ns[field] = _field(field, views[0] if views else None)
        cls = super().__new__(mcs, name, bases, ns)
        inherited = frozenset().union(*(getattr(b, "_fields", ()) for b in bases))
        cls._fields = inherited | frozenset(own)  # type: ignore[attr-defined]
        cls._name = ns.get("_name", name)  # type: ignore[attr-defined]
        return cls


class View(metaclass=_Shape):
    """Attribute access over one JSON object (see module docstring)."""

    __slots__ = ("_d",)
    _name: ClassVar[str] = "Object"
    _fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data

    if not TYPE_CHECKING:  # for the checker, an unknown name is an error

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
    """A top-level response body, with the headers it came with.

    ``headers`` is the answer's headers, read-only and case-insensitive;
    ``request_id`` its ``x-request-id``.
    """

    __slots__ = ("headers",)

    def __init__(
        self,
        data: dict[str, Any],
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._d = data
        if headers is None:
            headers = {"x-request-id": request_id} if request_id is not None else _NO_HEADERS
        self.headers: Mapping[str, str] = headers

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header: the id OpenAI support asks for."""
        return self.headers.get("x-request-id")

    @property
    def _request_id(self) -> str | None:
        """The SDK's spelling of ``request_id``."""
        return self.headers.get("x-request-id")

    def __getstate__(self) -> dict[str, Any]:
        return {"_d": self._d, "headers": _Headers(self.headers.items())}


class Object(Response):
    """An answer of an endpoint rawgpt has no class for (``client.post``): any field
    the body has reads as an attribute, typed ``Any``."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class _Headers(Mapping[str, str]):
    """Headers as pickled: read-only, case-insensitive (names kept lowered)."""

    __slots__ = ("_h",)

    def __init__(self, items: Any = ()) -> None:
        self._h: dict[str, str] = {k.lower(): v for k, v in items}

    def __getitem__(self, key: str) -> str:
        return self._h[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._h

    def __iter__(self) -> Iterator[str]:
        return iter(self._h)

    def __len__(self) -> int:
        return len(self._h)

    def __repr__(self) -> str:
        return f"<Headers {self._h!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Headers, (list(self._h.items()),))


class ListView(Sequence[T]):
    """A JSON array whose object items are read as views, wrapped on access."""

    __slots__ = ("_c", "_l")

    def __init__(self, data: list[Any], cls: type[View] | None = None) -> None:
        self._l = data
        self._c = cls

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if type(index) is int:
            value = self._l[index]
            if type(value) is dict:  # the common case, without a call to _wrap
                view = _new(self._c or View)
                view._d = value
                return view
            return _wrap(value, self._c)
        if isinstance(index, slice):
            return [self._one(v) for v in self._l[index]]
        return self._one(self._l[operator.index(index)])  # an int subclass, numpy's ints

    def _one(self, value: Any) -> Any:
        return _wrap(value, self._c)

    def __len__(self) -> int:
        return len(self._l)

    def __iter__(self) -> Iterator[T]:
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


class UnionListView(ListView[T]):
    """A JSON array of objects of several view classes, each picked by its ``type``
    (``_c``, the first class, for an object without one; a View for a type newer than
    this release)."""

    __slots__ = ("_pick",)

    def __init__(self, data: list[Any], pick: dict[Any, type[View]]) -> None:
        self._l, self._c, self._pick = data, next(iter(pick.values())), pick

    def _one(self, value: Any) -> Any:
        if type(value) is dict:
            tag = value.get("type")
            return _wrap(value, self._pick.get(tag, View) if tag is not None else self._c)
        return _wrap(value, None)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._one(v) for v in self._l[index]]
        return self._one(self._l[operator.index(index)])

    def __iter__(self) -> Iterator[T]:
        one = self._one
        for v in self._l:
            yield one(v)
