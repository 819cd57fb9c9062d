"""Each registry loader on its fixture (tests/fixtures/datasets, upstream formats), every kind of
source, bad rows with and without `allow_skip`, prompt templates, and the fetch stage."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import shutil
import tarfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monkeys.config import ConfigError, validate_config
from monkeys.datasets.prompts import PRESETS, PromptError, resolve_template
from monkeys.datasets.registry import DATASETS, DatasetError, normalise, normalise_rows
from monkeys.datasets.sources import RawData, SourceError, read_source, source_inputs
from monkeys.stages.fetch import fetch_dataset
from monkeys.tables.datasets import PROBLEMS, SKIPPED_ROWS
from monkeys.tables.io import read_table

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def load(name: str, file: str, **kwargs) -> pd.DataFrame:
    return normalise(name, read_source({"path": str(FIXTURES / file)}), **kwargs)


def meta(problems: pd.DataFrame, index: int = 0) -> dict:
    return json.loads(problems["metadata"].iat[index])


def test_registry_lists_every_benchmark():
    assert set(DATASETS) == {
        "humaneval",
        "humanevalplus",
        "mbpp",
        "mbpp_sanitized",
        "mbppplus",
        "gsm8k",
        "math",
        "math500",
        "codecontests",
    }
    for spec in DATASETS.values():
        assert spec.grader in ("unit_tests", "stdio", "math")
        assert spec.prompt in PRESETS and spec.upstream


def test_humanevalplus():
    problems = load("humanevalplus", "humanevalplus.jsonl")
    assert list(problems.columns) == PROBLEMS.names
    assert list(problems["problem_id"]) == ["HumanEval/2", "HumanEval/23", "HumanEval/53"]
    assert (problems["grader"] == "unit_tests").all()
    assert problems["test"].str.contains("def check(candidate)", regex=False).all()  # the original tests
    plus = problems["plus_test"].iat[0]
    assert "base + 6 plus inputs" in plus and "def check(candidate):" in plus
    assert ", 1e-06, 1.0, 4.0, 'exact')" in plus  # the row's atol reaches the comparison
    assert meta(problems)["atol"] == 1e-06 and "$_CONTRACT_$" in meta(problems)["contract"]
    assert problems["source"].str.startswith("file:").all()


def test_mbppplus_quirks():
    problems = load("mbppplus", "mbppplus.jsonl")
    assert list(problems["problem_id"]) == ["Mbpp/2", "Mbpp/14", "Mbpp/793"]
    prompt = problems["prompt"].iat[0]
    # EvalPlus's MBPP prompt: the task and its first assert in a docstring (valid Python)
    assert prompt.startswith('"""\nWrite a function to find the shared elements')
    assert "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n" in prompt
    compile(prompt, "<prompt>", "exec")
    assert "similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)" in problems["test"].iat[0]
    assert meta(problems, 2)["num_plus_inputs"] == 0  # `plus_input: {}` upstream
    assert "3 base + 0 plus inputs" in problems["plus_test"].iat[2]


def test_mbpp_full_and_sanitized():
    full = load("mbpp", "mbpp.jsonl")
    # task 2 is in MBPP's prompt split, outside the test split 11-510: left out, not an error
    assert list(full["problem_id"]) == ["Mbpp/11", "Mbpp/12", "Mbpp/17"]
    assert list(full["entry_point"]) == ["remove_Occ", "sort_matrix", "square_perimeter"]
    assert "\r" not in full["canonical_solution"].iat[0]  # CRLF normalised
    assert full["test"].iat[0].startswith("def check(candidate):\n    assert remove_Occ(")
    sanitized = load("mbpp_sanitized", "sanitized-mbpp.json")  # a JSON array upstream
    assert list(sanitized["problem_id"]) == ["Mbpp/11", "Mbpp/12", "Mbpp/17"]
    assert "    import math\n" in sanitized["test"].iat[2]
    assert (sanitized["plus_test"] == "").all()


def test_gsm8k():
    problems = load("gsm8k", "gsm8k.jsonl")
    assert list(problems["problem_id"]) == ["GSM8K/0", "GSM8K/1", "GSM8K/2"]
    assert list(problems["answer"]) == ["18", "3", "2,125"]
    assert (problems["grader"] == "math").all()
    prompt = problems["prompt"].iat[0]  # the default 5-shot preset
    assert prompt.startswith("Question: Natalia sold clips") and prompt.endswith("Answer:")
    assert "Janet’s ducks lay 16 eggs" in prompt
    assert meta(problems)["prompt_template"] == "gsm8k_5shot"
    assert meta(problems)["style"] == "gsm8k"


