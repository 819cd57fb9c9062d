"""The `import` backend: sample sets in the Large Language Monkeys schema and mapped JSONL/Parquet."""

from __future__ import annotations

import copy
import gzip
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import snakemake

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.hashing import sha256_file
from monkeys.sampling.importer import ImportBackendError, convert_release, iter_records
from monkeys.sampling.weights import resolve_weights, write_manifest
from monkeys.stages.imports import prepare_import
from monkeys.stages.sample import sample_shard
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.imports import IMPORT_MAPPING, RELEASE_SAMPLES
from monkeys.tables.io import read_table, read_tables, write_table
from monkeys.tables.samples import SAMPLES

SAMPLING = {"temperature": 0.8, "top_p": 0.95, "top_k": 0, "min_p": 0.0, "max_tokens": 64, "stop": []}
HUMANEVAL = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
PROMPTS = HUMANEVAL.set_index("problem_id")["prompt"]


def monkey_business_records(samples_per_problem: int = 5) -> list[dict]:
    """Records laid out like ScalingIntelligence/monkey_business files (one per problem)."""
    records = []
    for idx in (53, 23, 28):
        samples = [f"    return x + y  # {idx}-{i}\n" for i in range(samples_per_problem)]
        records.append(
            {
                "orig_dset_split": "test",
                "orig_dset_idx": idx,
                "prompt": f"few-shot prompt for {idx}",
                "question": PROMPTS[f"HumanEval/{idx}"],
                "samples": samples,
                "is_corrects": [i % 2 == 0 for i in range(samples_per_problem)],
                "gt_answer": "#### 5",
            }
        )
    return records


@pytest.fixture
def inputs(tmp_path):
    write_table(HUMANEVAL, tmp_path / "problems.parquet", PROBLEMS)
    write_manifest(resolve_weights({}), tmp_path / "weights.json")
    return tmp_path


def _shard(inputs, spec, start, stop, problems=("HumanEval/53", "HumanEval/23")):
    imported = prepare_import(
        spec, inputs / "problems.parquet", inputs / "imports", model="llama-mb", dataset="humaneval"
    )
    out = inputs / f"{start}-{stop}.parquet"
    sample_shard(
        inputs / "problems.parquet",
        inputs / "weights.json",
        out,
        model="llama-mb",
        model_spec={"backend": "import", "weights": {}, "import": spec},
        selection={"problems": list(problems)},
        sampling=SAMPLING,
        seed=1,
        start=start,
        stop=stop,
        progress_interval_s=0,
        imported=imported,
    )
    return read_table(out, SAMPLES)


def test_monkey_business_preset(inputs):
    path = inputs / "GSM8K_Llama-3-8B-Instruct.json"
    path.write_text(json.dumps(monkey_business_records()))
    spec = {
        "path": str(path),
        "preset": "monkey_business",
        "match": "id",
        "problem_id_template": "HumanEval/{}",
        "sha256": sha256_file(path),
    }
    first, second = _shard(inputs, spec, 0, 3), _shard(inputs, spec, 3, 5)
    frame = pd.concat([first, second], ignore_index=True).sort_values(["problem_id", "sample_index"])
    assert len(frame) == 10
    for row in frame.itertuples():
        idx = row.problem_id.split("/")[1]
        assert row.completion == f"    return x + y  # {idx}-{row.sample_index}\n"
        assert row.imported_correct == (row.sample_index % 2 == 0)  # is_corrects, kept
    assert frame["score"].isna().all()
    assert (frame["seed"] == -1).all() and (frame["wall_s"] == 0).all()
    assert (frame["prompt_tokens"] == 0).all() and (frame["completion_tokens"] == 0).all()
    assert set(frame["model"]) == {"llama-mb"} and set(frame["dataset"]) == {"humaneval"}


def test_gzipped_jsonl_sample_rows_with_column_mapping(inputs):
    path = inputs / "samples.jsonl.gz"
    rows = [
        {
            "task": f"{p}",
            "k": k,
            "text": f"{p}-{k}",
            "ntok": 7,
            "in": 50,
            "why": "length",
            "ok": k == 1,
            "rm": 0.5 * k,
        }
        for p in ("HumanEval/23", "HumanEval/53")
        for k in (2, 0, 1)
    ]
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    spec = {
        "path": str(path),
        "columns": {
            "problem_id": "task",
            "sample_index": "k",
            "completion": "text",
            "completion_tokens": "ntok",
            "prompt_tokens": "in",
            "finish_reason": "why",
            "correct": "ok",
            "score": "rm",
        },
    }
    frame = _shard(inputs, spec, 0, 3)
    assert frame["completion"].tolist() == [f"HumanEval/{p}-{k}" for p in (53, 23) for k in range(3)]
    assert (frame["completion_tokens"] == 7).all() and (frame["prompt_tokens"] == 50).all()
    assert set(frame["finish_reason"]) == {"length"}
    assert frame["imported_correct"].tolist() == [False, True, False] * 2
    assert frame["score"].tolist() == [0.0, 0.5, 1.0] * 2


