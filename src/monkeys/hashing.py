"""Content hashes: files, text, and the code that produced an artifact."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, block_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's contents, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def code_hash(paths: Iterable[str | Path]) -> str:
    """One sha256 over the named source files and directories (*.py inside), order-independent.

    Used as a rule param so that editing a library module reruns exactly the rules that
    import it (Snakemake's own code trigger only sees a rule's `script:` line).
    """
    files: set[Path] = set()
    for entry in map(Path, paths):
        if entry.is_dir():
            files.update(p for p in entry.rglob("*.py") if "__pycache__" not in p.parts)
        elif entry.exists():
            files.add(entry)
        else:
            raise FileNotFoundError(f"code_hash: no such file or directory: {entry}")
    digest = hashlib.sha256()
    root = PACKAGE_DIR.parent
    for path in sorted(files):
        try:
            name = path.resolve().relative_to(root)
        except ValueError:
            name = Path(path.name)
        digest.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def library_modules(*names: str) -> list[Path]:
    """Paths of library modules/packages by dotted name relative to `monkeys` (e.g. 'sampling')."""
    out = []
    for name in names:
        base = PACKAGE_DIR.joinpath(*name.split("."))
        out.append(base if base.is_dir() else base.with_suffix(".py"))
    return out
