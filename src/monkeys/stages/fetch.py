"""Fetch stages: datasets to problems tables, model weights to manifests."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys.datasets.registry import DATASETS, DatasetError, normalise_rows
from monkeys.datasets.sources import read_source
from monkeys.sampling.weights import (
    resolve_weights,
    write_manifest,
)
from monkeys.tables.datasets import PROBLEMS, SKIPPED_ROWS
from monkeys.tables.io import write_table

log = logging.getLogger(__name__)


def fetch_dataset(
    dataset: str,
    registry: str,
    source: Mapping[str, Any] | None,
    out: str | Path,
    *,
    prompt: str | None = None,
    allow_skip: bool = False,
    skipped_out: str | Path | None = None,
) -> None:
    """Read registry dataset `registry` from its source; write its problems as `dataset`.

    `prompt` is the template (preset name or text) applied to every problem. A malformed
    row fails the fetch unless `allow_skip`; skipped rows go to `skipped_out` (written
    always, empty when none) and to the log.
    """
    spec = DATASETS[registry]
    spec_source = dict(source) if source else spec.default_source
    if not spec_source:
        raise DatasetError(
            f"dataset {dataset!r} ({registry}) has no default source; set "
            f"datasets.{dataset}.source (upstream: {spec.upstream})"
        )
    raw = read_source(dict(spec_source))
    result = normalise_rows(registry, raw, prompt=prompt, allow_skip=allow_skip)
    problems, skipped = result.problems, result.skipped
    problems["dataset"] = dataset
    skipped["dataset"] = dataset
    write_table(problems, out, PROBLEMS)
    if skipped_out is not None:
        write_table(skipped, skipped_out, SKIPPED_ROWS)
    for row in skipped.itertuples(index=False):
        log.warning(
            "%s: skipped row %d%s: %s",
            dataset,
            row.row,
            f" ({row.problem_id})" if row.problem_id else "",
            row.reason,
        )
    log.info(
        "%s: %d problems from %s (sha256 %s)%s",
        dataset,
        len(problems),
        raw.source,
        raw.sha256,
        f", {len(skipped)} malformed rows skipped" if len(skipped) else "",
    )


def fetch_model(weights_spec: Mapping[str, Any], out: str | Path) -> None:
    """Materialise and verify model weights; write their manifest."""
    weights = resolve_weights(dict(weights_spec))
    write_manifest(weights, out)
    log.info("weights %s sha256 %s from %s", weights.path, weights.sha256, weights.source)