def test_math500_and_math_directory():
    m500 = load("math500", "math500.jsonl")
    assert m500["problem_id"].iat[0] == "test/precalculus/807.json"
    assert m500["answer"].iat[0] == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert meta(m500, 0) | {} == meta(m500, 0) and meta(m500, 0)["level"] == 2
    assert m500["prompt"].iat[0].startswith("Problem:\nFind the domain")  # Minerva 4-shot
    full = normalise("math", read_source({"path": str(FIXTURES / "MATH")}))
    # one JSON per problem; the answer is the solution's last \boxed{}; train/ is left out
    assert sorted(full["problem_id"]) == sorted(m500["problem_id"].head(3))
    by_id = full.set_index("problem_id")
    assert by_id.at["test/precalculus/807.json", "answer"] == m500["answer"].iat[0]
    assert json.loads(by_id.at["test/algebra/2584.json", "metadata"])["level"] == 3
    assert full["source"].iat[0].startswith("dir:")


def test_math_from_tar(tmp_path):
    archive = tmp_path / "MATH.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(FIXTURES / "MATH", arcname="MATH")
    raw = read_source({"path": str(archive)})
    problems = normalise("math", raw)
    assert sorted(problems["problem_id"]) == sorted(
        ["test/precalculus/807.json", "test/intermediate_algebra/1994.json", "test/algebra/2584.json"]
    )
    assert raw.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_codecontests_jsonl_and_parquet(tmp_path):
    problems = load("codecontests", "codecontests.jsonl")
    assert (problems["grader"] == "stdio").all()
    by_id = problems.set_index("problem_id")
    tests = json.loads(by_id.at["1A. Sum of Two", "test"])
    assert [len(tests[g]) for g in ("public", "private", "generated")] == [1, 2, 2]
    assert tests["public"][0] == {"input": "1 2\n", "output": "3\n"}
    assert by_id.at["1A. Sum of Two", "time_limit_s"] == 2.0
    assert by_id.at["2B. Sort Them", "time_limit_s"] == 1.5
    assert math.isnan(by_id.at["3C. Reverse Lines", "time_limit_s"])  # time_limit: null
    # the Python 3 solution (language 3), not the Python 2 one listed first
    assert by_id.at["2B. Sort Them", "canonical_solution"].startswith("import sys")
    assert json.loads(by_id.at["1A. Sum of Two", "metadata"])["cf_rating"] == 800
    assert by_id.at["1A. Sum of Two", "prompt"].startswith("Q: You are given two integers a and b.")
    # the Hugging Face layout: Parquet with nested structs
    rows = [json.loads(line) for line in (FIXTURES / "codecontests.jsonl").read_text().splitlines()]
    path = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    from_parquet = normalise("codecontests", read_source({"path": str(path)}))
    columns = ["problem_id", "test", "canonical_solution", "prompt"]
    pd.testing.assert_frame_equal(from_parquet[columns], problems[columns])


def test_hf_source_with_a_local_dataset(tmp_path, monkeypatch):
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    local = tmp_path / "gsm8k"
    (local / "main").mkdir(parents=True)
    shutil.copy(FIXTURES / "gsm8k.jsonl", local / "main" / "test.jsonl")
    spec = {
        "hf": str(local),
        "data_files": {"test": "main/test.jsonl"},
        "split": "test",
        "cache_dir": str(tmp_path / "cache"),
    }
    raw = read_source(spec)
    assert raw.source.startswith("hf:") and "[test]" in raw.source
    problems = normalise("gsm8k", raw)
    assert list(problems["answer"]) == ["18", "3", "2,125"]
    assert read_source(spec).sha256 == raw.sha256  # the canonical rows hash the same each time
    with pytest.raises(SourceError, match="expected 0000"):
        read_source({**spec, "sha256": "0" * 64})
    with pytest.raises(SourceError, match="pin a `revision`"):
        read_source({"hf": "openai/gsm8k", "name": "main"})


