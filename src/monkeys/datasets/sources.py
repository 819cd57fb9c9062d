"""Dataset sources: where raw benchmark data come from, and their sha256.

A source spec is one of

- ``{package, resource}``: a file shipped inside an installed Python package;
- ``{path[, sha256]}``: a local file (JSONL, JSON, Parquet, tar; optionally gzipped) or a
  directory of such files (e.g. MATH's ``test/<subject>/<n>.json`` tree);
- ``{url, sha256}``: a download, checked before use;
- ``{hf, revision[, name, split, data_files]}``: a Hugging Face dataset read with the
  `datasets` library (``pip install 'monkeys[hf]'``); ``hf`` may also be a local dataset
  directory, which is how it is tested offline.

Whatever the source, it is resolved to JSONL bytes (one JSON object per row, the upstream
field names unchanged) plus a description and the sha256 of what was read, which end up in
problems.parquet and in provenance:

- a file, package resource or download: the sha256 of the bytes as stored (before
  decompression). An expected ``sha256`` may name either those bytes or the decompressed
  content, so a checksum published for ``x.jsonl`` also checks ``x.jsonl.gz``.
- a directory: the sha256 of its manifest, the lines ``<relative path>\\0<file sha256>\\n``
  of every data file in sorted order.
- a Hugging Face dataset: the sha256 of the canonical JSONL of its rows (keys sorted).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.resources
import io
import json
import tarfile
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from monkeys.errors import MonkeysError

DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


class SourceError(MonkeysError, RuntimeError):
    """A dataset source could not be read; the message says which and why."""


@dataclass(frozen=True)
class RawData:
    """Rows read from a source as JSONL bytes, with what they were and their hash."""

    data: bytes
    source: str
    sha256: str


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decompress(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _is_tar(data: bytes) -> bool:
    return len(data) > 262 and data[257:262] == b"ustar"


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a dataset row")


def rows_to_jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    """The canonical JSONL of rows (keys sorted, UTF-8), as the parsers read it."""
    return b"".join(
        json.dumps(row, sort_keys=True, ensure_ascii=False, default=_json_default).encode() + b"\n"
        for row in rows
    )


def _parquet_rows(data: bytes, where: str) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(pa.BufferReader(data)).to_pylist()
    except (OSError, pa.ArrowInvalid) as exc:
        raise SourceError(f"{where}: not a readable Parquet file ({exc})") from None


def _file_rows(name: str, data: bytes, where: str) -> Iterator[dict[str, Any]]:
    """Rows of one data file inside a directory or archive (`name` is its relative path)."""
    data = _decompress(data)
    if data[:4] == b"PAR1":
        yield from _parquet_rows(data, where)
        return
    text = data.decode("utf-8")
    if name.endswith(".json") or name.endswith(".json.gz"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{where}: not JSON ({exc})") from None
        items = value if isinstance(value, list) else [value]
        for item in items:
            yield {**item, "_path": name} if isinstance(item, dict) else {"_value": item, "_path": name}
        return
    for line in text.splitlines():  # JSONL: keep broken lines for the parser to report by number
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield {"_unparsed_line": line, "_path": name}


def _is_data_file(name: str) -> bool:
    base = name[:-3] if name.endswith(".gz") else name
    parts = PurePosixPath(name).parts
    return base.endswith(DATA_SUFFIXES) and not any(p.startswith(".") for p in parts)


def _archive_rows(data: bytes, where: str) -> tuple[bytes, int]:
    rows: list[dict[str, Any]] = []
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = sorted(
            (m for m in tar.getmembers() if m.isfile() and _is_data_file(m.name)), key=lambda m: m.name
        )
        for member in members:
            fh = tar.extractfile(member)
            assert fh is not None
            rows.extend(_file_rows(member.name, fh.read(), f"{where}:{member.name}"))
            count += 1
    return rows_to_jsonl(rows), count


def _to_jsonl(data: bytes, where: str) -> bytes:
    """Decompressed file bytes as JSONL: Parquet and tar archives are converted."""
    data = _decompress(data)
    if data[:4] == b"PAR1":
        return rows_to_jsonl(_parquet_rows(data, where))
    if _is_tar(data):
        jsonl, count = _archive_rows(data, where)
        if not count:
            raise SourceError(f"{where}: archive holds no {'/'.join(DATA_SUFFIXES)} files")
        return jsonl
    stripped = data.lstrip()
    if stripped[:1] == b"[":  # a JSON array of rows
        try:
            value = json.loads(data)
        except json.JSONDecodeError:
            return data
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return rows_to_jsonl(value)
    return data


def _check(where: str, expected: str | None, stored: bytes, content: bytes) -> str:
    digest = _sha(stored)
    if expected and expected not in (digest, _sha(content)):
        raise SourceError(f"{where}: sha256 is {digest}, expected {expected}")
    return digest


def read_source(spec: dict[str, Any]) -> RawData:
    """Read a source spec (see the module docstring) as JSONL rows with their sha256.

    An expected `sha256` that does not match is an error.
    """
    if "hf" in spec:
        return _read_hf(spec)
    if "package" in spec:
        raw, where = _read_package(spec["package"], spec["resource"])
    elif "path" in spec:
        path = Path(spec["path"]).expanduser()
        if path.is_dir():
            return _read_directory(path, spec.get("sha256"))
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
        raise SourceError(f"unknown dataset source {spec!r}: use package+resource, path, url+sha256 or hf")
    content = _decompress(raw)
    digest = _check(where, spec.get("sha256"), raw, content)
    return RawData(data=_to_jsonl(content, where), source=where, sha256=digest)


def directory_files(path: Path) -> list[Path]:
    """The data files of a directory source, in the order they are read."""
    return sorted(
        (p for p in path.rglob("*") if p.is_file() and _is_data_file(p.relative_to(path).as_posix())),
        key=lambda p: p.relative_to(path).as_posix(),
    )


def _read_directory(path: Path, expected: str | None) -> RawData:
    files = directory_files(path)
    if not files:
        raise SourceError(f"dataset directory {path} holds no {'/'.join(DATA_SUFFIXES)} files")
    manifest = bytearray()
    rows: list[dict[str, Any]] = []
    for file in files:
        name = file.relative_to(path).as_posix()
        data = file.read_bytes()
        manifest += name.encode() + b"\0" + _sha(data).encode() + b"\n"
        rows.extend(_file_rows(name, data, f"{path}/{name}"))
    where = f"dir:{path.resolve()}"
    digest = _sha(bytes(manifest))
    if expected and expected != digest:
        raise SourceError(f"{where}: sha256 of the directory manifest is {digest}, expected {expected}")
    return RawData(data=rows_to_jsonl(rows), source=where, sha256=digest)


def _read_hf(spec: dict[str, Any]) -> RawData:
    try:
        import datasets
    except ImportError:
        raise SourceError(
            f"dataset source {{hf: {spec['hf']}}} needs the Hugging Face `datasets` library: "
            "pip install 'monkeys[hf]' (or use a path/url source)"
        ) from None
    ident = str(spec["hf"])
    local = Path(ident).expanduser().is_dir()
    revision = spec.get("revision")
    if not local and not revision:
        raise SourceError(f"hf source {ident}: pin a `revision` (a commit sha of the dataset repo)")
    kwargs: dict[str, Any] = {"split": spec.get("split", "test")}
    for key in ("name", "data_files", "cache_dir"):
        if spec.get(key) is not None:
            kwargs[key] = spec[key]
    if revision and not local:
        kwargs["revision"] = revision
    try:
        dataset = datasets.load_dataset(str(Path(ident).expanduser()) if local else ident, **kwargs)
    except Exception as exc:  # noqa: BLE001 - datasets raises many kinds; all mean "cannot read"
        raise SourceError(
            f"cannot load Hugging Face dataset {ident} ({type(exc).__name__}: {exc}); "
            f"download it elsewhere and use a path source"
        ) from None
    data = rows_to_jsonl(dataset.to_list())
    where = (
        f"hf:{Path(ident).resolve() if local else ident}"
        f"{'@' + revision if revision and not local else ''}"
        f"{'/' + spec['name'] if spec.get('name') else ''}[{kwargs['split']}]"
        f" (datasets=={datasets.__version__})"
    )
    digest = _sha(data)
    if spec.get("sha256") and spec["sha256"] != digest:
        raise SourceError(f"{where}: sha256 of its rows is {digest}, expected {spec['sha256']}")
    return RawData(data=data, source=where, sha256=digest)


def _read_package(package: str, resource: str) -> tuple[bytes, str]:
    try:
        ref = importlib.resources.files(package).joinpath(resource)
        data = ref.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise SourceError(
            f"package data {package}/{resource} not found ({exc}); is the package installed?"
        ) from None
    return data, f"pypi:{package}=={package_version(package)}/{resource}"


def package_version(package: str) -> str:
    """The installed version of a package (by import or distribution name), or 'unknown'."""
    try:
        return importlib.metadata.version(package.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def source_inputs(spec: dict[str, Any] | None) -> list[str]:
    """Local files a source reads, as Snakemake inputs: editing one reruns the fetch."""
    if not spec or "path" not in spec:
        return []
    path = Path(spec["path"]).expanduser()
    if path.is_dir():
        return [str(p) for p in directory_files(path)]
    return [str(path)]
