"""The `vllm` backend without a GPU: a clear error without vLLM, and, against a stand-in
`vllm` module (it only records calls), the requests the backend builds: one per sample
with that sample's seed, engine settings from the config, whole problems per call.
The DAG of a vllm model asks for GPUs on its sampling jobs.
"""

from __future__ import annotations

import copy
import sys
import textwrap
import types

import pytest
from conftest import snakemake

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.sampling.vllm_engine import VLLMBackendError, engine_kwargs, raw_logprobs
from monkeys.sampling.weights import Weights, resolve_weights, write_manifest
from monkeys.stages.sample import make_sampler, sample_requests, sample_shard
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES

SAMPLING = {
    "temperature": 0.6,
    "top_p": 0.9,
    "top_k": 20,
    "min_p": 0.05,
    "max_tokens": 32,
    "stop": ["\ndef "],
}

FAKE = textwrap.dedent('''
    """Stand-in for vllm: records what it is given, answers deterministically."""
    __version__ = "0.11.0"
    calls = []
    engines = []

    class SamplingParams:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    class _Tokenizer:
        def encode(self, text):
            return text.split()

    class Logprob:
        def __init__(self, logprob):
            self.logprob = logprob

    class _Completion:
        def __init__(self, text, tokens, reason, logprobs):
            self.text, self.token_ids, self.finish_reason = text, tokens, reason
            self.logprobs = logprobs
            self.cumulative_logprob = None if logprobs is None else -999.0   # not to be used

    class _Output:
        def __init__(self, prompt, params):
            self.prompt_token_ids = prompt.split()
            text = f"seed={params.seed}"
            tokens = [5 + i for i in range(params.seed % 7 + 1)]
            # The sampled token's log-probability (-0.25 * position), with an unsampled one.
            logprobs = None
            if getattr(params, "logprobs", None) is not None:
                logprobs = [{t: Logprob(-0.25 * (i + 1)), 0: Logprob(-0.01)}
                            for i, t in enumerate(tokens)]
            self.outputs = [_Completion(text, tokens, "stop", logprobs)]

    class LLM:
        def __init__(self, **kwargs):
            engines.append(kwargs)

        def get_tokenizer(self):
            return _Tokenizer()

        def generate(self, prompts, params, use_tqdm=True):
            calls.append((list(prompts), list(params)))
            return [_Output(p, s) for p, s in zip(prompts, params)]
''')


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    exec(FAKE, module.__dict__)
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.delenv("VLLM_BATCH_INVARIANT", raising=False)
    return module


@pytest.fixture
def inputs(tmp_path):
    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    write_table(problems, tmp_path / "problems.parquet", PROBLEMS)
    write_manifest(resolve_weights({"hf": "org/model", "revision": "abc123"}), tmp_path / "weights.json")
    return tmp_path


def test_missing_vllm_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(VLLMBackendError, match=r"pip install 'monkeys\[vllm\]'"):
        make_sampler("m", {"backend": "vllm", "vllm": {}}, Weights("org/model", "", "hf:org/model"))


def test_engine_kwargs():
    spec = {
        "tensor_parallel_size": 2,
        "dtype": "bfloat16",
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.85,
        "enable_prefix_caching": True,
        "checkpoint_samples": 10,
        "engine_args": {"max_num_batched_tokens": 8192},
    }
    assert engine_kwargs("/models/x", spec) == {
        "model": "/models/x",
        "seed": 0,
        "tensor_parallel_size": 2,
        "dtype": "bfloat16",
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.85,
        "enable_prefix_caching": True,
        "max_num_batched_tokens": 8192,
    }
    with pytest.raises(VLLMBackendError, match="unknown vllm settings"):
        engine_kwargs("/models/x", {"tensor_parallel": 2})


def test_one_request_per_sample_with_its_seed(fake_vllm, inputs):
    spec = {
        "backend": "vllm",
        "weights": {"hf": "org/model", "revision": "abc123"},
        "vllm": {
            "tensor_parallel_size": 2,
            "dtype": "bfloat16",
            "max_model_len": 4096,
            "enable_prefix_caching": True,
            "checkpoint_samples": 5,
            "batch_invariant": True,
        },
    }
    selection = {"problems": ["HumanEval/53", "HumanEval/23", "HumanEval/28"]}
    out = inputs / "shard.parquet"
    sample_shard(
        inputs / "problems.parquet",
        inputs / "weights.json",
        out,
        model="llama",
        model_spec=spec,
        selection=selection,
        sampling=SAMPLING,
        seed=11,
        start=4,
        stop=8,
        progress_interval_s=0,
    )
    [engine] = fake_vllm.engines
    assert engine["model"] == "org/model" and engine["revision"] == "abc123"
    assert engine["tensor_parallel_size"] == 2 and engine["enable_prefix_caching"] is True
    import os

    assert os.environ["VLLM_BATCH_INVARIANT"] == "1"
    # checkpoint_samples=5: whole problems per generate() call, 8 + 4 samples.
    assert [len(prompts) for prompts, _ in fake_vllm.calls] == [8, 4]
    params = [p for _, ps in fake_vllm.calls for p in ps]
    assert all(p.n == 1 and p.top_k == 20 and p.min_p == 0.05 and p.stop == ["\ndef "] for p in params)
    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    chosen = problems.set_index("problem_id").loc[selection["problems"]].reset_index()
    expected = sample_requests(chosen, seed=11, model="llama", start=4, stop=8)
    assert [p.seed for p in params] == [r.seed for r in expected]
    frame = read_table(out, SAMPLES)
    assert frame["completion"].tolist() == [f"seed={r.seed}" for r in expected]
    assert frame["seed"].tolist() == [r.seed for r in expected]
    assert (frame["completion_tokens"] == [r.seed % 7 + 1 for r in expected]).all()
    assert (frame["prompt_tokens"] > 10).all()
    # The sampled tokens' log-probabilities, summed over the completion's tokens.
    assert all(p.logprobs == 0 for p in params)
    counts = frame["completion_tokens"].to_numpy()
    assert frame["logprob_sum"].tolist() == pytest.approx((-0.25 * counts * (counts + 1) / 2).tolist())
    assert frame["logprob_mean"].tolist() == pytest.approx((-0.125 * (counts + 1)).tolist())


