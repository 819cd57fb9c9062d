"""Rerun precision: after a real tiny run, each kind of change plans exactly the jobs it must."""

from __future__ import annotations

import copy
import os
import shutil

import pytest
from conftest import REPO, job_counts, snakemake, tiny_config

pytestmark = pytest.mark.e2e

PLOTS = {"plot_coverage": 1, "plot_cost": 1, "plot_selection": 1, "all": 1}
DOWNSTREAM = {"aggregate": 1, "coverage": 1, "fit": 1, "selection": 1, "cost": 1, **PLOTS}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reruns")
    config = tiny_config()
    result = snakemake(workdir, config, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, config


def plan(workdir, config, **kwargs) -> dict[str, int]:
    result = snakemake(workdir, config, "--dry-run", "--cores", "2", **kwargs)
    assert result.returncode == 0, result.stderr[-3000:]
    if "Nothing to be done" in result.stdout + result.stderr:
        return {}
    return job_counts(result.stdout)


def test_unchanged_plans_nothing(done):
    assert plan(*done) == {}


def test_plot_option_reruns_only_the_plot(done):
    workdir, config = done
    config = copy.deepcopy(config)
    config["plots"]["dpi"] = 100
    assert plan(workdir, config) == PLOTS


def test_execution_setting_reruns_execution_not_sampling(done):
    workdir, config = done
    config = copy.deepcopy(config)
    config["execution"]["timeout_s"] = 7
    assert plan(workdir, config) == {"execute_shard": 2, **DOWNSTREAM}


def test_analysis_setting_reruns_analysis_only(done):
    workdir, config = done
    config = copy.deepcopy(config)
    config["analysis"]["bootstrap_resamples"] = 60
    assert plan(workdir, config) == {"coverage": 1, "fit": 1, "selection": 1, "cost": 1, **PLOTS}


def test_new_model_runs_only_its_jobs(done):
    workdir, config = done
    config = copy.deepcopy(config)
    config["models"]["twin"] = copy.deepcopy(config["models"]["gemma3-270m"])
    jobs = plan(workdir, config)
    assert jobs == {"fetch_model": 1, "sample_shard": 2, "execute_shard": 2, **DOWNSTREAM}


def test_more_samples_add_shards_only(done):
    workdir, config = done
    config = copy.deepcopy(config)
    config["sampling"]["num_samples"] = 8
    assert plan(workdir, config) == {"sample_shard": 2, "execute_shard": 2, **DOWNSTREAM}


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("plots.py", PLOTS),
        ("scaling/powerlaw.py", {"fit": 1, **PLOTS}),
        ("metrics/bootstrap.py", {"coverage": 1, "fit": 1, "cost": 1, "plot_coverage": 1,
                                  "plot_cost": 1, "all": 1}),
        ("execution/programs.py", {"execute_shard": 2, **DOWNSTREAM}),
        ("tables/verdicts.py", {"execute_shard": 2, **DOWNSTREAM}),
        ("tables/selection.py", {"selection": 1, **PLOTS}),  # plot.py draws every table
    ],
)
def test_library_edit_reruns_the_rules_that_use_it(done, tmp_path, module, expected):
    """Edit a copy of the library (imported first via PYTHONPATH) and plan against it."""
    workdir, config = done
    copy_root = tmp_path / "repo"
    copy_root.mkdir()
    for name in ["Snakefile", "rules", "workflow_scripts", "config", "src"]:
        source = REPO / name
        target = copy_root / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    edited = copy_root / "src" / "monkeys" / module
    edited.write_text(edited.read_text() + "\n# an edit\n")
    env = {**os.environ, "PYTHONPATH": str(copy_root / "src")}
    assert plan(workdir, config, snakefile=copy_root / "Snakefile", env=env) == expected
