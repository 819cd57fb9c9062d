"""The Snakemake DAG: dry runs for several models and datasets, lint, and config errors."""

from __future__ import annotations

import copy
import subprocess
import sys

from conftest import REPO, job_counts, snakemake


def test_dry_run_multi_model_multi_dataset(tmp_path, default_config):
    config = copy.deepcopy(default_config)
    config["models"]["other"] = copy.deepcopy(config["models"]["gemma3-270m"])
    config["datasets"]["he-first5"] = {"registry": "humaneval", "limit": 5}
    config["sampling"].update(num_samples=20, samples_per_shard=8)
    config["plots"] = {"format": ["png", "pdf"]}
    result = snakemake(tmp_path, config, "--dry-run", "--cores", "2")
    assert result.returncode == 0, result.stderr
    jobs = job_counts(result.stdout)
    models, datasets, shards = 2, 2, 3  # 20 samples in blocks of 8: 0-8, 8-16, 16-20
    assert jobs == {
        "all": 1,
        "fetch_dataset": datasets,
        "fetch_model": models,
        "sample_shard": models * datasets * shards,
        "execute_shard": models * datasets * shards,
        "aggregate": models * datasets,
        "coverage": models * datasets,
        "fit": models * datasets,
        "selection": models * datasets,
        "cost": datasets,
        "plot_coverage": datasets * 2,
        "plot_cost": datasets * 2,
        "plot_selection": datasets * 2,
        "verification_gap": datasets,
        "calibrate_limits": datasets,  # the references' timings (calibrated time limits)
        "plot_verification_gap": datasets * 2,
        # The default config generates strong tests for humaneval (not for the alias):
        "generate_tests": 1,
        "verifiers": models,
        "plot_verifiers": 2,
        "plot_utility": 2,
        "flaws": 1,
        "plot_flaws": 2,
        "style": models,
        "plot_style": 2,
    }
    assert "results/samples/other/he-first5/16-20.parquet" in result.stdout


def test_invalid_config_fails_before_any_job(tmp_path, default_config):
    default_config["sampling"]["temprature"] = 1.0
    result = snakemake(tmp_path, default_config, "--dry-run", "--cores", "1")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "unknown key 'temprature' under 'sampling'" in output
    assert "allowed keys:" in output and "temperature" in output


def test_lint_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_dry_run_plans_verifier_and_family_figures(tmp_path, default_config):
    config = copy.deepcopy(default_config)
    config["models"]["gemma3-270m"]["family"] = "gemma3"
    config["models"]["big"] = {**copy.deepcopy(config["models"]["gemma3-270m"]), "params_billions": 1.0}
    config["plots"] = {"format": ["png"]}
    result = snakemake(tmp_path, config, "--dry-run", "--cores", "2")
    assert result.returncode == 0, result.stderr
    jobs = job_counts(result.stdout)
    assert jobs["generate_tests"] == 1  # the default config asks for strong tests
    assert jobs["verifiers"] == 2 and jobs["plot_verifiers"] == 1 and jobs["plot_utility"] == 1
    assert jobs["flaws"] == 1 and jobs["plot_flaws"] == 1  # one table across both models
    assert jobs["style"] == 2 and jobs["plot_style"] == 1
    assert jobs["family"] == 1 and jobs["plot_family"] == 1
    assert "results/datasets/humaneval/strong_tests.parquet" in result.stdout
