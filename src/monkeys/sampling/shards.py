"""Shard planning: blocks of sample indices, aligned so that more samples only add shards."""

from __future__ import annotations

import re

_SHARD = re.compile(r"^(\d+)-(\d+)$")


def shard_ranges(num_samples: int, samples_per_shard: int) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) covering 0..num_samples in aligned blocks.

    Block s is [s*size, (s+1)*size); only the last may be shorter. Raising
    `num_samples` to a multiple of the block size keeps every earlier block.
    """
    if num_samples < 1 or samples_per_shard < 1:
        raise ValueError("num_samples and samples_per_shard must be >= 1")
    return [
        (start, min(start + samples_per_shard, num_samples))
        for start in range(0, num_samples, samples_per_shard)
    ]


def shard_name(start: int, stop: int) -> str:
    """The file stem of a shard: '{start}-{stop}'."""
    return f"{start}-{stop}"


def parse_shard(name: str) -> tuple[int, int]:
    """Inverse of `shard_name`; a clear error for anything else."""
    match = _SHARD.match(name)
    if not match or int(match[1]) >= int(match[2]):
        raise ValueError(f"not a shard name (expected 'start-stop' with start < stop): {name!r}")
    return int(match[1]), int(match[2])
