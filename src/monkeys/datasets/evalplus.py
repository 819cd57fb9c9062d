"""What EvalPlus's harness knows about HumanEval+/MBPP+ beyond their JSONL files.

1. MBPP+ stores inputs as JSON, which has no tuples, sets or complex numbers; EvalPlus's
   `mbpp_deserialize_inputs` (evalplus/data/mbpp.py, the MBPP+ v0.1.0 era that matches the
   399-task file) restores them per task. `mbpp_plus_inputs` does the same, task by task.
2. Some tasks need a special oracle (evalplus/evaluate.py): HumanEval/32 `find_zero` accepts
   any root; Mbpp/164 `are_equivalent` accepts anything (its reference is wrong); Mbpp/295
   `sum_div` also accepts 0; `check_str`, `text_match_three`, `text_starta_endb` are judged
   on whether the output is None. `oracle` names them for `monkeys.testgen.harness`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Args = list[Any]


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _deep_tuple(value: Any) -> Any:
    return tuple(_deep_tuple(v) for v in value) if isinstance(value, list) else value


def _every_arg(convert: Callable[[Any], Any]) -> Callable[[Args], Args]:
    return lambda args: [convert(a) for a in args]


def _arg(position: int, convert: Callable[[Any], Any]) -> Callable[[Args], Args]:
    def apply(args: Args) -> Args:
        out = list(args)
        if position < len(out):
            out[position] = convert(out[position])
        return out

    return apply


def _items(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: [convert(v) for v in value] if isinstance(value, list) else value


def _then(*steps: Callable[[Args], Args]) -> Callable[[Args], Args]:
    def apply(args: Args) -> Args:
        for step in steps:
            args = step(args)
        return args

    return apply


def _set_or_empty_dict(value: Any) -> Any:
    # upstream turns an empty list into {} (an empty dict), not set(): kept as is
    return set(value) if isinstance(value, list) and value else {}


_CONVERTERS: list[tuple[set[int], Callable[[Args], Args]]] = [
    (
        {
            2,
            116,
            132,
            143,
            222,
            261,
            273,
            394,
            399,
            421,
            424,
            429,
            470,
            560,
            579,
            596,
            616,
            630,
            726,
            740,
            744,
            809,
        },
        _every_arg(_tuple),
    ),
    ({63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}, _every_arg(_items(_tuple))),
    ({75, 413, 444, 753}, _arg(0, _items(_tuple))),
    ({106, 750}, _arg(1, _tuple)),
    ({115}, _arg(0, _items(_set_or_empty_dict))),
    ({124}, lambda args: [float(args[0]), complex(args[1])]),
    ({250, 405, 446, 617, 720, 763, 808}, _arg(0, _tuple)),
    ({259, 401, 445}, _then(_every_arg(_items(_tuple)), _every_arg(_tuple))),
    ({278}, _then(_arg(0, _items(_tuple)), _every_arg(_tuple))),
    ({307}, _arg(0, _tuple)),
    ({722}, _arg(0, lambda d: {k: _tuple(v) for k, v in d.items()} if isinstance(d, dict) else d)),
    ({252}, lambda args: [complex(args[0])]),
    ({580, 615, 791}, lambda args: list(_deep_tuple(list(args)))),
]
_BY_TASK = {task: convert for tasks, convert in _CONVERTERS for task in tasks}


def mbpp_plus_inputs(task_id: str, inputs: list[Args]) -> list[Args]:
    """MBPP+ inputs with the Python types JSON lost restored (see the module docstring)."""
    try:
        number = int(str(task_id).rsplit("/", 1)[-1])
    except ValueError:
        return inputs
    convert = _BY_TASK.get(number)
    return [convert(list(args)) for args in inputs] if convert else inputs


_ORACLES = {
    ("humaneval", "find_zero"): "poly_root",
    ("mbpp", "are_equivalent"): "any",
    ("mbpp", "sum_div"): "or_zero",
    ("mbpp", "check_str"): "not_none",
    ("mbpp", "text_match_three"): "not_none",
    ("mbpp", "text_starta_endb"): "not_none",
}


def oracle(family: str, entry_point: str) -> str:
    """How outputs of a HumanEval ("humaneval") or MBPP ("mbpp") task are judged."""
    return _ORACLES.get((family, entry_point), "exact")
