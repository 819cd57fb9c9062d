"""What verdicts say: the verdict lines a harness or the judge writes, masked details, and the
deterministic text of a returned value that behaviour digests are made of.

A verdict line is `V <nonce> <status> <phase> <error type hex> <traceback hex> <elapsed>`,
followed by per-test lines `C <nonce> <index> <outcome>` and, when the per-test pass finished,
`D <nonce> <behaviour digest>`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

DETAIL_CHARS = 2000
_VERDICT_STATUSES = ("passed", "failed", "error")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # object addresses in reprs differ between runs
# a verdict's detail shows where an address was, not which: the same program, the same detail
mask_addresses = functools.partial(_ADDRESS.sub, " at 0x…")
_BEHAVIOUR_DEPTH = 20
_BEHAVIOUR_NODES = 10_000
_HEX = re.compile(rb"[0-9a-f]{16}")


def behaviour_text(value: Any, depth: int = 0, budget: list[int] | None = None) -> str:
    """A deterministic text for a value a candidate returned: containers by type with sets
    and dicts (subclasses too) in sorted order, object addresses removed; a value whose repr
    fails is named by its type. At most _BEHAVIOUR_NODES containers, _BEHAVIOUR_DEPTH deep, are
    walked per value (one that shares sub-lists can be exponentially large when written out);
    a container beyond that is named by its type."""
    budget = [_BEHAVIOUR_NODES] if budget is None else budget
    kind = type(value)
    try:
        if isinstance(value, (list, tuple, set, frozenset, dict)):
            if depth >= _BEHAVIOUR_DEPTH or budget[0] <= 0:
                return f"<{kind.__name__}>"
            budget[0] -= 1
            if isinstance(value, dict):
                items = sorted(
                    f"{behaviour_text(k, depth + 1, budget)}:{behaviour_text(v, depth + 1, budget)}"
                    for k, v in value.items()
                )
            else:
                items = [behaviour_text(v, depth + 1, budget) for v in value]
                if isinstance(value, (set, frozenset)):
                    items.sort()
            return f"{kind.__name__}({','.join(items)})"
        return _ADDRESS.sub("", repr(value))
    except BaseException:  # noqa: BLE001 - e.g. a raising __repr__, an int too long to print
        return f"<{kind.__name__}>"


def tail(text: str, n: int = DETAIL_CHARS) -> str:
    """The end of a verdict's detail, object addresses masked: the same program gives the same
    detail in every run (addresses in reprs differ with each server's memory layout)."""
    text = mask_addresses(text)
    return text if len(text) <= n else "…" + text[-(n - 1) :]


def _unhex(field: bytes) -> str:
    return "" if field == b"-" else bytes.fromhex(field.decode("ascii")).decode("utf-8", "replace")


def parse_verdict(data: bytes, nonce: str) -> tuple[dict[str, Any] | None, dict[int, str], bool]:
    """(overall verdict or None, per-test outcomes by index, whether the per-test pass finished).

    When the per-test pass finished, the verdict also holds "behaviour", its digest.

    The overall verdict is the first line only, and only if complete and tagged with `nonce`.
    """
    lines = data.split(b"\n")
    complete, tag = lines[:-1], nonce.encode()
    if not complete:
        return None, {}, False
    first = complete[0].split(b" ")
    verdict = None
    if len(first) == 7 and first[0] == b"V" and first[1] == tag:
        try:
            status = first[2].decode("ascii")
            phase = first[3].decode("ascii")
            verdict = {
                "status": status,
                "phase": "" if phase == "-" else phase,
                "error_type": _unhex(first[4]),
                "traceback": _unhex(first[5]),
                "elapsed": float(first[6]),
            }
        except ValueError:
            verdict = None
        if verdict is not None and verdict["status"] not in _VERDICT_STATUSES:
            verdict = None
    if verdict is None:
        return None, {}, False
    cases: dict[int, str] = {}
    done = False
    for raw in complete[1:]:
        parts = raw.split(b" ")
        if len(parts) >= 2 and parts[1] != tag:
            continue
        if parts[0] == b"C" and len(parts) == 4 and parts[2].isdigit():
            cases.setdefault(int(parts[2]), parts[3].decode("ascii", "replace"))
        elif parts[0] == b"D" and len(parts) == 3 and _HEX.fullmatch(parts[2]):
            verdict["behaviour"] = parts[2].decode("ascii")
            done = True
            break
    return verdict, cases, done
