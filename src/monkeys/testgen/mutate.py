"""Type-aware mutation of test inputs (the EvalPlus approach, Liu et al. 2023).

An input is the tuple of positional arguments of one call. `mutate_input` changes one
argument, keeping its type and, as far as it can tell, its domain:

- int: +-1, +-small, doubled, halved, 0, and negative values when negatives occur among the
  seeds or the problem statement does not restrict the domain ("positive", "non-negative",
  "natural", ">= 0", ... mark it restricted: a cheap stand-in for EvalPlus's contracts);
- float: nudged, scaled, rounded; negative under the same rule as ints;
- bool: flipped; None: unchanged;
- str: delete, duplicate, swap or replace characters, insert characters (anywhere or at
  either end), cut, concatenate with another seed string. New characters come from the
  seed strings of that argument; when those hold letters, sometimes from all letters,
  digits, space and punctuation (a string of digits stays digits, one of brackets stays
  brackets), and text often gets a space or punctuation at one end;
- list / tuple: drop, duplicate, insert (a mutated copy of an element), swap, sort, reverse,
  shuffle, mutate one element; lists of one element type keep that type;
- dict: drop a key, mutate a value, add a key made by mutating an existing one;
- set / frozenset: add a mutated element, drop one.

Sizes stay bounded (MAX_LEN elements or characters, |int| <= MAX_INT) so that the reference
runs fast and the tests stay small. Everything draws from one `random.Random`, so a seed fixes
the result.
"""

from __future__ import annotations

import copy
import math
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LEN = 40
MAX_INT = 10**6
MAX_DEPTH = 6


