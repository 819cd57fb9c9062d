"""A user's config is the whole experiment: `--configfile` never inherits config/config.yaml.

Dry runs of the real Snakefile in a working directory that holds a copy of
config/config.yaml (as the repository root does, where the old `configfile:` directive
merged it into every --configfile) plan exactly the user's models and datasets, with and
without `--profile slurm`. A Snakefile with the old directive in front is the negative
control: the same check must catch the default's model leaking in. A real run of the
cheap fetch_dataset jobs shows the effective config and its source in the provenance
records, `problems` left out selecting every problem (or `limit`'s first N), and
`--config seed=7` on top.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, job_counts

from monkeys import cli
from monkeys.config import (
    CONFIG_SOURCE_ENV,
    ConfigError,
    merge_config,
    read_config_file,
    workflow_config,
)
from monkeys.datasets.selection import select_problems
from monkeys.provenance import build_record, config_source
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table

DEFAULT_MODEL = "gemma3-270m"
USER_CONFIG = {
    "models": {
        "hosted": {
            "backend": "openai",
            "openai": {"model": "gpt-4o-mini", "base_url": "http://localhost:8000/v1"},
        }
    },
    "datasets": {"humaneval": {"limit": 3}},
    "sampling": {"num_samples": 8, "samples_per_shard": 4},
}
HUMANEVAL_PROBLEMS = 164


def workdir_like_checkout(tmp_path: Path) -> Path:
    """A working directory with config/config.yaml, as the repository root has."""
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    return tmp_path


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_snakemake(
    workdir: Path, *args: str, snakefile: Path = REPO / "Snakefile", cwd: Path = REPO
) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd)


def planned(result: subprocess.CompletedProcess, what: str) -> set[str]:
    """The model (or dataset) wildcards of every job in a dry run's plan."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    values = set()
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("wildcards:"):
            for item in line.removeprefix("wildcards:").split(","):
                key, _, value = item.strip().partition("=")
                if key == what:
                    values.add(value)
    return values


# -- the plan: dry runs ------------------------------------------------------------------


@pytest.mark.parametrize("profile", [(), ("--profile", "slurm")], ids=["local", "slurm"])
def test_user_config_plans_only_its_model_and_dataset(tmp_path, profile):
    workdir = workdir_like_checkout(tmp_path)
    my = write_config(tmp_path / "my.yaml", USER_CONFIG)
    # cwd is the repository root, where `--profile slurm` finds ./slurm.
    result = run_snakemake(
        workdir, "--configfile", str(my), "--dry-run", *profile, *(() if profile else ("--cores", "1"))
    )
    assert planned(result, "model") == {"hosted"}
    assert planned(result, "dataset") == {"humaneval"}
    assert DEFAULT_MODEL not in result.stdout + result.stderr
    jobs = job_counts(result.stdout)
    # 8 samples in shards of 4; no strong tests (the default's humaneval has them).
    assert jobs["sample_shard"] == jobs["execute_shard"] == 2
    assert jobs["fetch_model"] == 1 and "generate_tests" not in jobs
    assert f"monkeys: config from {my}: models hosted; datasets humaneval" in result.stdout + result.stderr


def test_negative_control_old_configfile_directive_leaks_the_default(tmp_path):
    """The check above fails for a Snakefile that loads config/config.yaml first."""
    workdir = workdir_like_checkout(tmp_path)
    my = write_config(tmp_path / "my.yaml", USER_CONFIG)
    # The old Snakefile: the directive, then today's workflow (its code hashes look for
    # workflow_scripts/ beside the main Snakefile).
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "workflow_scripts").symlink_to(REPO / "workflow_scripts")
    old = tmp_path / "old" / "Snakefile"
    old.write_text(f'configfile: "config/config.yaml"\n\n\ninclude: "{REPO / "Snakefile"}"\n')
    result = run_snakemake(
        workdir, "all", "--configfile", str(my), "--dry-run", "--cores", "1", snakefile=old
    )
    assert planned(result, "model") == {"hosted", DEFAULT_MODEL}