def test_parquet_sample_rows_in_file_order(inputs):
    path = inputs / "samples.parquet"
    pd.DataFrame(
        {"problem_id": ["HumanEval/53"] * 2 + ["HumanEval/23"] * 2, "completion": ["a", "b", "c", "d"]}
    ).to_parquet(path)
    frame = _shard(inputs, {"path": str(path)}, 0, 2)
    assert frame["completion"].tolist() == ["a", "b", "c", "d"]
    assert frame["sample_index"].tolist() == [0, 1, 0, 1]
    assert frame["imported_correct"].isna().all()


def test_conversion_row_groups_hold_one_problem_each(tmp_path):
    """Shards read by slice: every row group of the converted file is one key's samples,
    at most rows_per_group of them, also when the file interleaves problems."""
    path = tmp_path / "rows.jsonl"
    rows = [{"problem_id": f"P{p}", "completion": f"{p}-{k}"} for k in range(7) for p in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    convert_release({"path": str(path)}, tmp_path / "s.parquet", tmp_path / "p.parquet", rows_per_group=3)
    file = pq.ParquetFile(tmp_path / "s.parquet")
    groups = [file.read_row_group(i).to_pandas() for i in range(file.metadata.num_row_groups)]
    assert all(g["key"].nunique() == 1 and len(g) <= 3 for g in groups)
    table = read_table(tmp_path / "s.parquet", RELEASE_SAMPLES)
    assert sorted(table[table["key"] == "P1"]["completion"]) == [f"1-{k}" for k in range(7)]
    assert table[table["key"] == "P1"].sort_values("completion")["sample_index"].tolist() == list(range(7))


def test_a_json_array_is_read_one_record_at_a_time(tmp_path):
    """The streamed reader decodes records that span many read chunks, and rejects bad files."""
    records = [{"k": i, "s": ["x" * 5000] * 3, "q": 'é "quoted" ]'} for i in range(4)]
    path = tmp_path / "a.json"
    path.write_text(" [\n" + ",\n ".join(json.dumps(r) for r in records) + "\n]\n")
    from monkeys.sampling.importer import _json_array

    with open(path) as fh:
        assert list(_json_array(fh, "a", chunk=64)) == records
    for bad, why in (
        ('{"k": 1}', "expected a JSON array"),
        ('[{"k": 1} {"k": 2}]', "expected ','"),
        ('[{"k": 1},', "not valid JSON"),
        ("[1, 2]", "expected JSON objects"),
        ('[{"k": 1}] x', "after the JSON array"),
    ):
        path.write_text(bad)
        with pytest.raises(ImportBackendError, match=why):
            list(iter_records(path))


def test_import_errors(inputs):
    path = inputs / "mb.json"
    path.write_text(json.dumps(monkey_business_records(samples_per_problem=2)))
    spec = {
        "path": str(path),
        "preset": "monkey_business",
        "match": "id",
        "problem_id_template": "HumanEval/{}",
    }
    with pytest.raises(ImportBackendError, match=r"has 2 samples of 'HumanEval/53' .* at most 2"):
        _shard(inputs, spec, 0, 3)
    with pytest.raises(ImportBackendError, match="no samples for problem 'HumanEval/0'"):
        _shard(inputs, spec, 0, 2, problems=("HumanEval/0",))
    out = inputs / "x"
    with pytest.raises(ImportBackendError, match="sha256 is"):
        convert_release({**spec, "sha256": "0" * 64}, out / "s.parquet", out / "p.parquet")
    with pytest.raises(ImportBackendError, match="no column 'orig_dset_idx'"):
        convert_release({**spec, "path": str(_write_rows(inputs))}, out / "s.parquet", out / "p.parquet")
    with pytest.raises(ImportBackendError, match="import file not found"):
        convert_release({"path": str(inputs / "missing.jsonl")}, out / "s.parquet", out / "p.parquet")
    with pytest.raises(ImportBackendError, match="applies to match: id"):
        convert_release({**spec, "match": "source_index"}, out / "s.parquet", out / "p.parquet")
    bad = [dict(r, is_corrects=[True]) for r in monkey_business_records(samples_per_problem=2)]
    path.write_text(json.dumps(bad))
    with pytest.raises(ImportBackendError, match="is_corrects has 1 values for 2 samples"):
        convert_release(spec, out / "s.parquet", out / "p.parquet")
    path.write_text(json.dumps(monkey_business_records()[:1] * 2))
    with pytest.raises(ImportBackendError, match="key '53' appears in more than one row"):
        convert_release(spec, out / "s.parquet", out / "p.parquet")
    rows = inputs / "dup.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"problem_id": "HumanEval/53", "completion": "x", "sample_index": 0}) + "\n"
            for _ in range(2)
        )
    )
    with pytest.raises(ImportBackendError, match="sample 0 of problem key 'HumanEval/53' appears 2 times"):
        convert_release({"path": str(rows)}, out / "s.parquet", out / "p.parquet")
    assert not (out / "s.parquet").exists()  # a failed conversion leaves no output


