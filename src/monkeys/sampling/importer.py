"""The `import` backend: existing sample sets instead of sampling, so the analyses run on them.

A model with `backend: import` reads its samples from a file (`import.path`: JSONL, a JSON
array, or Parquet; `.gz` for the JSON forms), in one of two layouts:

- `sample_rows`: one row per sample, with columns for the problem key, the completion and
  optionally the sample index (else the file order within a problem), prompt/completion
  token counts, finish reason, a verdict (`correct`) and a reward score (`score`);
- `problem_rows`: one row per problem with a list of samples (and optionally lists of
  verdicts, scores and token counts).

`columns` maps these fields to the file's column names (also `question`, the problem text
the file states, and `split`, the split it names). How the file's problem key finds the
dataset's problem is `match` (monkeys.sampling.release_map): `id` (`problem_id_template`
turns the key into the problem id; `"HumanEval/{}"` turns 0 into HumanEval/0), `source_index`
(the key is the problem's index in the dataset's original split) or `question` (the file's
question is the problem's text).

Preset `monkey_business`: the samples released with Large Language Monkeys (Hugging Face
dataset ScalingIntelligence/monkey_business, one file per task and model such as
`GSM8K_Llama-3-8B-Instruct.json`). As documented on the dataset card and read by the
authors' code, each file is a JSON array with one record per problem: `orig_dset_split`,
`orig_dset_idx` (the problem's index in the original split), `prompt`, `question`, `samples`
(up to 10,000 strings), `is_corrects` (their verdicts) and task fields (`gt_answer`,
`test_cases`, `theorem_name`). The preset matches `orig_dset_idx` against the dataset's
`source_index` and checks `question` against the problem's text; sample i is `samples[i]`;
`is_corrects` is kept as each sample's `imported_correct`, the verdict unless the model's
`import.regrade` is true (monkeys.stages.execute). The files carry no token counts:
imported samples then record 0 tokens (with a warning), so FLOPs/dollar analyses of them
need counts from elsewhere.

A file is converted once (`convert_release`, rule import_release) to a Parquet of one row per
sample whose row groups each hold one problem's samples; a sampling shard (`ImportSampler`)
reads only the row groups of its problems and sample indices, so its memory does not grow
with the file. Imported samples record seed -1 and wall time 0.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from monkeys.atomic import atomic_path
from monkeys.errors import MonkeysError
from monkeys.hashing import sha256_file
from monkeys.sampling.base import SampleRequest, SampleResult, SamplerInfo, SamplingParams
from monkeys.tables.imports import RELEASE_PROBLEMS, RELEASE_SAMPLES
from monkeys.tables.io import write_table

log = logging.getLogger(__name__)

FIELDS = (
    "problem_id",
    "completion",
    "sample_index",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "correct",
    "score",
    "question",
    "split",
)
MATCHES = ("id", "source_index", "question")
ROWS_PER_GROUP = 1000  # samples per row group of a converted release
MAX_BUFFERED_ROWS = 50_000  # samples held before all pending row groups are written

PRESETS: dict[str, dict[str, Any]] = {
    "monkey_business": {
        "layout": "problem_rows",
        "match": "source_index",
        "columns": {
            "problem_id": "orig_dset_idx",
            "completion": "samples",
            "correct": "is_corrects",
            "question": "question",
            "split": "orig_dset_split",
        },
    },
}


class ImportBackendError(MonkeysError, ValueError):
    """An import file is missing, unreadable, or lacks the samples a shard needs."""


def resolve_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The import settings with the preset's layout, match and columns filled in (explicit keys win)."""
    out = dict(spec)
    preset = out.get("preset")
    if preset:
        if preset not in PRESETS:
            raise ImportBackendError(f"unknown import preset {preset!r}; known: {sorted(PRESETS)}")
        base = PRESETS[preset]
        out.setdefault("layout", base["layout"])
        out.setdefault("match", base["match"])
        out["columns"] = {**base["columns"], **(out.get("columns") or {})}
    out.setdefault("layout", "sample_rows")
    out.setdefault("match", "id")
    out.setdefault("columns", {})
    out.setdefault("problem_id_template", "{}")
    out.setdefault("unmatched", "error")
    out.setdefault("regrade", False)
    unknown = sorted(set(out["columns"]) - set(FIELDS))
    if unknown:
        raise ImportBackendError(f"import.columns: unknown field(s) {unknown}; fields: {list(FIELDS)}")
    if out["layout"] not in ("sample_rows", "problem_rows"):
        raise ImportBackendError(f"import.layout must be sample_rows or problem_rows, not {out['layout']!r}")
    if out["match"] not in MATCHES:
        raise ImportBackendError(f"import.match must be one of {list(MATCHES)}, not {out['match']!r}")
    if out["match"] != "id" and out["problem_id_template"] != "{}":
        raise ImportBackendError(
            f"import.problem_id_template ({out['problem_id_template']!r}) applies to match: id, "
            f"but this import matches by {out['match']}"
            + (f" (preset {preset})" if preset else "")
            + "; drop the template, or set import.match: id"
        )
    return out