def test_hf_source_without_the_library(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("No module named 'datasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(SourceError, match=r"pip install 'monkeys\[hf\]'"):
        read_source({"hf": "openai/gsm8k", "revision": "abc"})


def test_sha256_of_stored_or_decompressed_bytes(tmp_path):
    data = (FIXTURES / "gsm8k.jsonl").read_bytes()
    path = tmp_path / "gsm8k.jsonl.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    for expected in (hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(data).hexdigest()):
        raw = read_source({"path": str(path), "sha256": expected})
        assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # what was read
        assert raw.data == data


def test_directory_source_hash_tracks_contents(tmp_path):
    shutil.copytree(FIXTURES / "MATH", tmp_path / "MATH")
    first = read_source({"path": str(tmp_path / "MATH")})
    assert source_inputs({"path": str(tmp_path / "MATH")})[0].endswith("2584.json")
    target = tmp_path / "MATH" / "test" / "algebra" / "2584.json"
    target.write_text(target.read_text().replace("Level 3", "Level 4"))
    assert read_source({"path": str(tmp_path / "MATH")}).sha256 != first.sha256
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no"):
        read_source({"path": str(tmp_path / "empty")})


def _raw(lines: list) -> RawData:
    data = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in lines).encode()
    return RawData(data=data, source="test.jsonl", sha256=hashlib.sha256(data).hexdigest())


def test_malformed_rows_are_named_and_can_be_skipped():
    good = json.loads((FIXTURES / "gsm8k.jsonl").read_text().splitlines()[0])
    lines = [
        good,
        "{broken",
        {"question": "q?", "answer": "no final line"},
        ["a", "list"],
        {**good, "question": ""},
    ]
    with pytest.raises(DatasetError) as info:
        normalise("gsm8k", _raw(lines))
    message = str(info.value)
    assert message.startswith("gsm8k: 4 malformed row(s) in test.jsonl")
    assert "line 2 of test.jsonl is not JSON" in message
    assert "row 3 field 'answer' has no '#### <final answer>' line" in message
    assert "row 4 is a JSON list, not an object" in message
    assert "row 5 lacks non-empty string field(s) ['question']" in message
    assert "allow_skip" in message
    result = normalise_rows("gsm8k", _raw(lines), allow_skip=True)
    assert list(result.problems["problem_id"]) == ["GSM8K/0"]
    assert list(result.skipped["row"]) == [2, 3, 4, 5]
    assert list(result.skipped.columns) == SKIPPED_ROWS.names


def test_bad_code_rows():
    row = json.loads((FIXTURES / "mbpp.jsonl").read_text().splitlines()[1])
    py2 = {**row, "task_id": 12, "code": "def f(x):\r\n  print x"}
    uncalled = {**row, "task_id": 13, "code": "def g(x):\n  return x"}
    result = normalise_rows("mbpp", _raw([row, py2, uncalled]), allow_skip=True)
    assert list(result.problems["problem_id"]) == ["Mbpp/11"]
    reasons = list(result.skipped["reason"])
    assert reasons[0].startswith("code is not valid Python 3")
    assert reasons[1].startswith("no function defined in `code` (['g']) is called by the tests")
    assert list(result.skipped["problem_id"]) == ["12", "13"]
    cc = json.loads((FIXTURES / "codecontests.jsonl").read_text().splitlines()[0])
    broken = {**cc, "name": "X", "private_tests": {"input": ["1"], "output": []}}
    with pytest.raises(DatasetError, match=r"row 1 field 'private_tests': 'input' and 'output'"):
        normalise("codecontests", _raw([broken]))


def test_prompt_templates():
    problems = load("math500", "math500.jsonl", prompt="plain")
    assert problems["prompt"].iat[0].startswith("Convert the point")
    custom = "Solve: {{prompt}}\nPut the answer in \\boxed{}.\n({{problem_id}})"
    problems = load("math500", "math500.jsonl", prompt=custom)
    assert problems["prompt"].iat[0].endswith("\\boxed{}.\n(test/precalculus/807.json)")
    assert meta(problems)["prompt_template"] == "custom"
    assert len(meta(problems)["prompt_template_sha256"]) == 64
    assert resolve_template(None, "math_4shot").name == "math_4shot"
    with pytest.raises(PromptError, match="unknown prompt preset 'fewshot'"):
        resolve_template("fewshot")


def _config(datasets: dict) -> dict:
    return {"models": {"m": {"backend": "embedded"}}, "datasets": datasets}


def test_config_checks_prompt_and_source():
    validate_config(
        _config({"gsm8k": {"source": {"path": "x.jsonl"}, "prompt": "plain", "allow_skip": True}})
    )
    validate_config(
        _config(
            {
                "cc": {
                    "registry": "codecontests",
                    "source": {"hf": "deepmind/code_contests", "revision": "abc"},
                }
            }
        )
    )
    with pytest.raises(ConfigError, match=r"'datasets.gsm8k.prompt': unknown prompt preset"):
        validate_config(_config({"gsm8k": {"prompt": "nope"}}))
    with pytest.raises(ConfigError, match=r"'datasets.mbpp' needs a `source`"):
        validate_config(_config({"mbpp": {}}))
    with pytest.raises(ConfigError, match="allow_skip"):
        validate_config(_config({"gsm8k": {"allow_skip": "yes"}}))


def test_fetch_stage(tmp_path):
    out, skipped = tmp_path / "problems.parquet", tmp_path / "skipped.parquet"
    fetch_dataset("mine", "mbppplus", {"path": str(FIXTURES / "mbppplus.jsonl")}, out, skipped_out=skipped)
    problems = read_table(out, PROBLEMS)
    assert (problems["dataset"] == "mine").all() and len(problems) == 3
    assert read_table(skipped, SKIPPED_ROWS).empty
    bad = tmp_path / "bad.jsonl"
    bad.write_text((FIXTURES / "gsm8k.jsonl").read_text() + "{not json\n")
    with pytest.raises(DatasetError, match="line 4 of file:.*bad.jsonl is not JSON"):
        fetch_dataset("g", "gsm8k", {"path": str(bad)}, out, skipped_out=skipped)
    fetch_dataset("g", "gsm8k", {"path": str(bad)}, out, allow_skip=True, skipped_out=skipped, prompt="plain")
    assert len(read_table(out, PROBLEMS)) == 3
    rows = read_table(skipped, SKIPPED_ROWS)
    assert rows[["dataset", "row"]].values.tolist() == [["g", 4]]
    with pytest.raises(DatasetError, match="has no default source"):
        fetch_dataset("m", "mbpp", None, out)
