"""A non-editable install (`pip install .`, a wheel in a container) carries everything the
library reads: it validates a config and plans the workflow without the checkout's files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, snakemake, tiny_config


def test_a_non_editable_install_validates_and_plans(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-cache-dir",
            "--target",
            str(site),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(site)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import monkeys.config as c; print(c.__file__); "
            "print(c.SCHEMA_PATH.is_file() and not c.SCHEMA_PATH.is_symlink(), "
            "c.DEFAULT_CONFIG_PATH.is_file())",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    )
    where, found = probe.stdout.split("\n")[:2]
    assert where.startswith(str(site)) and found == "True True", probe.stdout
    validate = subprocess.run(
        [sys.executable, "-m", "monkeys.cli", "validate", str(REPO / "config" / "config.yaml")],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    workdir = tmp_path / "work"
    workdir.mkdir()
    plan = snakemake(workdir, tiny_config(), "--dry-run", "--cores", "2", env=env)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "sample_shard" in plan.stdout