# --- reading records, streamed -------------------------------------------------------------------


def _format(path: Path, declared: str) -> str:
    if declared and declared != "auto":
        return declared
    name = path.name.lower().removesuffix(".gz")
    for suffix, kind in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".json", "json")):
        if name.endswith(suffix):
            return kind
    raise ImportBackendError(
        f"{path}: cannot tell the format from the name; set import.format (jsonl, json or parquet)"
    )


def _json_array(fh: IO[str], where: str, chunk: int = 1 << 20) -> Iterator[Any]:
    """The elements of a top-level JSON array of objects, decoded one at a time.

    Holds about one element (plus a chunk) in memory, not the whole file.
    """
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False

    def fill(size: int) -> None:
        nonlocal buf, pos, eof
        more = fh.read(size)
        eof = not more
        buf, pos = buf[pos:] + more, 0

    def next_char() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or eof:
                return buf[pos] if pos < len(buf) else ""
            fill(chunk)

    if next_char() != "[":
        raise ImportBackendError(f"{where}: expected a JSON array of records")
    pos += 1
    if next_char() == "]":
        return
    while True:
        if not next_char():
            raise ImportBackendError(f"{where}: not valid JSON (the array ends early)")
        if next_char() != "{":
            raise ImportBackendError(f"{where}: expected JSON objects (one per row) in the array")
        size = chunk
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if eof:
                    raise ImportBackendError(f"{where}: not valid JSON ({exc})") from None
                fill(size)  # an incomplete object: read more and decode it again
                size *= 2
        pos = end
        yield value
        separator = next_char()
        if not separator:
            raise ImportBackendError(f"{where}: not valid JSON (the array ends early)")
        pos += 1
        if separator == "]":
            if next_char():
                raise ImportBackendError(f"{where}: unexpected data after the JSON array")
            return
        if separator != ",":
            raise ImportBackendError(f"{where}: not valid JSON (expected ',' or ']' after a row)")


def iter_records(path: str | Path, fmt: str = "auto") -> Iterator[dict[str, Any]]:
    """The file's rows as dicts, one at a time (JSONL, a JSON array of objects, or Parquet)."""
    path = Path(path)
    if not path.is_file():
        raise ImportBackendError(f"import file not found: {path}")
    kind = _format(path, fmt)
    if kind == "parquet":
        try:
            reader = pq.ParquetFile(path)
            for batch in reader.iter_batches(batch_size=16):
                yield from batch.to_pylist()
        except (OSError, pa.ArrowInvalid) as exc:
            raise ImportBackendError(f"{path}: not readable as parquet ({exc})") from None
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            if kind == "json":
                yield from _json_array(fh, str(path))
                return
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ImportBackendError(f"{path}: line {number} is not JSON ({exc})") from None
                if not isinstance(row, dict):
                    raise ImportBackendError(f"{path}: line {number} is not a JSON object")
                yield row
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ImportBackendError(f"{path}: not readable as {kind} ({exc})") from None


# --- converting a file once ----------------------------------------------------------------------


