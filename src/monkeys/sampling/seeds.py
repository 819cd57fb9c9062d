"""Per-sample seeds that depend only on what the sample is, never on the shard layout."""

from __future__ import annotations

import hashlib

SEED_MODULUS = 2**31 - 1


def derive_seed(global_seed: int, model: str, dataset: str, problem_id: str, sample_index: int) -> int:
    """A seed in [0, 2**31 - 1) from (global seed, model, dataset, problem, sample index).

    Uses sha256 over the fields joined by a unit separator, so the value is stable
    across Python versions and machines (unlike `hash()`).
    """
    key = "\x1f".join([str(global_seed), model, dataset, problem_id, str(sample_index)])
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SEED_MODULUS