def test_no_configfile_plans_the_default(tmp_path):
    default_plan = run_snakemake(tmp_path, "--dry-run", "--cores", "1")
    assert planned(default_plan, "model") == {DEFAULT_MODEL}
    assert "(the default: no config file named)" in default_plan.stdout + default_plan.stderr
    named = run_snakemake(
        tmp_path, "--dry-run", "--cores", "1", "--configfile", str(REPO / "config" / "config.yaml")
    )
    assert job_counts(default_plan.stdout) == job_counts(named.stdout)


def test_several_configfiles_merge_in_order(tmp_path):
    shared = write_config(tmp_path / "shared.yaml", {"sampling": {"num_samples": 12, "samples_per_shard": 4}})
    experiment = dict(USER_CONFIG)
    experiment.pop("sampling")
    my = write_config(tmp_path / "my.yaml", experiment)
    result = run_snakemake(tmp_path, "--dry-run", "--cores", "1", "--configfile", str(shared), str(my))
    assert planned(result, "model") == {"hosted"}
    assert job_counts(result.stdout)["sample_shard"] == 3  # shared.yaml's 12 in shards of 4
    assert f"config from {shared} + {my}:" in result.stdout + result.stderr


def test_partial_config_fails_with_a_hint(tmp_path):
    partial = write_config(tmp_path / "partial.yaml", {"sampling": {"num_samples": 8}})
    result = run_snakemake(tmp_path, "--dry-run", "--cores", "1", "--configfile", str(partial))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "missing a required key" in output and "whole experiment" in output
    assert "--configfile config/config.yaml my.yaml" in output


# -- the effective config of a real run: provenance -------------------------------------


def test_fetch_records_effective_config_source_and_override(tmp_path, capsys):
    """Real fetch_dataset jobs: `problems` left out keeps all (or limit's first N), and the
    records name my.yaml and the --config override."""
    workdir = workdir_like_checkout(tmp_path)
    # humaneval is the default's dataset, whose 12-problem list must not leak in.
    config = {**USER_CONFIG, "datasets": {"humaneval": {"limit": 3}, "he-all": {"registry": "humaneval"}}}
    my = write_config(tmp_path / "my.yaml", config)
    targets = [f"results/datasets/{d}/problems.parquet" for d in ("he-all", "humaneval")]
    result = run_snakemake(workdir, "--configfile", str(my), "--config", "seed=7", "--cores", "1", *targets)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    selected = {}
    for dataset, target in zip(("he-all", "humaneval"), targets, strict=True):
        record = json.loads((workdir / f"{target}.prov.json").read_text())
        assert set(record["config"]["models"]) == {"hosted"}
        assert set(record["config"]["datasets"]) == {"he-all", "humaneval"}
        assert record["config"]["seed"] == 7 and record["seeds"] == {"global": 7}
        source = record["config_source"]
        assert source["kind"] == "files" and source["overrides"] == {"seed": 7}
        assert [f["path"] for f in source["files"]] == [str(my)]
        entry = record["config"]["datasets"][dataset]
        assert "problems" not in entry
        problems = select_problems(
            read_table(workdir / target, PROBLEMS), entry.get("problems"), entry.get("limit")
        )
        selected[dataset] = list(problems["problem_id"])
    assert len(selected["he-all"]) == HUMANEVAL_PROBLEMS
    assert selected["humaneval"] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert cli.main(["provenance", "-d", str(workdir), targets[1]]) == 0
    assert f"config    from {my} with --config seed=7" in capsys.readouterr().out


# -- the library and the command line ---------------------------------------------------


def test_merge_config_merges_mappings_and_replaces_lists():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    merged = merge_config(base, {"a": {"y": [3]}, "c": 2})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}  # unchanged


