"""Shared fixtures: repository paths, configs, and a Snakemake runner."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def default_config() -> dict:
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def snakemake(workdir: Path, config: dict, *args: str, timeout: int = 1800,
              snakefile: Path = REPO / "Snakefile", env: dict | None = None):
    """Run the repository's Snakefile in `workdir` with `config`; return the CompletedProcess."""
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile),
               "--directory", str(workdir), "--configfile", str(config_path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir,
                          env=env)


def tiny_config() -> dict:
    """The default config cut down to 2 problems x 4 samples: a real run in ~20 s."""
    with open(REPO / "config" / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    config["datasets"]["humaneval"]["problems"] = ["HumanEval/53", "HumanEval/23"]
    config["sampling"].update(num_samples=4, samples_per_shard=2, max_tokens=48)
    config["datasets"]["humaneval"].pop("strong_tests", None)
    config["analysis"] = {"bootstrap_resamples": 50, "fit_resamples": 20, "vote_draws": 20}
    config["plots"] = {"format": ["png"]}
    return config


def write_sampling_inputs(root: Path, weights: dict) -> Path:
    """HumanEval's problems table and a weights manifest in `root`: what sample_shard reads."""
    from monkeys.datasets.registry import DATASETS, normalise
    from monkeys.datasets.sources import read_source
    from monkeys.sampling.weights import resolve_weights, write_manifest
    from monkeys.tables.datasets import PROBLEMS
    from monkeys.tables.io import write_table

    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    write_table(problems, root / "problems.parquet", PROBLEMS)
    write_manifest(resolve_weights(weights), root / "weights.json")
    return root


def job_counts(stdout: str) -> dict[str, int]:
    """Job counts per rule from a dry run's "Job stats" table."""
    table = stdout.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def alive(pid: int) -> bool:
    """Whether pid is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
