"""Import stages: convert a sample file once, and map its keys to a dataset's problems
(monkeys.sampling.importer, monkeys.sampling.release_map)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.sampling.importer import convert_release
from monkeys.sampling.release_map import check_mapping, map_release
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.imports import IMPORT_MAPPING, RELEASE_PROBLEMS
from monkeys.tables.io import read_table, write_table


def import_release(spec: Mapping[str, Any], samples_out: str | Path, problems_out: str | Path) -> None:
    """Convert an import model's file (streamed) to a Parquet read by slice, and its keys."""
    convert_release(spec, samples_out, problems_out)


def import_map(
    index_path: str | Path,
    problems_path: str | Path,
    out: str | Path,
    *,
    spec: Mapping[str, Any],
    model: str,
    dataset: str,
) -> None:
    """Map a converted file's keys to the dataset's problems; stop on keys that do not map
    (unless `unmatched: drop`), naming them and why."""
    mapping = map_release(
        read_table(index_path, RELEASE_PROBLEMS),
        read_table(problems_path, PROBLEMS),
        spec,
        model=model,
        dataset=dataset,
    )
    check_mapping(mapping, spec, where=f"import {model}/{dataset}")
    write_table(mapping, out, IMPORT_MAPPING)


def prepare_import(
    spec: Mapping[str, Any], problems_path: str | Path, workdir: str | Path, *, model: str, dataset: str
) -> dict[str, Path]:
    """Both import rules at once, outside the workflow: the `imported` paths a sampling shard
    (monkeys.stages.sample.sample_shard) of this model and dataset reads."""
    workdir = Path(workdir)
    samples, index = workdir / "samples.parquet", workdir / "problems.parquet"
    mapping = workdir / dataset / "mapping.parquet"
    import_release(spec, samples, index)
    import_map(index, problems_path, mapping, spec=spec, model=model, dataset=dataset)
    return {"samples": samples, "mapping": mapping}