def test_a_question_that_differs_stops_the_import(inputs):
    records = monkey_business_records()
    records[1]["question"] = records[1]["question"].replace("def", "DEF", 1)
    path = inputs / "mb.json"
    path.write_text(json.dumps(records))
    spec = {
        "path": str(path),
        "preset": "monkey_business",
        "match": "id",
        "problem_id_template": "HumanEval/{}",
    }
    with pytest.raises(
        ImportBackendError,
        match=r"2 of 3 problem keys matched.*key '23' "
        r"\(text_differs: texts differ at character",
    ):
        _shard(inputs, spec, 0, 2)
    frame = _shard(inputs, {**spec, "unmatched": "drop"}, 0, 2, problems=("HumanEval/53",))
    assert len(frame) == 2
    mapping = read_table(inputs / "imports" / "humaneval" / "mapping.parquet", IMPORT_MAPPING)
    assert mapping.set_index("key")["status"].to_dict() == {
        "53": "matched",
        "23": "text_differs",
        "28": "matched",
    }
    assert mapping.set_index("key")["problem_id"]["23"] == "HumanEval/23"  # named, not used


def _write_rows(root):
    path = root / "rows.jsonl"
    path.write_text(json.dumps({"problem_id": "HumanEval/53", "completion": "x"}) + "\n")
    return path


def test_import_model_in_the_workflow(tmp_path, default_config):
    """import_release, import_map and sample_shard run for an import model; the file is a job
    input; `problems: from_import` takes the file's problems for every model."""
    samples = tmp_path / "mb.json"
    samples.write_text(json.dumps(monkey_business_records(samples_per_problem=4)))
    config = copy.deepcopy(default_config)
    config["models"] = {
        "llama-mb": {
            "backend": "import",
            "import": {
                "path": str(samples),
                "preset": "monkey_business",
                "match": "id",
                "problem_id_template": "HumanEval/{}",
            },
        }
    }
    config["datasets"] = {"humaneval": {"problems": "from_import"}}
    config["sampling"].update(num_samples=4, samples_per_shard=2)
    targets = [
        "results/samples/llama-mb/humaneval/0-2.parquet",
        "results/samples/llama-mb/humaneval/2-4.parquet",
    ]
    result = snakemake(tmp_path, config, "--cores", "1", *targets)
    assert result.returncode == 0, result.stdout + result.stderr
    frame = read_tables([tmp_path / t for t in targets], SAMPLES)
    assert len(frame) == 12 and frame["completion"].str.contains("return x \\+ y").all()
    assert list(dict.fromkeys(frame["problem_id"])) == ["HumanEval/23", "HumanEval/28", "HumanEval/53"]
    config["models"]["llama-mb"]["import"]["regrade"] = True
    again = snakemake(tmp_path, config, "--cores", "1", "--dry-run", *targets)
    assert "Nothing to be done" in again.stdout + again.stderr  # regrade re-grades only
    samples.write_text(json.dumps(monkey_business_records(samples_per_problem=5)))
    again = snakemake(tmp_path, config, "--cores", "1", "--dry-run", *targets)
    assert "import_release" in again.stdout and "sample_shard" in again.stdout  # a new file re-imports
