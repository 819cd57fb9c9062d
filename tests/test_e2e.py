"""A tiny real run of the whole pipeline with the embedded model, then rerun behaviour."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import job_counts, snakemake, tiny_config

from monkeys.cli import main as monkeys_main
from monkeys.tables.counts import COUNTS
from monkeys.tables.coverage import COVERAGE
from monkeys.tables.io import read_table
from monkeys.tables.samples import SAMPLES

pytestmark = pytest.mark.e2e

FIGURE = "results/figures/coverage/humaneval.png"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = tiny_config()
    workdir = tmp_path_factory.mktemp("e2e")
    result = snakemake(workdir, config, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, config


def test_outputs_and_provenance(run, capsys):
    workdir, _ = run
    counts = read_table(workdir / "results/counts/gemma3-270m/humaneval.parquet", COUNTS)
    assert sorted(counts["problem_id"]) == ["HumanEval/23", "HumanEval/53"]
    assert (counts["n"] == 4).all() and (counts["completion_tokens"] > 0).all()
    curve = read_table(workdir / "results/coverage/gemma3-270m/humaneval.parquet", COVERAGE)
    assert curve["k"].tolist() == [1, 2, 3, 4]
    assert (workdir / FIGURE).stat().st_size > 10_000
    record = json.loads((workdir / f"{FIGURE}.prov.json").read_text())
    paths = {item["path"] for item in record["inputs"]}
    assert "results/samples/gemma3-270m/humaneval/0-2.parquet" in paths
    assert "results/datasets/humaneval/problems.parquet" in paths
    assert record["config"]["sampling"]["num_samples"] == 4
    assert record["software"]["llama-cpp-python"] == "0.3.36"
    assert record["seeds"]["global"] == 1234
    assert monkeys_main(["provenance", str(workdir / FIGURE)]) == 0
    assert "0-2.parquet" in capsys.readouterr().out


def test_rerun_does_nothing(run):
    workdir, config = run
    result = snakemake(workdir, config, "--dry-run", "--cores", "2")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_report_has_captioned_figure(run):
    workdir, config = run
    result = snakemake(workdir, config, "--report", "report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    assert "exponentiated power" in html
    assert "Lineage of the" in html  # each figure links to its lineage tree
    tree = (workdir / f"{FIGURE}.lineage.txt").read_text()
    assert "results/samples/gemma3-270m/humaneval/0-2.parquet  [sample_shard]" in tree
    assert "results/models/gemma3-270m/weights.json  [fetch_model]" in tree


def test_same_config_same_samples(run):
    workdir, config = run
    shard = workdir / "results/samples/gemma3-270m/humaneval/2-4.parquet"
    before = read_table(shard, SAMPLES)
    shard.unlink()
    result = snakemake(workdir, config, "--cores", "2", str(shard.relative_to(workdir)))
    assert result.returncode == 0, result.stderr[-3000:]
    after = read_table(shard, SAMPLES)
    assert before.drop(columns="wall_s").equals(after.drop(columns="wall_s"))
    # Bring the downstream tables up to date again for the tests that follow.
    assert snakemake(workdir, config, "--cores", "2").returncode == 0


def test_more_samples_only_add_shards(run):
    workdir, config = run
    config = copy.deepcopy(config)
    config["sampling"]["num_samples"] = 6
    old = {
        p: p.stat().st_mtime_ns for p in (workdir / "results/samples/gemma3-270m/humaneval").glob("*.parquet")
    }
    dry = snakemake(workdir, config, "--dry-run", "--cores", "2")
    jobs = job_counts(dry.stdout)
    assert jobs["sample_shard"] == 1 and jobs["execute_shard"] == 1, jobs
    result = snakemake(workdir, config, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in old.items())
    counts = read_table(workdir / "results/counts/gemma3-270m/humaneval.parquet", COUNTS)
    assert (counts["n"] == 6).all()


def test_every_artifact_has_a_record_and_lineage_verifies(run, capsys):
    workdir, _ = run
    results = workdir / "results"
    artifacts = [
        p
        for p in results.rglob("*")
        if p.is_file()
        and p.suffix in (".parquet", ".png", ".json")
        and not p.name.endswith(".prov.json")
        and "benchmarks" not in p.parts
    ]
    missing = [str(p) for p in artifacts if not p.with_name(p.name + ".prov.json").exists()]
    assert not missing
    assert monkeys_main(["provenance", "--verify", "-d", str(workdir), FIGURE]) == 0
    out = capsys.readouterr().out
    assert "results/models/gemma3-270m/weights.json" in out and "verified" in out
    shard = workdir / "results/samples/gemma3-270m/humaneval/0-2.parquet"
    data = bytearray(shard.read_bytes())
    original = bytes(data)
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    try:
        assert monkeys_main(["provenance", "--verify", "-d", str(workdir), FIGURE]) == 1
        err = capsys.readouterr().err
        assert "FAILED results/samples/gemma3-270m/humaneval/0-2.parquet: changed" in err
        # A job reading the corrupted shard refuses it by name.
        (workdir / "results/verdicts/gemma3-270m/humaneval/0-2.parquet").unlink()
        config = yaml.safe_load((workdir / "config.yaml").read_text())
        result = snakemake(
            workdir, config, "--cores", "1", "results/verdicts/gemma3-270m/humaneval/0-2.parquet"
        )
        assert result.returncode != 0
        assert "0-2.parquet changed after it was made" in result.stdout + result.stderr
    finally:
        shard.write_bytes(original)