def test_workflow_config_reads_the_default_only_without_files(tmp_path):
    default = write_config(
        tmp_path / "default.yaml",
        {"models": {"m": {"backend": "embedded"}}, "datasets": {"humaneval": {"limit": 2}}},
    )
    config, source = workflow_config({"seed": 7}, [], default, overrides={"seed": 7})
    assert config["seed"] == 7 and set(config["models"]) == {"m"}
    assert source["kind"] == "default" and source["files"][0]["path"] == str(default)
    my = write_config(tmp_path / "my.yaml", USER_CONFIG)
    config, source = workflow_config(read_config_file(my), [my], default)
    assert set(config["models"]) == {"hosted"} and source["kind"] == "files"
    assert config["datasets"]["humaneval"] == {
        "limit": 3,
        "grading": "paper",
        "drop_false_negative_tests": False,
    }
    with pytest.raises(ConfigError, match="whole experiment"):
        workflow_config({"seed": 1}, [my], default)


def test_provenance_record_carries_the_config_source(tmp_path, monkeypatch):
    artifact = tmp_path / "a.txt"
    artifact.write_text("x")
    source = {"kind": "files", "files": [{"path": "my.yaml", "sha256": "0" * 64}], "overrides": {}}
    monkeypatch.setenv(CONFIG_SOURCE_ENV, json.dumps(source))
    record = build_record(artifact, inputs=[], config={}, params={}, seeds={}, rule="r")
    assert record["config_source"] == source
    monkeypatch.delenv(CONFIG_SOURCE_ENV)
    assert config_source() == {}


def test_validate_show_names_the_files(tmp_path, capsys):
    shared = write_config(tmp_path / "shared.yaml", {"seed": 5})
    my = write_config(tmp_path / "my.yaml", USER_CONFIG)
    assert cli.main(["validate", str(shared), str(my), "--show"]) == 0
    out = capsys.readouterr().out
    header, body = out.split("\n", 1)
    assert header == f"# effective config, from {shared} + {my}, with the schema's defaults filled in"
    shown = yaml.safe_load(body)
    assert shown["seed"] == 5 and set(shown["models"]) == {"hosted"}
    assert "problems" not in shown["datasets"]["humaneval"]
    assert cli.main(["validate"]) == 0
    assert "(the default: no config file named): valid" in capsys.readouterr().out


def test_monkeys_run_passes_files_and_overrides(tmp_path, monkeypatch):
    shared = write_config(tmp_path / "shared.yaml", {"seed": 5})
    my = write_config(tmp_path / "my.yaml", USER_CONFIG)
    commands = []
    monkeypatch.setattr(cli.os, "execv", lambda exe, command: commands.append(command))
    monkeypatch.chdir(tmp_path)
    assert (
        cli.main(
            [
                "run",
                "--config",
                "shared.yaml",
                "--config",
                "my.yaml",
                "--config",
                "seed=7",
                "results/x.png",
                "-n",
            ]
        )
        == 0
    )
    command = commands[0]
    files = command.index("--configfile")
    assert command[files + 1 : files + 3] == [str(shared), str(my)]
    assert command[command.index("--config") + 1 :] == ["seed=7"]
    assert command.index("results/x.png") < files  # a target never joins the file list
    assert cli.main(["run", "--config", "my.yaml", "--configfile", "x.yaml"]) == 2
    assert cli.main(["run", "--config", "missing.yaml"]) == 2


def test_validate_show_into_a_closed_pipe_is_quiet(monkeypatch):
    """`monkeys validate --show | head -1`: the reader closes the pipe early; exit 0, no
    traceback (here the pipe is closed before anything is written)."""
    import os

    from monkeys.cli import main

    read, write = os.pipe()
    os.close(read)
    stream = open(write, "w", buffering=1)  # noqa: SIM115 - closed below
    monkeypatch.setattr("sys.stdout", stream)
    try:
        assert main(["validate", "--show", str(REPO / "config" / "config.yaml")]) == 0
    finally:
        stream.close()
