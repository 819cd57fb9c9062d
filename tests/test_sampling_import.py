"""The `import` backend: sample sets in the Large Language Monkeys schema and mapped JSONL/Parquet."""

from __future__ import annotations

import copy
import gzip
import json

import pandas as pd
import pytest
from conftest import snakemake

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.hashing import sha256_file
from monkeys.sampling.importer import ImportBackendError, load_samples
from monkeys.sampling.weights import resolve_weights, write_manifest
from monkeys.stages.sample import sample_shard
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, read_tables, write_table
from monkeys.tables.samples import SAMPLES

SAMPLING = {"temperature": 0.8, "top_p": 0.95, "top_k": 0, "min_p": 0.0, "max_tokens": 64, "stop": []}


def monkey_business_records(samples_per_problem: int = 5) -> list[dict]:
    """Records laid out like ScalingIntelligence/monkey_business files (one per problem)."""
    records = []
    for idx in (53, 23, 28):
        samples = [f"    return x + y  # {idx}-{i}\n" for i in range(samples_per_problem)]
        records.append({
            "orig_dset_split": "test",
            "orig_dset_idx": idx,
            "prompt": f"few-shot prompt for {idx}",
            "question": f"question {idx}",
            "samples": samples,
            "is_corrects": [i % 2 == 0 for i in range(samples_per_problem)],
            "gt_answer": "#### 5",
        })
    return records


@pytest.fixture
def inputs(tmp_path):
    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    write_table(problems, tmp_path / "problems.parquet", PROBLEMS)
    write_manifest(resolve_weights({}), tmp_path / "weights.json")
    return tmp_path


def _shard(inputs, spec, start, stop, problems=("HumanEval/53", "HumanEval/23")):
    out = inputs / f"{start}-{stop}.parquet"
    sample_shard(inputs / "problems.parquet", inputs / "weights.json", out, model="llama-mb",
                 model_spec={"backend": "import", "weights": {}, "import": spec},
                 selection={"problems": list(problems)}, sampling=SAMPLING, seed=1,
                 start=start, stop=stop, progress_interval_s=0)
    return read_table(out, SAMPLES)


def test_monkey_business_preset(inputs):
    path = inputs / "GSM8K_Llama-3-8B-Instruct.json"
    path.write_text(json.dumps(monkey_business_records()))
    spec = {"path": str(path), "preset": "monkey_business", "problem_id_template": "HumanEval/{}",
            "sha256": sha256_file(path)}
    first, second = _shard(inputs, spec, 0, 3), _shard(inputs, spec, 3, 5)
    frame = pd.concat([first, second], ignore_index=True).sort_values(["problem_id", "sample_index"])
    assert len(frame) == 10
    for row in frame.itertuples():
        idx = row.problem_id.split("/")[1]
        assert row.completion == f"    return x + y  # {idx}-{row.sample_index}\n"
    assert (frame["seed"] == -1).all() and (frame["wall_s"] == 0).all()
    assert (frame["prompt_tokens"] == 0).all() and (frame["completion_tokens"] == 0).all()
    assert set(frame["model"]) == {"llama-mb"} and set(frame["dataset"]) == {"humaneval"}


def test_gzipped_jsonl_sample_rows_with_column_mapping(inputs):
    path = inputs / "samples.jsonl.gz"
    rows = [{"task": f"{p}", "k": k, "text": f"{p}-{k}", "ntok": 7, "in": 50, "why": "length"}
            for p in ("HumanEval/23", "HumanEval/53") for k in (2, 0, 1)]
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    spec = {"path": str(path), "columns": {"problem_id": "task", "sample_index": "k",
                                           "completion": "text", "completion_tokens": "ntok",
                                           "prompt_tokens": "in", "finish_reason": "why"}}
    frame = _shard(inputs, spec, 0, 3)
    assert frame["completion"].tolist() == [f"HumanEval/{p}-{k}" for p in (53, 23) for k in range(3)]
    assert (frame["completion_tokens"] == 7).all() and (frame["prompt_tokens"] == 50).all()
    assert set(frame["finish_reason"]) == {"length"}


def test_parquet_sample_rows_in_file_order(inputs):
    path = inputs / "samples.parquet"
    pd.DataFrame({"problem_id": ["HumanEval/53"] * 2 + ["HumanEval/23"] * 2,
                  "completion": ["a", "b", "c", "d"]}).to_parquet(path)
    frame = _shard(inputs, {"path": str(path)}, 0, 2)
    assert frame["completion"].tolist() == ["a", "b", "c", "d"]
    assert frame["sample_index"].tolist() == [0, 1, 0, 1]


def test_import_errors(inputs):
    path = inputs / "mb.json"
    path.write_text(json.dumps(monkey_business_records(samples_per_problem=2)))
    spec = {"path": str(path), "preset": "monkey_business", "problem_id_template": "HumanEval/{}"}
    with pytest.raises(ImportBackendError, match=r"has 2 samples of 'HumanEval/53' .* at most 2"):
        _shard(inputs, spec, 0, 3)
    with pytest.raises(ImportBackendError, match="no samples for problem 'HumanEval/0'"):
        _shard(inputs, spec, 0, 2, problems=("HumanEval/0",))
    with pytest.raises(ImportBackendError, match="sha256 is"):
        load_samples({**spec, "sha256": "0" * 64})
    with pytest.raises(ImportBackendError, match="no column 'orig_dset_idx'"):
        load_samples({**spec, "preset": None, "layout": "problem_rows",
                      "columns": {"problem_id": "orig_dset_idx", "completion": "samples"},
                      "path": str(_write_rows(inputs))})
    with pytest.raises(ImportBackendError, match="import file not found"):
        load_samples({"path": str(inputs / "missing.jsonl")})


def _write_rows(root):
    path = root / "rows.jsonl"
    path.write_text(json.dumps({"problem_id": "HumanEval/53", "completion": "x"}) + "\n")
    return path


def test_import_model_in_the_workflow(tmp_path, default_config):
    """fetch_model and sample_shard run for an import model; the file is a job input."""
    samples = tmp_path / "mb.json"
    samples.write_text(json.dumps(monkey_business_records(samples_per_problem=4)))
    config = copy.deepcopy(default_config)
    config["models"] = {"llama-mb": {"backend": "import", "import": {
        "path": str(samples), "preset": "monkey_business", "problem_id_template": "HumanEval/{}"}}}
    config["datasets"] = {"humaneval": {"problems": ["HumanEval/53", "HumanEval/23"]}}
    config["sampling"].update(num_samples=4, samples_per_shard=2)
    targets = ["results/samples/llama-mb/humaneval/0-2.parquet",
               "results/samples/llama-mb/humaneval/2-4.parquet"]
    result = snakemake(tmp_path, config, "--cores", "1", *targets)
    assert result.returncode == 0, result.stdout + result.stderr
    frame = read_tables([tmp_path / t for t in targets], SAMPLES)
    assert len(frame) == 8 and frame["completion"].str.contains("return x \\+ y").all()
    samples.write_text(json.dumps(monkey_business_records(samples_per_problem=5)))
    again = snakemake(tmp_path, config, "--cores", "1", "--dry-run", *targets)
    assert "sample_shard" in again.stdout    # a new sample file re-imports
