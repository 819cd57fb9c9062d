"""Seed inputs from a function's signature, for problems whose tests give no literal input.

`signature_inputs(source, entry_point)` reads the entry point's parameter annotations (str,
int, float, bool, list/List[X], tuple/Tuple[...], dict/Dict[K, V], set, Optional[X]) and
returns a few small inputs of those types: empty, single and typical values. They are seeds
like any other (the reference and its contract decide which are valid; mutation grows them).
A parameter without an annotation, or with one it cannot read, means no inputs.
"""

from __future__ import annotations

import ast
import itertools
from typing import Any

_SAMPLES: dict[str, list[Any]] = {
    "str": ["", "a", "abc", "Hello World", "xyz 12!", "aaBBcc", "the quick brown fox"],
    "int": [0, 1, 2, 3, 7, 10, 25, -4],
    "float": [0.0, 1.5, 2.0, 3.25, -1.5, 10.0],
    "bool": [True, False],
}
MAX_INPUTS = 12


class _Unknown(Exception):
    pass


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.List
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "List[int]"
        return _name(ast.parse(node.value, mode="eval").body)
    raise _Unknown


def _values(node: ast.expr) -> list[Any]:
    """A few values of the annotated type, simplest first."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _values(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            raise _Unknown from None
    if isinstance(node, ast.Subscript):
        outer = _name(node.value).lower()
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer in ("list", "sequence", "iterable"):
            items = _values(args[0])
            return [[], items[1:2], items[:3], items[1:5]]
        if outer == "set":
            items = _values(args[0])
            return [set(), set(items[:3])]
        if outer == "tuple":
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
                items = _values(args[0])
                return [(), tuple(items[:3])]
            columns = [_values(a) for a in args]
            return [tuple(c[min(i, len(c) - 1)] for c in columns) for i in range(1, 4)]
        if outer == "dict":
            keys, values = _values(args[0]), _values(args[1])
            return [{}, {keys[1]: values[1]}, dict(zip(keys[1:4], values[1:4], strict=False))]
        if outer == "optional":
            return [*_values(args[0]), None]
        raise _Unknown
    name = _name(node)
    if name in _SAMPLES:
        return list(_SAMPLES[name])
    if name.lower() == "list":
        return [[], [1, 2, 3]]
    raise _Unknown


def signature_inputs(source: str, entry_point: str) -> list[tuple]:
    """Up to MAX_INPUTS argument tuples for `entry_point`'s annotated parameters (see the
    module docstring); [] when the function or an annotation cannot be read."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    function = next(
        (node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == entry_point), None
    )
    if function is None or function.args.vararg or function.args.kwonlyargs:
        return []
    params = [*function.args.posonlyargs, *function.args.args]
    if not params or any(p.annotation is None for p in params):
        return []
    try:
        columns = [_values(p.annotation) for p in params]  # type: ignore[arg-type]
    except (_Unknown, IndexError, SyntaxError):
        return []
    if len(columns) == 1:
        return [(v,) for v in columns[0][:MAX_INPUTS]]
    # the diagonal first (every parameter varies), then other combinations
    width = max(len(c) for c in columns)
    out = [tuple(c[i % len(c)] for c in columns) for i in range(width)]
    for combo in itertools.product(*columns):
        if len(out) >= MAX_INPUTS:
            break
        if combo not in out:
            out.append(combo)
    return out[:MAX_INPUTS]
