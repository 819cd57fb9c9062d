"""The `import` backend: existing sample sets instead of sampling, so the analyses run on them.

A model with `backend: import` reads its samples from a file (`import.path`:
JSONL, a JSON array, or Parquet; `.gz` for the JSON forms), in one of two layouts:

- `sample_rows`: one row per sample, with columns for the problem id, the
  completion and optionally the sample index (else the file order within a
  problem), prompt/completion token counts and finish reason;
- `problem_rows`: one row per problem with a list of samples (and optionally
  lists of token counts).

`columns` maps these fields to the file's column names, and
`problem_id_template` turns the file's problem key into the dataset's problem id
(`"{}"` keeps it; `"HumanEval/{}"` turns 0 into HumanEval/0).

Preset `monkey_business`: the samples released with Large Language Monkeys
(Hugging Face dataset ScalingIntelligence/monkey_business, one file per
task and model such as `GSM8K_Llama-3-8B-Instruct.json`). As documented on the
dataset card and read by the authors' code, each file is a JSON array with one
record per problem: `orig_dset_split`, `orig_dset_idx` (the problem's index in
the original split), `prompt`, `question`, `samples` (up to 10,000 strings),
`is_corrects` (their verdicts) and task fields (`gt_answer`, `test_cases`,
`theorem_name`). The preset reads `orig_dset_idx` as the problem key and
`samples` as the completions in order (sample index = list position); it keeps
neither their prompt nor their verdicts (our graders re-check every sample).
The files carry no token counts: imported samples then record 0 tokens (with a
warning), so FLOPs/dollar analyses of them need counts from elsewhere.

Imported samples record seed -1 and wall time 0.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monkeys.errors import MonkeysError
from monkeys.hashing import sha256_file
from monkeys.sampling.base import SampleRequest, SampleResult, SamplerInfo, SamplingParams

log = logging.getLogger("monkeys")

FIELDS = ("problem_id", "completion", "sample_index", "prompt_tokens", "completion_tokens",
          "finish_reason")

PRESETS: dict[str, dict[str, Any]] = {
    "monkey_business": {
        "layout": "problem_rows",
        "columns": {"problem_id": "orig_dset_idx", "completion": "samples"},
    },
}


class ImportBackendError(MonkeysError, ValueError):
    """An import file is missing, unreadable, or lacks the samples a shard needs."""


def resolve_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The import settings with the preset's layout and columns filled in (explicit keys win)."""
    out = dict(spec)
    preset = out.get("preset")
    if preset:
        if preset not in PRESETS:
            raise ImportBackendError(f"unknown import preset {preset!r}; known: {sorted(PRESETS)}")
        base = PRESETS[preset]
        out.setdefault("layout", base["layout"])
        out["columns"] = {**base["columns"], **(out.get("columns") or {})}
    out.setdefault("layout", "sample_rows")
    out.setdefault("columns", {})
    out.setdefault("problem_id_template", "{}")
    unknown = sorted(set(out["columns"]) - set(FIELDS))
    if unknown:
        raise ImportBackendError(f"import.columns: unknown field(s) {unknown}; fields: {list(FIELDS)}")
    if out["layout"] not in ("sample_rows", "problem_rows"):
        raise ImportBackendError(f"import.layout must be sample_rows or problem_rows, not {out['layout']!r}")
    return out


def _format(path: Path, declared: str) -> str:
    if declared and declared != "auto":
        return declared
    name = path.name.lower().removesuffix(".gz")
    for suffix, kind in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".json", "json")):
        if name.endswith(suffix):
            return kind
    raise ImportBackendError(f"{path}: cannot tell the format from the name; set import.format "
                             "(jsonl, json or parquet)")


