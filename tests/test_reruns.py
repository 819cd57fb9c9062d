"""Rerun precision: after a real tiny run, each kind of change plans exactly the jobs it must."""

from __future__ import annotations

import copy
import os
import shutil

import pytest
from conftest import REPO, job_counts, snakemake, tiny_config

pytestmark = pytest.mark.e2e

PLOTS = {"plot_coverage": 1, "plot_cost": 1, "plot_selection": 1, "plot_verification_gap": 1, "all": 1}
DOWNSTREAM = {
    "aggregate": 1,
    "coverage": 1,
    "fit": 1,
    "selection": 1,
    "cost": 1,
    "verification_gap": 1,
    **PLOTS,
}


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


@pytest.mark.parametrize(
    ("key", "value", "calibrates"),
    [
        ("factor", 6.0, False),  # applied by execute_shard: the cached reference timings stay
        ("floor_s", 0.5, False),
        ("repeats", 2, True),  # how the reference is timed: calibration reruns
    ],
)
def test_time_limit_setting_reruns_calibration_only_when_it_measures(done, key, value, calibrates):
    workdir, config = done
    assert (workdir / "results/datasets/humaneval/time_limits.parquet").exists()
    config = copy.deepcopy(config)
    config["execution"].setdefault("time_limit", {})[key] = value
    expected = {"execute_shard": 2, **DOWNSTREAM}
    assert plan(workdir, config) == ({"calibrate_limits": 1, **expected} if calibrates else expected)


def test_analysis_setting_reruns_analysis_only(done):
    workdir, config = done
    config = copy.deepcopy(config)
    config["analysis"]["bootstrap_resamples"] = 60  # selection does not read it
    assert plan(workdir, config) == {
        "coverage": 1,
        "fit": 1,
        "cost": 1,
        "plot_coverage": 1,
        "plot_cost": 1,
        "all": 1,
    }


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # only the fit reads extrapolate_to: not coverage, selection or cost
        ("extrapolate_to", 5000, {"fit": 1, "plot_coverage": 1, "all": 1}),
        # only selection reads vote_draws
        (
            "vote_draws",
            50,
            {
                "selection": 1,
                "plot_selection": 1,
                "verification_gap": 1,
                "plot_verification_gap": 1,
                "all": 1,
            },
        ),  # the gap reads selection
    ],
)
def test_analysis_key_reruns_only_its_readers(done, key, value, expected):
    workdir, config = done
    config = copy.deepcopy(config)
    assert config["analysis"].get(key) != value
    config["analysis"][key] = value
    assert plan(workdir, config) == expected


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
        (
            "metrics/bootstrap.py",
            {"coverage": 1, "fit": 1, "cost": 1, "plot_coverage": 1, "plot_cost": 1, "all": 1},
        ),
        # the reference timings (calibrate_limits) run programs too
        ("execution/programs.py", {"calibrate_limits": 1, "execute_shard": 2, **DOWNSTREAM}),
        ("tables/verdicts.py", {"execute_shard": 2, **DOWNSTREAM}),
        ("tables/selection.py", {"selection": 1, "verification_gap": 1, **PLOTS}),  # plots: all
        # a job hashes only its own sampler backend and grader (monkeys.sampling.backends,
        # monkeys.grading.graders): this run samples with llama.cpp and runs unit tests
        ("sampling/openai_api.py", {}),
        ("sampling/vllm_engine.py", {}),
        ("grading/math.py", {}),
        ("sampling/embedded.py", {"sample_shard": 2, "execute_shard": 2, **DOWNSTREAM}),
        ("grading/unit_tests.py", {"execute_shard": 2, **DOWNSTREAM}),
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
    source = edited.read_text()
    env = {**os.environ, "PYTHONPATH": str(copy_root / "src")}
    # A comment, a reworded docstring and reformatting mean the same: nothing reruns.
    edited.write_text(_reword_docstrings(source) + "\n# a comment\n\n\n")
    assert plan(workdir, config, snakefile=copy_root / "Snakefile", env=env) == {}
    # A statement is a change of meaning: the rules that import the module rerun.
    edited.write_text(source + "\n_AN_EDIT = 1\n")
    assert plan(workdir, config, snakefile=copy_root / "Snakefile", env=env) == expected


def _reword_docstrings(source: str) -> str:
    """`source` with every triple-quoted docstring's first line reworded."""
    return source.replace('"""', '"""Reworded. ', 1) if '"""' in source else source