@dataclass
class Domain:
    """What the seed values of one argument position look like."""

    negatives: bool = False  # some seed number is negative
    allow_negatives: bool = False  # negatives may be made even if no seed has one
    alphabet: str = ""  # characters of the seed strings
    strings: list[str] = field(default_factory=list)  # seed strings (for concatenation)

    def learn(self, value: Any, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            if value < 0:
                self.negatives = True
        elif isinstance(value, str):
            self.alphabet = "".join(sorted(set(self.alphabet) | set(value)))
            if value not in self.strings and len(self.strings) < 50:
                self.strings.append(value)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                self.learn(item, depth + 1)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.learn(key, depth + 1)
                self.learn(item, depth + 1)


_RESTRICTED = re.compile(
    r"positive|non-?negative|natural number|greater than (?:or equal to )?(?:0|zero)|>=?\s*0\b"
    r"|\bat least (?:0|1|one)\b|≥\s*0|\b0\s*<=?",
    re.IGNORECASE,
)
BROAD_CHARS = string.ascii_letters + string.digits + " ,.!?'-_"
EDGE_CHARS = " ,.!?-"  # separators at the ends of text: what strip/split bugs miss


def restricts_sign(statement: str) -> bool:
    """Whether a problem statement restricts numbers to non-negative values (heuristic)."""
    return bool(_RESTRICTED.search(statement or ""))


def learn_domains(inputs: Sequence[Sequence[Any]], statement: str = "") -> list[Domain]:
    """One Domain per argument position, from the seed inputs and the problem statement."""
    width = max((len(i) for i in inputs), default=0)
    domains = [Domain(allow_negatives=not restricts_sign(statement)) for _ in range(width)]
    for args in inputs:
        for position, value in enumerate(args):
            domains[position].learn(value)
    return domains


def _clip_int(value: int) -> int:
    return max(-MAX_INT, min(MAX_INT, value))


def mutate_int(value: int, rng: random.Random, domain: Domain) -> int:
    choices = [
        value + 1,
        value - 1,
        value + rng.randint(2, 10),
        value - rng.randint(2, 10),
        value * 2,
        value // 2,
        0,
        rng.randint(0, max(10, abs(value) * 2)),
    ]
    if domain.negatives or (domain.allow_negatives and rng.random() < 0.25):
        choices += [-value, rng.randint(-max(10, abs(value) * 2), -1)] * 3
    out = _clip_int(rng.choice(choices))
    return out if domain.negatives or domain.allow_negatives or out >= 0 or value < 0 else abs(out)


def mutate_float(value: float, rng: random.Random, domain: Domain) -> float:
    if not math.isfinite(value):
        return value
    choices = [
        value + rng.uniform(-1, 1),
        value * rng.uniform(0.5, 2.0),
        round(value, 1),
        value + 0.5,
        float(int(value)),
        value / 3 if value else 0.1,
    ]
    if domain.negatives or (domain.allow_negatives and rng.random() < 0.25):
        choices += [-value, -value - 1.0]
    out = float(rng.choice(choices))
    out = max(-float(MAX_INT), min(float(MAX_INT), out))
    return out if domain.negatives or domain.allow_negatives or out >= 0 or value < 0 else abs(out)


def mutate_str(value: str, rng: random.Random, domain: Domain) -> str:
    alphabet = domain.alphabet or value or "abc"
    if any(c.isalpha() for c in alphabet) and rng.random() < 0.3:
        alphabet = BROAD_CHARS
    ops = ["insert", "replace", "concat", "edge"]
    if value:
        ops += ["delete", "duplicate", "cut", "swap"]
    op = rng.choice(ops)
    if op == "insert":
        at = rng.randint(0, len(value))
        out = value[:at] + rng.choice(alphabet) + value[at:]
    elif op == "replace" and value:
        at = rng.randrange(len(value))
        out = value[:at] + rng.choice(alphabet) + value[at + 1 :]
    elif op == "replace":
        out = rng.choice(alphabet)
    elif op == "edge":  # a character at either end: leading/trailing spaces, punctuation
        wordy = any(c.isalpha() for c in domain.alphabet or value)
        char = rng.choice(EDGE_CHARS if wordy and rng.random() < 0.5 else alphabet)
        out = char + value if rng.random() < 0.5 else value + char
    elif op == "concat":
        other = rng.choice(domain.strings) if domain.strings else value
        out = value + other if rng.random() < 0.5 else other + value
    elif op == "delete":
        at = rng.randrange(len(value))
        out = value[:at] + value[at + 1 :]
    elif op == "duplicate":
        a = rng.randrange(len(value))
        b = rng.randint(a + 1, len(value))
        out = value[:b] + value[a:b] + value[b:]
    elif op == "cut":
        a = rng.randrange(len(value))
        out = value[a : rng.randint(a, len(value))]
    else:
        chars = list(value)
        i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
        chars[i], chars[j] = chars[j], chars[i]
        out = "".join(chars)
    return out[:MAX_LEN]


def _sequence(items: list[Any], rng: random.Random, domain: Domain, depth: int) -> list[Any]:
    ops = ["insert", "mutate"]
    if items:
        ops += ["delete", "duplicate", "swap", "mutate", "mutate"]
    if len(items) > 1:
        ops += ["sort", "reverse", "shuffle"]
    op = rng.choice(ops)
    items = list(items)
    if op == "insert":
        if items:
            item = mutate_value(copy.deepcopy(rng.choice(items)), rng, domain, depth + 1)
            items.insert(rng.randint(0, len(items)), item)
    elif op == "mutate" and items:
        at = rng.randrange(len(items))
        items[at] = mutate_value(items[at], rng, domain, depth + 1)
    elif op == "delete":
        del items[rng.randrange(len(items))]
    elif op == "duplicate":
        items.insert(rng.randint(0, len(items)), copy.deepcopy(rng.choice(items)))
    elif op == "swap":
        i, j = rng.randrange(len(items)), rng.randrange(len(items))
        items[i], items[j] = items[j], items[i]
    elif op == "sort":
        try:
            items.sort()
        except TypeError:
            pass
    elif op == "reverse":
        items.reverse()
    elif op == "shuffle":
        rng.shuffle(items)
    return items[:MAX_LEN]


def mutate_value(value: Any, rng: random.Random, domain: Domain, depth: int = 0) -> Any:
    """A mutated copy of one value of the same type (see the module docstring)."""
    if depth > MAX_DEPTH:
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return mutate_int(value, rng, domain)
    if isinstance(value, float):
        return mutate_float(value, rng, domain)
    if isinstance(value, str):
        return mutate_str(value, rng, domain)
    if isinstance(value, list):
        return _sequence(value, rng, domain, depth)
    if isinstance(value, tuple):
        return tuple(_sequence(list(value), rng, domain, depth))
    if isinstance(value, set | frozenset):
        items = list(value)
        try:
            items.sort()
        except TypeError:
            items.sort(key=repr)
        if items and rng.random() < 0.5:
            del items[rng.randrange(len(items))]
        elif items:
            items.append(mutate_value(rng.choice(items), rng, domain, depth + 1))
        return type(value)(items[:MAX_LEN])
    if isinstance(value, dict):
        keys = list(value)
        out = dict(value)
        op = rng.choice(["delete", "value", "add"] if keys else ["add"])
        if op == "delete":
            del out[rng.choice(keys)]
        elif op == "value":
            key = rng.choice(keys)
            out[key] = mutate_value(out[key], rng, domain, depth + 1)
        elif keys:
            key = rng.choice(keys)
            new_key = mutate_value(key, rng, domain, depth + 1)
            out[new_key] = copy.deepcopy(value[key])
        return dict(list(out.items())[:MAX_LEN])
    return value  # other types are left alone


def mutate_input(args: Sequence[Any], rng: random.Random, domains: Sequence[Domain]) -> tuple[Any, ...]:
    """A new input from `args`: one argument mutated (sometimes two)."""
    out = list(copy.deepcopy(list(args)))
    if not out:
        return ()
    positions = [rng.randrange(len(out))]
    if len(out) > 1 and rng.random() < 0.3:
        positions.append(rng.randrange(len(out)))
    for position in positions:
        domain = domains[position] if position < len(domains) else Domain()
        out[position] = mutate_value(out[position], rng, domain)
    return tuple(out)