def read_records(path: str | Path, fmt: str = "auto") -> pd.DataFrame:
    """The file's rows as a DataFrame (JSONL, JSON array of objects, or Parquet)."""
    path = Path(path)
    if not path.is_file():
        raise ImportBackendError(f"import file not found: {path}")
    kind = _format(path, fmt)
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            if kind == "jsonl":
                rows = [json.loads(line) for line in fh if line.strip()]
            else:
                rows = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ImportBackendError(f"{path}: not readable as {kind} ({exc})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ImportBackendError(f"{path}: expected {kind} records (objects), one per row")
    return pd.DataFrame(rows)


def _column(frame: pd.DataFrame, columns: Mapping[str, str], field: str, path: Path,
            required: bool) -> pd.Series | None:
    name = columns.get(field, field)
    if name in frame.columns:
        return frame[name]
    if required:
        raise ImportBackendError(f"{path}: no column {name!r} for {field} (columns: "
                                 f"{sorted(map(str, frame.columns))[:12]}); map it in import.columns")
    return None


def load_samples(spec: Mapping[str, Any]) -> pd.DataFrame:
    """Samples in long form: problem_id, sample_index, completion, finish_reason, token counts.

    Token counts missing from the file are -1 here (unknown); `ImportSampler` records 0.
    """
    spec = resolve_spec(spec)
    path = Path(spec["path"]).expanduser()
    frame = read_records(path, spec.get("format", "auto"))
    if spec.get("sha256"):
        digest = sha256_file(path)
        if digest != spec["sha256"]:
            raise ImportBackendError(f"{path}: sha256 is {digest}, expected {spec['sha256']}")
    columns = spec["columns"]
    template = spec["problem_id_template"]
    keys = _column(frame, columns, "problem_id", path, True)
    texts = _column(frame, columns, "completion", path, True)
    index = _column(frame, columns, "sample_index", path, False)
    optional = {f: _column(frame, columns, f, path, False)
                for f in ("prompt_tokens", "completion_tokens", "finish_reason")}
    if spec["layout"] == "problem_rows":
        rows: dict[str, list] = {f: [] for f in ("problem_id", "sample_index", "completion",
                                                 "prompt_tokens", "completion_tokens",
                                                 "finish_reason")}
        for r, (key, samples) in enumerate(zip(keys, texts, strict=True)):
            if not isinstance(samples, list | tuple) and not hasattr(samples, "tolist"):
                raise ImportBackendError(f"{path}: row {r}: the samples column is not a list")
            samples = list(samples)
            count = len(samples)
            rows["problem_id"] += [template.format(key)] * count
            rows["sample_index"] += list(range(count))
            rows["completion"] += [str(s) for s in samples]
            for field, default in (("prompt_tokens", -1), ("completion_tokens", -1),
                                   ("finish_reason", "unknown")):
                series = optional[field]
                value = None if series is None else series.iat[r]
                if value is None:
                    rows[field] += [default] * count
                elif isinstance(value, list | tuple) or hasattr(value, "tolist"):
                    rows[field] += list(value)
                else:
                    rows[field] += [value] * count
        out = pd.DataFrame(rows)
    else:
        out = pd.DataFrame({"problem_id": [template.format(k) for k in keys],
                            "completion": texts.astype(str).to_numpy()})
        out["sample_index"] = (index.astype(int).to_numpy() if index is not None
                               else out.groupby("problem_id").cumcount().to_numpy())
        for field, default in (("prompt_tokens", -1), ("completion_tokens", -1),
                               ("finish_reason", "unknown")):
            series = optional[field]
            out[field] = default if series is None else series.to_numpy()
    duplicated = out.duplicated(["problem_id", "sample_index"])
    if duplicated.any():
        first = out[duplicated].iloc[0]
        raise ImportBackendError(f"{path}: sample {first['sample_index']} of problem "
                                 f"{first['problem_id']!r} appears more than once")
    return out


class ImportSampler:
    """Looks samples up in an imported sample set instead of drawing them."""

    def __init__(self, *, name: str, spec: Mapping[str, Any]):
        self.spec = resolve_spec(spec)
        self.samples = load_samples(self.spec)
        self._rows = {key: i for i, key in enumerate(zip(self.samples["problem_id"],
                                                         self.samples["sample_index"], strict=True))}
        self._counts = self.samples.groupby("problem_id").size().to_dict()
        self._warned = False
        self.info = SamplerInfo(
            backend="import",
            model=name,
            details={"path": str(self.spec["path"]), "preset": self.spec.get("preset"),
                     "layout": self.spec["layout"], "samples": len(self.samples),
                     "problems": len(self._counts)},
        )

    def _missing(self, request: SampleRequest) -> ImportBackendError:
        path = self.spec["path"]
        have = self._counts.get(request.problem_id)
        if have is None:
            some = ", ".join(map(repr, list(self._counts)[:3]))
            return ImportBackendError(
                f"{path} has no samples for problem {request.problem_id!r} (it has "
                f"{len(self._counts)} problems, e.g. {some}); check import.problem_id_template "
                "and the dataset's problem selection")
        return ImportBackendError(
            f"{path} has {have} samples of {request.problem_id!r} but the shard needs sample "
            f"{request.sample_index}; set sampling.num_samples to at most {min(self._counts.values())}")

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """The imported sample for each request (params are the importer's, not applied)."""
        out = []
        columns = self.samples
        for request in requests:
            row = self._rows.get((request.problem_id, request.sample_index))
            if row is None:
                raise self._missing(request)
            prompt_tokens = int(columns["prompt_tokens"].iat[row])
            completion_tokens = int(columns["completion_tokens"].iat[row])
            if (prompt_tokens < 0 or completion_tokens < 0) and not self._warned:
                log.warning("import: %s has no token counts; imported samples record 0 tokens",
                            self.spec["path"])
                self._warned = True
            out.append(SampleResult(
                completion=str(columns["completion"].iat[row]),
                finish_reason=str(columns["finish_reason"].iat[row]),
                prompt_tokens=max(prompt_tokens, 0),
                completion_tokens=max(completion_tokens, 0),
                wall_s=0.0,
                seed=-1,
            ))
        return out
