"""Fetch stages: datasets to problems tables, model weights to manifests."""


from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monkeys import tables
from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.sampling.weights import (
    resolve_weights,
    write_manifest,
)

log = logging.getLogger("monkeys")


def fetch_dataset(
    dataset: str, registry: str, source: Mapping[str, Any] | None, out: str | Path
) -> None:
    """Read registry dataset `registry` from its source; write its problems as `dataset`."""
    spec = DATASETS[registry]
    raw = read_source(dict(source or spec.default_source))
    problems = normalise(registry, raw)
    problems["dataset"] = dataset
    tables.write_table(problems, out, tables.PROBLEMS)
    log.info("%s: %d problems from %s (sha256 %s)", dataset, len(problems), raw.source, raw.sha256)


def fetch_model(weights_spec: Mapping[str, Any], out: str | Path) -> None:
    """Materialise and verify model weights; write their manifest."""
    weights = resolve_weights(dict(weights_spec))
    write_manifest(weights, out)
    log.info("weights %s sha256 %s from %s", weights.path, weights.sha256, weights.source)