@pytest.mark.parametrize("version, use_v1", [("0.6.3", None), ("0.10.1.1", "0")])
def test_v0_engine_records_no_logprobs(fake_vllm, monkeypatch, version, use_v1):
    """vLLM's V0 engine returns log-probabilities after temperature and truncation: none are
    asked for and logprob_sum stays empty."""
    from monkeys.sampling.base import SampleRequest, SamplingParams

    monkeypatch.setattr(fake_vllm, "__version__", version)
    if use_v1 is not None:
        monkeypatch.setenv("VLLM_USE_V1", use_v1)
    sampler = make_sampler("m", {"backend": "vllm", "vllm": {}}, Weights("org/model", "", "hf:org/model"))
    [result] = sampler.sample([SampleRequest("a", "hi", 0, 3)], SamplingParams.from_config(SAMPLING))
    assert result.logprob_sum is None and result.completion_tokens == 4
    [(_, [params])] = fake_vllm.calls
    assert not hasattr(params, "logprobs")


def test_raw_logprobs_detection():
    assert raw_logprobs("0.11.0", None, {})
    assert raw_logprobs("0.8.5.post1+cu124", None, {})
    assert not raw_logprobs("0.7.3", None, {})
    assert not raw_logprobs("0.10.0", None, {"VLLM_USE_V1": "0"})
    assert raw_logprobs("0.10.0", "vllm.v1.engine.llm_engine", {})
    assert not raw_logprobs("0.9.2", "vllm.engine.llm_engine", {})  # fell back to V0
    assert not raw_logprobs("unknown", None, {})
    with pytest.raises(VLLMBackendError, match="logprobs_mode 'processed_logprobs'"):
        engine_kwargs("/m", {"engine_args": {"logprobs_mode": "processed_logprobs"}})
    assert engine_kwargs("/m", {"engine_args": {"logprobs_mode": "raw_logprobs"}})["logprobs_mode"]


def test_prompt_longer_than_the_model_is_recorded(fake_vllm):
    sampler = make_sampler(
        "m", {"backend": "vllm", "vllm": {"max_model_len": 5}}, Weights("org/model", "", "hf:org/model")
    )
    from monkeys.sampling.base import SampleRequest, SamplingParams

    params = SamplingParams.from_config(SAMPLING)
    long, short = SampleRequest("a", "one two three four five six", 0, 1), SampleRequest("b", "hi", 0, 2)
    first, second = sampler.sample([long, short], params)
    assert first.finish_reason == "prompt_too_long" and first.prompt_tokens == 6
    assert second.completion == "seed=2"


def test_dry_run_asks_for_gpus(tmp_path, default_config):
    config = copy.deepcopy(default_config)
    config["models"] = {
        "llama-8b": {
            "backend": "vllm",
            "weights": {"hf": "meta-llama/Meta-Llama-3-8B"},
            "params_billions": 8.0,
        },
        "llama-70b": {
            "backend": "vllm",
            "weights": {"hf": "meta-llama/Meta-Llama-3-70B"},
            "vllm": {"tensor_parallel_size": 4},
        },
        "api": {"backend": "openai", "openai": {"base_url": "http://127.0.0.1:1/v1", "model": "x"}},
    }
    config["sampling"].update(num_samples=4, samples_per_shard=2)
    result = snakemake(
        tmp_path,
        config,
        "--dry-run",
        "--cores",
        "2",
        "--printshellcmds",
        "results/samples/llama-8b/humaneval/0-2.parquet",
        "results/samples/llama-70b/humaneval/0-2.parquet",
        "results/samples/api/humaneval/0-2.parquet",
    )
    assert result.returncode == 0, result.stderr
    jobs = result.stdout.split("rule sample_shard:")[1:]
    by_model = {next(m for m in ("llama-8b", "llama-70b", "api") if f"samples/{m}/" in j): j for j in jobs}
    assert "gpu=1" in by_model["llama-8b"]
    assert "gpu=4" in by_model["llama-70b"]
    assert "gpu=0" in by_model["api"]
