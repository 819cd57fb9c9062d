"""Python source literals for test inputs: exact, type-preserving, safe to read back.

`to_source` writes a value as Python source that evaluates to an equal value of the same
types (tuples stay tuples, sets stay sets, ints beyond the 4,300-digit str limit are written
in hex, which has no limit; inf and nan become ``float('inf')``/``float('nan')``).
`literal_inputs` reads the literal arguments of calls in a test's source.
"""

from __future__ import annotations

import ast
import math
from typing import Any


class LiteralError(ValueError):
    """A value that cannot be written as a source literal."""


def _float(value: float) -> str:
    if math.isnan(value):
        return "float('nan')"
    if math.isinf(value):
        return "float('inf')" if value > 0 else "float('-inf')"
    return repr(value)


def to_source(value: Any, depth: int = 0) -> str:
    """Python source for `value` (see the module docstring); LiteralError for other types."""
    if depth > 100:
        raise LiteralError("value nested more than 100 levels deep")
    kind = type(value)
    if value is None or kind is bool:
        return repr(value)
    if kind is int:
        if abs(value) >= 10**4000:
            return ("-" if value < 0 else "") + hex(abs(value))
        return repr(value)
    if kind is float:
        return _float(value)
    if kind is complex:
        return f"complex({_float(value.real)}, {_float(value.imag)})"
    if kind in (str, bytes):
        return repr(value)
    if kind is list:
        return "[" + ", ".join(to_source(v, depth + 1) for v in value) + "]"
    if kind is tuple:
        items = [to_source(v, depth + 1) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if kind is dict:
        return (
            "{"
            + ", ".join(f"{to_source(k, depth + 1)}: {to_source(v, depth + 1)}" for k, v in value.items())
            + "}"
        )
    if kind in (set, frozenset):
        items = sorted(to_source(v, depth + 1) for v in value)  # a stable text for equal sets
        body = "{" + ", ".join(items) + "}" if items else ""
        if kind is frozenset:
            return f"frozenset({body})"
        return body if items else "set()"
    raise LiteralError(f"cannot write a {kind.__name__} as a literal")


def _literal(node: ast.expr) -> Any:
    """ast.literal_eval plus the few calls `to_source` writes (float('inf'), set(), ...)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name, args = node.func.id, node.args
        if name in ("set", "frozenset", "tuple", "list") and len(args) <= 1:
            kind = {"set": set, "frozenset": frozenset, "tuple": tuple, "list": list}[name]
            return kind(_literal(args[0])) if args else kind()
        if name == "float" and len(args) == 1 and isinstance(args[0], ast.Constant):
            if str(args[0].value).lower() in ("inf", "-inf", "nan", "+inf", "infinity", "-infinity"):
                return float(args[0].value)  # type: ignore[arg-type]
        if name == "complex" and len(args) == 2:
            return complex(_literal(args[0]), _literal(args[1]))
    if isinstance(node, ast.List):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_literal(e) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("dict unpacking is not a literal")
        return {
            _literal(k): _literal(v)  # type: ignore[arg-type]
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand)
        if isinstance(value, int | float | complex) and not isinstance(value, bool):
            return -value
        raise ValueError("minus of a non-number")
    return ast.literal_eval(node)


def literal_inputs(test_source: str, callees: set[str]) -> list[tuple[Any, ...]]:
    """Argument tuples of every call to one of `callees` whose arguments are all literals.

    Calls with keyword or starred arguments, or any non-literal argument, are left out.
    Duplicates (by source text) are kept once, in order of appearance.
    """
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return []
    found: dict[str, tuple[tuple[int, int], tuple[Any, ...]]] = {}
    for node in ast.walk(tree):
        if (
            not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in callees)
            or node.keywords
        ):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args):
            continue
        try:
            args = tuple(_literal(a) for a in node.args)
            key = to_source(args)
        except (ValueError, TypeError, SyntaxError, LiteralError, MemoryError, RecursionError):
            continue
        where = (node.lineno, node.col_offset)
        if key not in found or where < found[key][0]:
            found[key] = (where, args)
    return [args for _, args in sorted(found.values(), key=lambda item: item[0])]
