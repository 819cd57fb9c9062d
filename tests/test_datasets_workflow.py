"""The dataset rules with Snakemake: fetch from a local source (bad rows skipped and listed),
rerun when the source file changes, and the seeded, cached generate_tests rule."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from conftest import job_counts, snakemake

from monkeys.tables.datasets import PROBLEMS, SKIPPED_ROWS, STRONG_TESTS
from monkeys.tables.io import read_table

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def test_fetch_and_generate_tests(tmp_path, default_config):
    source = tmp_path / "mbppplus.jsonl"
    shutil.copy(FIXTURES / "mbppplus.jsonl", source)
    with open(source, "a") as fh:
        fh.write('{"task_id": "Mbpp/9999", "prompt": "x"}\n')  # a malformed row (line 4)
    config = copy.deepcopy(default_config)
    config["datasets"] = {
        "humaneval": {"problems": ["HumanEval/53", "HumanEval/23"], "strong_tests": {"num_inputs": 5}},
        "plus": {"registry": "mbppplus", "source": {"path": str(source)}, "allow_skip": True},
    }
    targets = ["results/datasets/humaneval/strong_tests.parquet", "results/datasets/plus/problems.parquet"]
    result = snakemake(tmp_path, config, "--cores", "2", *targets)
    assert result.returncode == 0, result.stdout + result.stderr
    skipped = read_table(tmp_path / "results/datasets/plus/skipped_rows.parquet", SKIPPED_ROWS)
    assert skipped[["dataset", "row", "problem_id"]].values.tolist() == [["plus", 4, "Mbpp/9999"]]
    assert "lacks non-empty string field(s)" in skipped["reason"].iat[0]
    assert len(read_table(tmp_path / targets[1], PROBLEMS)) == 3
    tests = read_table(tmp_path / targets[0], STRONG_TESTS)
    assert list(tests["problem_id"]) == ["HumanEval/53", "HumanEval/23"]
    assert (tests["num_generated"] == 5).all() and (tests["seed"] == 1234).all()
    assert (tmp_path / (targets[0] + ".prov.json")).exists()

    again = snakemake(tmp_path, config, "--cores", "2", "--dry-run", *targets)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    source.write_text(source.read_text().replace("Mbpp/9999", "Mbpp/9998"))  # the source changed
    changed = snakemake(tmp_path, config, "--cores", "2", "--dry-run", *targets)
    assert job_counts(changed.stdout) == {"fetch_dataset": 1}

    config["datasets"]["plus"]["allow_skip"] = False
    strict = snakemake(tmp_path, config, "--cores", "1", "--forceall", targets[1])
    assert strict.returncode != 0
    assert "plus: 1 malformed row(s)" in (tmp_path / "logs/fetch_dataset/plus.log").read_text()
