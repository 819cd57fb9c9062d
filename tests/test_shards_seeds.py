"""Shard planning and per-sample seeds."""

from __future__ import annotations

import pytest

from monkeys.sampling.seeds import SEED_MODULUS, derive_seed
from monkeys.sampling.shards import parse_shard, shard_name, shard_ranges


def test_shards_cover_all_indices_in_aligned_blocks():
    assert shard_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shard_ranges(8, 8) == [(0, 8)]
    for n, size in [(1, 1), (7, 3), (100, 16)]:
        indices = [i for a, b in shard_ranges(n, size) for i in range(a, b)]
        assert indices == list(range(n))


def test_raising_num_samples_keeps_earlier_shards():
    old = shard_ranges(32, 8)
    new = shard_ranges(64, 8)
    assert new[: len(old)] == old


def test_shard_names_round_trip():
    assert parse_shard(shard_name(8, 16)) == (8, 16)
    for bad in ["8-8", "16-8", "a-b", "8_16"]:
        with pytest.raises(ValueError):
            parse_shard(bad)
    with pytest.raises(ValueError):
        shard_ranges(0, 4)


def test_seed_is_stable_and_depends_on_every_field():
    base = derive_seed(1234, "m", "d", "p", 0)
    assert base == derive_seed(1234, "m", "d", "p", 0)
    assert 0 <= base < SEED_MODULUS
    variants = {
        derive_seed(1235, "m", "d", "p", 0),
        derive_seed(1234, "m2", "d", "p", 0),
        derive_seed(1234, "m", "d2", "p", 0),
        derive_seed(1234, "m", "d", "p2", 0),
        derive_seed(1234, "m", "d", "p", 1),
    }
    assert base not in variants and len(variants) == 5


def test_seed_fields_cannot_run_together():
    assert derive_seed(1, "ab", "c", "p", 0) != derive_seed(1, "a", "bc", "p", 0)


def test_seed_golden_value():
    # Fixed forever: changing the derivation would silently change every sample.
    assert derive_seed(1234, "gemma3-270m", "humaneval", "HumanEval/53", 0) == 1499889200
