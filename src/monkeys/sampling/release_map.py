"""Which dataset problem each problem key of an imported sample set is (`import.match`).

- `id`: `problem_id_template.format(key)` is the problem id.
- `source_index`: the key is the problem's index in the dataset's original split, as Large
  Language Monkeys' `orig_dset_idx` is (GSM8K, MATH and CodeContests test splits). The
  problems table keeps each problem's index in its split as metadata `source_index`: the
  row's position in a source that is the whole split (monkeys.datasets.registry). For
  MATH, `orig_dset_idx` counts rows of `hendrycks/competition_math`'s test split: give that
  split, in its order, as the source (a MATH.tar or directory source is read in path order,
  which the question check below then reports). MATH-500 is a subset and keeps no index into
  MATH's split: use `question` there.
- `question`: the file's question equals exactly one problem's text.

Where the file states the question (`columns.question`; the preset maps monkey_business's
`question`), it must equal the problem's text (the problem before the prompt template;
surrounding whitespace and line ends aside) for `id` and `source_index` too, and a stated
split must be `test` for `source_index`. A key that maps to no problem, to a problem whose
text differs, or to the same problem as another key is never guessed: the mapping table
says why, and the import stops (`unmatched: error`, the default) or goes on without those
keys (`unmatched: drop`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.sampling.importer import ImportBackendError, resolve_spec
from monkeys.tables.imports import IMPORT_MAPPING
from monkeys.tables.io import read_table

log = logging.getLogger(__name__)

STATUSES = ("matched", "not_selected", "no_problem", "ambiguous", "text_differs", "split_differs")


def _text(value: str) -> str:
    return value.replace("\r\n", "\n").strip()


def statements(problems: pd.DataFrame) -> pd.Series:
    """Each problem's text before the prompt template (metadata `statement`, else `prompt`)."""
    meta = [json.loads(m or "{}") for m in problems["metadata"]]
    return pd.Series(
        [m.get("statement", p) for m, p in zip(meta, problems["prompt"], strict=True)],
        index=problems["problem_id"].to_numpy(),
    )


def source_indices(problems: pd.DataFrame) -> dict[int, str]:
    """source_index -> problem id, for the problems whose metadata has one."""
    out = {}
    for pid, meta in zip(problems["problem_id"], problems["metadata"], strict=True):
        index = json.loads(meta or "{}").get("source_index")
        if index is not None:
            out[int(index)] = pid
    return out


def _where_texts_differ(ours: str, theirs: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs))
    )
    return (
        f"texts differ at character {at}: the file has {theirs[max(0, at - 20) : at + 40]!r}, "
        f"the problem {ours[max(0, at - 20) : at + 40]!r}"
    )


def map_release(
    index: pd.DataFrame, problems: pd.DataFrame, spec: Mapping[str, Any], *, model: str, dataset: str
) -> pd.DataFrame:
    """One IMPORT_MAPPING row per key of a converted release (`index`: RELEASE_PROBLEMS)."""
    spec = resolve_spec(spec)
    match = spec["match"]
    texts = statements(problems)
    ids = set(problems["problem_id"])
    by_index = source_indices(problems) if match == "source_index" else {}
    if match == "source_index" and not by_index:
        raise ImportBackendError(
            f"dataset {dataset!r} keeps no index into its original split (a subset such as "
            "MATH-500, or a source that is not the whole split), so the import's keys "
            f"({spec['columns'].get('problem_id', 'problem_id')}) cannot be resolved; set the "
            "model's import.match: question (match by the problem text)"
        )
    by_text: dict[str, list[str]] = {}
    if match == "question":
        for pid, text in texts.items():
            by_text.setdefault(_text(text), []).append(pid)
    rows = []
    for key, split, question, count in zip(
        index["key"], index["split"], index["question"], index["num_samples"], strict=True
    ):
        pid, status, detail = None, "matched", ""
        if match == "id":
            pid = spec["problem_id_template"].format(key)
            if pid not in ids:  # a file may hold other datasets' or unselected problems
                pid, status, detail = None, "not_selected", f"{pid!r} is not a selected problem"
        elif match == "source_index":
            try:
                pid = by_index.get(int(key))
            except ValueError:
                pid = None
            if pid is None:
                status, detail = "no_problem", f"no problem has index {key} in the dataset's split"
            elif split and split != "test":
                status, detail = "split_differs", f"the file names split {split!r}, the dataset test"
        else:
            found = by_text.get(_text(question), []) if question else []
            if len(found) == 1:
                pid = found[0]
            elif not found:
                status = "no_problem"
                detail = (
                    "the file states no question"
                    if not question
                    else "no problem of the dataset has this text"
                )
            else:
                status, detail = "ambiguous", f"problems {found[:3]} all have this text"
        if status == "matched" and match != "question" and question and _text(question) != _text(texts[pid]):
            status, detail = "text_differs", _where_texts_differ(_text(texts[pid]), _text(question))
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "key": key,
                "problem_id": pid,
                "status": status,
                "detail": detail,
                "num_samples": count,
            }
        )
    mapping = pd.DataFrame(rows, columns=IMPORT_MAPPING.names)
    taken = mapping["problem_id"].where(mapping["status"] == "matched")
    twice = taken.notna() & taken.duplicated(keep=False)
    mapping.loc[twice, "detail"] = [f"{pid!r} is also another key's problem" for pid in taken[twice]]
    mapping.loc[twice, "status"] = "ambiguous"
    return mapping


def summary(mapping: pd.DataFrame) -> str:
    """One line: how many keys matched and why the others did not, with examples."""
    counts = mapping["status"].value_counts().to_dict()
    bad = mapping[mapping["status"] != "matched"]
    examples = "; ".join(f"key {r.key!r} ({r.status}: {r.detail})" for r in bad.head(5).itertuples())
    return f"{counts.get('matched', 0)} of {len(mapping)} problem keys matched" + (
        f", {len(bad)} not ({', '.join(f'{k}: {v}' for k, v in counts.items() if k != 'matched')}); "
        f"e.g. {examples}"
        if len(bad)
        else ""
    )


def check_mapping(mapping: pd.DataFrame, spec: Mapping[str, Any], *, where: str) -> None:
    """Stop on keys that match no problem (or not uniquely, or whose text differs), unless
    `unmatched: drop`; either way say which and why in the log."""
    spec = resolve_spec(spec)
    line = f"{where}: {summary(mapping)}"
    matched = int((mapping["status"] == "matched").sum())
    other = int((mapping["status"] == "not_selected").sum())
    if matched and matched + other == len(mapping):
        log.info("%s", line)
        return
    if spec["unmatched"] == "drop" and matched:
        log.warning("%s; those keys are left out (import.unmatched: drop)", line)
        return
    hint = (
        " Check the dataset's source (its order and text must be the original split's) and "
        "import.match; set import.unmatched: drop to go on with the matched problems only."
    )
    raise ImportBackendError(line + "." + hint)


def imported_problem_ids(mappings: Iterable[str | Path], problems: pd.DataFrame) -> list[str]:
    """`problems: from_import`: the problems every import maps a key to, in the dataset's order."""
    common: set[str] | None = None
    for path in mappings:
        mapping = read_table(path, IMPORT_MAPPING)
        ids = set(mapping.loc[mapping["status"] == "matched", "problem_id"])
        common = ids if common is None else common & ids
    if common is None:
        raise ImportBackendError("problems: from_import, but no model of the config has backend import")
    return [pid for pid in problems["problem_id"] if pid in common]
