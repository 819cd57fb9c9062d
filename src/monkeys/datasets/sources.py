"""Dataset sources: where raw benchmark bytes come from, and their sha256.

A source is resolved to bytes plus a description and the sha256 of exactly the
bytes read, which end up in problems.parquet and in provenance.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.resources
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monkeys.errors import MonkeysError


class SourceError(MonkeysError, RuntimeError):
    """A dataset source could not be read; the message says which and why."""


@dataclass(frozen=True)
class RawData:
    """Bytes read from a source (decompressed if gzipped), with what they were and their hash."""

    data: bytes
    source: str
    sha256: str


def _decompress(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def read_source(spec: dict[str, Any]) -> RawData:
    """Read a source spec: {package, resource} | {path[, sha256]} | {url, sha256}.

    The sha256 is of the bytes as stored (before decompression); an expected
    `sha256` that does not match is an error.
    """
    if "package" in spec:
        raw, where = _read_package(spec["package"], spec["resource"])
    elif "path" in spec:
        path = Path(spec["path"]).expanduser()
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read dataset file {path}: {exc.strerror}") from None
        where = f"file:{path.resolve()}"
    elif "url" in spec:
        if "sha256" not in spec:
            raise SourceError(f"url source {spec['url']} needs an expected sha256")
        try:
            with urllib.request.urlopen(spec["url"], timeout=60) as response:
                raw = response.read()
        except OSError as exc:
            raise SourceError(
                f"cannot download {spec['url']}: {exc}; download it elsewhere and "
                f"set the dataset's source to {{path: FILE}}"
            ) from None
        where = spec["url"]
    else:
        raise SourceError(f"unknown dataset source {spec!r}: use package+resource, path or url")
    digest = hashlib.sha256(raw).hexdigest()
    expected = spec.get("sha256")
    if expected and expected != digest:
        raise SourceError(f"{where}: sha256 is {digest}, expected {expected}")
    return RawData(data=_decompress(raw), source=where, sha256=digest)


def _read_package(package: str, resource: str) -> tuple[bytes, str]:
    try:
        ref = importlib.resources.files(package).joinpath(resource)
        data = ref.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise SourceError(
            f"package data {package}/{resource} not found ({exc}); is the package installed?"
        ) from None
    try:
        version = importlib.metadata.version(package.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return data, f"pypi:{package}=={version}/{resource}"
