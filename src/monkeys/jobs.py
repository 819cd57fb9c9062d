"""Run one stage as a Snakemake job: log to the rule's log, check inputs, record provenance.

Workflow scripts call `run_job(snakemake, stage, ...)`. Before the stage runs,
every input that has a provenance record is rehashed and must still match it
(a corrupted or hand-edited table is reported by name). After it ran, every
output gets `<output>.prov.json`, and a declared output `<artifact>.lineage.txt` (a figure's,
for the report) gets the artifact's lineage tree.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from monkeys.logs import logged
from monkeys.provenance import (
    LINEAGE_SUFFIX,
    build_record,
    check_inputs,
    record_path,
    write_lineage,
    write_record,
)


def _params(snakemake: Any) -> dict[str, Any]:
    return {name: snakemake.params[name] for name in snakemake.params.keys()}


def run_job(snakemake: Any, stage: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Run `stage(*args, **kwargs)` inside the job described by the `snakemake` object."""
    with logged(snakemake.log[0]):
        inputs = [str(p) for p in snakemake.input]
        input_records = check_inputs(inputs)
        stage(*args, **kwargs)
        try:
            _record(snakemake, inputs, input_records)
        except BaseException:
            # An output without its record looks complete but cannot be trusted (e.g. the disk
            # filled up between the two): remove it, so the job fails with nothing left behind.
            for output in snakemake.output:
                for path in (str(output), record_path(str(output))):
                    with contextlib.suppress(OSError):
                        os.unlink(path)
            raise


def _record(snakemake: Any, inputs: list[str], input_records: Any) -> None:
    """Write every output's provenance record and the lineage trees a figure declares."""
    params = _params(snakemake)
    seed = params.get("seed", snakemake.config.get("seed"))
    outputs = [str(p) for p in snakemake.output]
    for output in outputs:
        if output.endswith((".prov.json", LINEAGE_SUFFIX)):
            continue
        record = build_record(
            output,
            inputs=inputs,
            input_records=input_records,
            config=snakemake.config,
            params=params,
            seeds={"global": int(seed)} if seed is not None else {},
            rule=snakemake.rule,
            wildcards=dict(snakemake.wildcards.items()),
        )
        write_record(record, record_path(output))
    for output in outputs:
        if output.endswith(LINEAGE_SUFFIX):
            write_lineage(output[: -len(LINEAGE_SUFFIX)], output)