def _key_text(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise ImportBackendError(f"{where}: the problem key is {value!r}, not an id or index")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _label(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ImportBackendError(f"{where}: verdict {value!r} is not true/false (or 1/0)")


def _score(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ImportBackendError(f"{where}: score {value!r} is not a number")
    return float(value)


def _per_sample(value: Any, count: int, field: str, where: str) -> list[Any]:
    """A problem row's per-sample field: a list of `count` values, or one value for all."""
    if isinstance(value, list | tuple):
        if len(value) != count:
            raise ImportBackendError(f"{where}: {field} has {len(value)} values for {count} samples")
        return list(value)
    return [value] * count


class _Writer:
    """Buffers a converted release's rows per key; writes row groups of one key each."""

    def __init__(self, path: Path, rows_per_group: int):
        self.writer = pq.ParquetWriter(path, RELEASE_SAMPLES)
        self.rows_per_group = rows_per_group
        self.pending: dict[str, list[tuple]] = {}
        self.buffered = 0

    def add(self, key: str, row: tuple) -> None:
        rows = self.pending.setdefault(key, [])
        rows.append(row)
        self.buffered += 1
        if len(rows) >= self.rows_per_group:
            self._flush(key)
        if self.buffered >= MAX_BUFFERED_ROWS:
            for pending in list(self.pending):
                self._flush(pending)

    def _flush(self, key: str) -> None:
        rows = self.pending.pop(key, [])
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        table = pa.table(
            {
                "key": [key] * len(rows),
                **{
                    name: list(values)
                    for name, values in zip(RELEASE_SAMPLES.names[1:], columns, strict=True)
                },
            },
            schema=RELEASE_SAMPLES,
        )
        self.writer.write_table(table, row_group_size=len(rows))
        self.buffered -= len(rows)

    def close(self) -> None:
        for key in list(self.pending):
            self._flush(key)
        self.writer.close()


def _check_unique(path: Path) -> None:
    """Each (key, sample_index) at most once: one key's indices at a time, from its row groups."""
    file = pq.ParquetFile(path)
    for key, groups in _row_groups(file, path).items():
        indices = file.read_row_groups([g[0] for g in groups], columns=["sample_index"])
        counts = pc.value_counts(indices["sample_index"])
        repeated = counts.filter(pc.greater(counts.field("counts"), 1))
        if len(repeated):
            first = repeated[0].as_py()
            raise ImportBackendError(
                f"sample {first['values']} of problem key {key!r} appears {first['counts']} times"
            )


def convert_release(
    spec: Mapping[str, Any],
    samples_out: str | Path,
    problems_out: str | Path,
    *,
    rows_per_group: int = ROWS_PER_GROUP,
) -> pd.DataFrame:
    """Convert an import file once: its samples to `samples_out` (RELEASE_SAMPLES, row groups of
    one problem key) and one row per key to `problems_out` (RELEASE_PROBLEMS), streamed.

    Returns the per-key table. Temp names are written and renamed, so a killed conversion
    leaves no output.
    """
    spec = resolve_spec(spec)
    path = Path(spec["path"]).expanduser()
    if spec.get("sha256") and path.is_file():
        digest = sha256_file(path)
        if digest != spec["sha256"]:
            raise ImportBackendError(f"{path}: sha256 is {digest}, expected {spec['sha256']}")
    columns = {field: spec["columns"].get(field, field) for field in FIELDS}
    per_key: dict[str, dict[str, Any]] = {}
    counters: dict[str, int] = {}
    explicit_index = False  # whether the file gives sample indices (else they are positions)
    row_number = 0
    samples_out, problems_out = Path(samples_out), Path(problems_out)
    samples_out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(samples_out) as tmp:
        writer = _Writer(Path(tmp), rows_per_group)
        try:
            for number, record in enumerate(iter_records(path, spec.get("format", "auto"))):
                where = f"{path}: row {number}"
                for field in ("problem_id", "completion"):
                    if columns[field] not in record:
                        raise ImportBackendError(
                            f"{where}: no column {columns[field]!r} for {field} (columns: "
                            f"{sorted(map(str, record))[:12]}); map it in import.columns"
                        )
                key = _key_text(record[columns["problem_id"]], where)
                explicit_index = explicit_index or columns["sample_index"] in record
                if spec["layout"] == "problem_rows":
                    if key in per_key:
                        raise ImportBackendError(f"{where}: problem key {key!r} appears in more than one row")
                    rows = _problem_rows(record, columns, where)
                else:
                    rows = [_sample_row(record, columns, counters, key, where)]
                info = per_key.setdefault(
                    key,
                    {
                        "key": key,
                        "position": row_number,
                        "split": str(record.get(columns["split"]) or ""),
                        "question": str(record.get(columns["question"]) or ""),
                        "num_samples": 0,
                        "num_labelled": 0,
                        "num_labelled_correct": 0,
                    },
                )
                for row in rows:
                    writer.add(key, row)
                    info["num_samples"] += 1
                    info["num_labelled"] += row[5] is not None
                    info["num_labelled_correct"] += row[5] is True
                row_number += len(rows)
        finally:
            writer.close()
        if not per_key:
            raise ImportBackendError(f"{path} holds no samples")
        if explicit_index:
            _check_unique(Path(tmp))  # positions are unique by construction
    index = pd.DataFrame(list(per_key.values()), columns=RELEASE_PROBLEMS.names)
    write_table(index, problems_out, RELEASE_PROBLEMS)
    log.info(
        "import: converted %s (%s layout): %d problems, %d samples, %d with a verdict",
        path,
        spec["layout"],
        len(index),
        index["num_samples"].sum(),
        index["num_labelled"].sum(),
    )
    return index


def _problem_rows(record: Mapping[str, Any], columns: Mapping[str, str], where: str) -> list[tuple]:
    samples = record[columns["completion"]]
    if not isinstance(samples, list | tuple):
        raise ImportBackendError(f"{where}: the samples column is not a list")
    count = len(samples)
    values = {
        field: _per_sample(record.get(columns[field]), count, columns[field], where)
        for field in (
            "sample_index",
            "prompt_tokens",
            "completion_tokens",
            "finish_reason",
            "correct",
            "score",
        )
    }
    indices = [i if v is None else int(v) for i, v in enumerate(values["sample_index"])]
    return [
        (
            index,
            str(text),
            str(reason or "unknown"),
            -1 if prompt is None else int(prompt),
            -1 if completion is None else int(completion),
            _label(label, where),
            _score(score, where),
        )
        for index, text, reason, prompt, completion, label, score in zip(
            indices,
            samples,
            values["finish_reason"],
            values["prompt_tokens"],
            values["completion_tokens"],
            values["correct"],
            values["score"],
            strict=True,
        )
    ]


def _sample_row(
    record: Mapping[str, Any], columns: Mapping[str, str], counters: dict[str, int], key: str, where: str
) -> tuple:
    index = record.get(columns["sample_index"])
    if index is None:
        index = counters.get(key, 0)  # file order within the problem
    counters[key] = counters.get(key, 0) + 1
    prompt, completion = record.get(columns["prompt_tokens"]), record.get(columns["completion_tokens"])
    return (
        int(index),
        str(record[columns["completion"]]),
        str(record.get(columns["finish_reason"]) or "unknown"),
        -1 if prompt is None else int(prompt),
        -1 if completion is None else int(completion),
        _label(record.get(columns["correct"]), where),
        _score(record.get(columns["score"]), where),
    )


# --- the sampler ---------------------------------------------------------------------------------


def _row_groups(file: pq.ParquetFile, path: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    """key -> [(row group, first sample index, last sample index, rows)] of a converted release."""
    names = file.schema_arrow.names
    key_col, index_col = names.index("key"), names.index("sample_index")
    groups: dict[str, list[tuple[int, int, int, int]]] = {}
    for i in range(file.metadata.num_row_groups):
        group = file.metadata.row_group(i)
        keys, indices = group.column(key_col).statistics, group.column(index_col).statistics
        if (
            keys is None
            or indices is None
            or not keys.has_min_max
            or not indices.has_min_max
            or keys.min != keys.max
        ):
            raise ImportBackendError(
                f"{path}: row group {i} is not one problem's samples; "
                "convert the file with monkeys.sampling.importer.convert_release"
            )
        groups.setdefault(str(keys.min), []).append((i, int(indices.min), int(indices.max), group.num_rows))
    return groups


class ImportSampler:
    """Looks samples up in a converted import (`convert_release`) instead of drawing them.

    `mapping` (IMPORT_MAPPING rows, monkeys.sampling.release_map) says which file key holds
    each problem; each problem's samples are read from its own row groups when asked for.
    """

    def __init__(
        self, *, name: str, spec: Mapping[str, Any], samples_path: str | Path, mapping: pd.DataFrame
    ):
        self.spec = resolve_spec(spec)
        self.path = Path(samples_path)
        self.file = pq.ParquetFile(self.path)
        self._groups = _row_groups(self.file, self.path)
        matched = mapping[mapping["status"] == "matched"]
        self._keys = dict(zip(matched["problem_id"], matched["key"], strict=True))
        self._counts = {key: sum(g[3] for g in groups) for key, groups in self._groups.items()}
        self._warned = False
        self.info = SamplerInfo(
            backend="import",
            model=name,
            details={
                "path": str(self.spec["path"]),
                "converted": str(self.path),
                "preset": self.spec.get("preset"),
                "layout": self.spec["layout"],
                "match": self.spec["match"],
                "samples": sum(self._counts.values()),
                "problems": len(self._keys),
            },
        )

    def _missing(self, request: SampleRequest, have: int | None) -> ImportBackendError:
        path = self.spec["path"]
        if have is None:
            some = ", ".join(map(repr, list(self._keys)[:3]))
            return ImportBackendError(
                f"{path} has no samples for problem {request.problem_id!r} (its samples map to "
                f"{len(self._keys)} problems of the dataset, e.g. {some}); see "
                "results/imports/<model>/<dataset>/mapping.parquet, import.match, and the "
                "dataset's problem selection (`problems: from_import` takes the file's problems)"
            )
        return ImportBackendError(
            f"{path} has {have} samples of {request.problem_id!r} but the shard needs sample "
            f"{request.sample_index}; set sampling.num_samples to at most "
            f"{min(self._counts[k] for k in self._keys.values())}"
        )

    def _slice(self, key: str, indices: Sequence[int]) -> pd.DataFrame:
        """The file's rows of `key` with these sample indices, read from their row groups only."""
        low, high = min(indices), max(indices)
        groups = [g for g, first, last, _ in self._groups.get(key, []) if first <= high and last >= low]
        if not groups:
            return RELEASE_SAMPLES.empty_table().to_pandas().set_index("sample_index")
        table = self.file.read_row_groups(groups, columns=RELEASE_SAMPLES.names[1:])
        wanted = pc.is_in(table["sample_index"], value_set=pa.array(list(indices), pa.int32()))
        return table.filter(wanted).to_pandas().set_index("sample_index")

    def close(self) -> None:
        """Close the converted file."""
        self.file.close()

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """The imported sample for each request (params are the importer's, not applied)."""
        out: list[SampleResult] = []
        by_problem: dict[str, pd.DataFrame] = {}
        for request in requests:
            key = self._keys.get(request.problem_id)
            if key is None:
                raise self._missing(request, None)
            if request.problem_id not in by_problem:
                wanted = [r.sample_index for r in requests if r.problem_id == request.problem_id]
                by_problem[request.problem_id] = self._slice(key, wanted)
            rows = by_problem[request.problem_id]
            if request.sample_index not in rows.index:
                raise self._missing(request, self._counts.get(key, 0))
            row = rows.loc[request.sample_index]
            prompt_tokens, completion_tokens = int(row["prompt_tokens"]), int(row["completion_tokens"])
            if (prompt_tokens < 0 or completion_tokens < 0) and not self._warned:
                log.warning(
                    "import: %s has no token counts; imported samples record 0 tokens", self.spec["path"]
                )
                self._warned = True
            correct, score = row["correct"], row["score"]
            out.append(
                SampleResult(
                    completion=str(row["completion"]),
                    finish_reason=str(row["finish_reason"]),
                    prompt_tokens=max(prompt_tokens, 0),
                    completion_tokens=max(completion_tokens, 0),
                    wall_s=0.0,
                    seed=-1,
                    score=None if score is None or pd.isna(score) else float(score),
                    imported_correct=None if correct is None or pd.isna(correct) else bool(correct),
                )
            )
        return out


def from_config(
    model: str, model_spec: Mapping[str, Any], weights: Any = None, imported: Mapping[str, Any] | None = None
) -> ImportSampler:
    """The import backend (monkeys.sampling.backends): samples from a converted release."""
    from monkeys.tables.imports import IMPORT_MAPPING
    from monkeys.tables.io import read_table

    if not imported:
        raise ImportBackendError(
            f"model {model!r}: an import samples from its converted file "
            "(rules import_release and import_map)"
        )
    return ImportSampler(
        name=model,
        spec=model_spec["import"],
        samples_path=imported["samples"],
        mapping=read_table(imported["mapping"], IMPORT_MAPPING),
    )
