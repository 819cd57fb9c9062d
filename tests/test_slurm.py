"""`snakemake --profile slurm` on a real single-node SLURM cluster.

The cluster (tests/slurm_cluster.py: munged, MariaDB, slurmdbd, slurmctld, slurmd on
loopback, with two fake GPUs) is started for this module and stopped afterwards.
The tiny end-to-end config runs twice: locally with `--cores 2`, then through the
repository's profile with only the test cluster's account/partition and fast status
polling overridden. While the SLURM run goes, one running sampling job is killed with
`scancel`; the profile's retries must bring the run to completion anyway. Then:
the jobs ran as SLURM jobs (their ids are in Snakemake's metadata and log and in
`sacct`), the sbatch command lines of sampling jobs requested the GPU the config
asked for, and every table equals the local run's (wall-time columns aside).

Without SLURM (or root) the SLURM tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, job_counts, snakemake_command
from slurm_cluster import ACCOUNT, GPU_TYPE, PARTITION, SlurmCluster, missing_requirements

MODEL, DATASET = "gemma3-270m", "humaneval"
SAMPLING_RESOURCES = {"gpu": 1, "gpu_model": GPU_TYPE, "cpus_per_gpu": 1, "mem_mb": 2000, "runtime": 15}
# Test overrides on top of the profile: this cluster's account and partition (the
# profile has placeholders), and the first status check after 1 s instead of 40 s,
# then after 2 s (the plugin adds 10 s per check that finds no job finished).
SLURM_OVERRIDES = (
    "--default-resources",
    f"slurm_account={ACCOUNT}",
    f"slurm_partition={PARTITION}",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
)
# Columns that measure time, so differ between any two runs.
TIMING_COLUMNS = re.compile(r"(^|_)(wall_s|runtime_s)$")


def tiny_config() -> dict:
    """The tiny config of tests/test_e2e.py, its model asking for one (fake) GPU."""
    with open(REPO / "config" / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    config["models"][MODEL]["resources"] = dict(SAMPLING_RESOURCES)
    config["datasets"][DATASET]["problems"] = ["HumanEval/53", "HumanEval/23"]
    config["sampling"].update(num_samples=4, samples_per_shard=2, max_tokens=48)
    config["analysis"] = {"bootstrap_resamples": 50}
    return config


def run_snakemake(
    workdir: Path,
    config: dict,
    *args: str,
    env: dict | None = None,
    cwd: Path | None = None,
    timeout: int = 1500,
) -> subprocess.CompletedProcess:
    command = snakemake_command(workdir, config, *args)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=cwd or workdir, env=env
    )


def fail_or_skip(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the SLURM tests, but {reason}")
    pytest.skip(reason)


# -- no cluster needed -------------------------------------------------------------------


def test_profile_found_from_repo_root_and_maps_model_resources(tmp_path):
    """`--profile slurm` typed in the repository root finds ./slurm; resources come from config."""
    config = tiny_config()
    config["models"]["cpu-model"] = {"backend": "embedded", "threads": 2}
    result = run_snakemake(tmp_path, config, "--profile", "slurm", "--dry-run", cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = job_counts(result.stdout)
    # The rules whose jobs go to SLURM (the others are localrules).
    assert {r: jobs[r] for r in ("fetch_model", "sample_shard", "execute_shard")} == {
        "fetch_model": 2,
        "sample_shard": 4,
        "execute_shard": 4,
    }
    blocks = result.stdout.split("\nrule ")
    gpu = [b for b in blocks if b.startswith("sample_shard:") and f"model={MODEL}," in b]
    cpu = [b for b in blocks if b.startswith("sample_shard:") and "model=cpu-model," in b]
    assert len(gpu) == 2 and len(cpu) == 2
    for block in gpu:
        assert (
            f"gpu=1, gpu_model={GPU_TYPE}, cpus_per_gpu=1" in block
            and "mem_mb=2000" in block
            and "runtime=15" in block
        ), block
    for block in cpu:
        assert "gpu=0" in block and "gpu_model" not in block and "mem_mb=4096" in block, block
    assert "slurm_account=your_account" in result.stdout  # the profile's placeholder


def test_model_resources_are_validated():
    from monkeys.config import ConfigError, validate_config

    config = tiny_config()
    config["models"][MODEL]["resources"] = {"gpu_model": "a100"}
    with pytest.raises(ConfigError, match="'gpu' is a dependency of 'gpu_model'"):
        validate_config(config)
    config["models"][MODEL]["resources"] = {"gpus": 2}
    with pytest.raises(ConfigError, match="unknown key 'gpus' under 'models.gemma3-270m.resources'"):
        validate_config(config)


def test_paper_scale_plans_in_low_thousands_of_jobs():
    """6 models x 5 datasets x 10,000 samples per problem (benchmarks/bench_planning.py)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bench_planning
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    row = bench_planning.plan(500)
    assert row["per_rule"]["sample_shard"] == row["per_rule"]["execute_shard"] == 6 * 5 * 20
    assert row["jobs"] < 3000 and row["slurm_jobs"] < 1500, row
    assert row["seconds"] < 30, row


def test_profile_settings():
    profile = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["scheduler"] == "greedy"
    assert profile["retries"] >= 1 and profile["rerun-incomplete"] and profile["keep-going"]
    assert profile["latency-wait"] >= 30 and profile["slurm-logdir"]
    assert "slurm_account" in profile["default-resources"]
    partitions = yaml.safe_load((REPO / "slurm" / profile["slurm-partition-config"]).read_text())
    assert any(p.get("max_gpu", 0) > 0 for p in partitions["partitions"].values())


# -- a real cluster ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = missing_requirements()
    if reason:
        fail_or_skip(reason)
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    slurm.start()
    try:
        yield slurm
    finally:
        slurm.stop()


class Watcher(threading.Thread):
    """While the workflow runs: scancel one running sampling job once, and read the
    SLURM job ids Snakemake records in its metadata (.snakemake/incomplete markers)."""

    def __init__(self, cluster: SlurmCluster, workdir: Path):
        super().__init__(daemon=True)
        self.cluster, self.workdir = cluster, workdir
        self.done = threading.Event()
        self.cancelled: tuple[str, str] | None = None  # (job id, comment)
        self.metadata_ids: set[str] = set()
        self.error: BaseException | None = None

    def run(self):
        first_seen: dict[str, float] = {}
        try:
            while not self.done.is_set():
                for marker in (self.workdir / ".snakemake" / "incomplete").rglob("*"):
                    try:
                        jobid = json.loads(marker.read_text()).get("external_jobid")
                    except (OSError, ValueError):
                        continue
                    if jobid:
                        self.metadata_ids.add(str(jobid))
                if self.cancelled is None:
                    running = self.cluster.run(
                        "squeue", "-h", "-t", "RUNNING", "-o", "%i|%k", check=False, timeout=20
                    )
                    for line in running.split():
                        jobid, _, comment = line.partition("|")
                        if comment.startswith("rule_sample_shard"):
                            # Let it get going (Snakemake started in the job) before killing it.
                            if time.monotonic() - first_seen.setdefault(jobid, time.monotonic()) > 2:
                                self.cluster.run("scancel", jobid)
                                self.cancelled = (jobid, comment)
                                break
                time.sleep(0.25)
        except BaseException as exc:  # reported by the test
            self.error = exc


def sbatch_recorder(directory: Path) -> tuple[Path, Path]:
    """An `sbatch` that logs its arguments (one call per line, \\x1f-separated) and runs the real one."""
    real = subprocess.run(["bash", "-c", "command -v sbatch"], capture_output=True, text=True).stdout.strip()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "sbatch-calls.log"
    wrapper = directory / "sbatch"
    wrapper.write_text(f"""#!/bin/sh
{{ for arg in "$@"; do printf '%s\\037' "$arg"; done; printf '\\n'; }} >> {shlex.quote(str(log))}
exec {shlex.quote(real)} "$@"
""")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory, log


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The tiny config run locally, then with `--profile slurm` on the cluster."""
    config = tiny_config()
    timings = {"cluster_start_s": round(cluster.timings["start_s"], 1)}

    local = tmp_path_factory.mktemp("local")
    t0 = time.monotonic()
    result = run_snakemake(local, config, "--cores", "2")
    timings["local_s"] = round(time.monotonic() - t0, 1)
    assert result.returncode == 0, result.stderr[-4000:]

    remote = tmp_path_factory.mktemp("remote")
    bindir, sbatch_log = sbatch_recorder(tmp_path_factory.mktemp("bin"))
    env = cluster.env()
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    watcher = Watcher(cluster, remote)
    watcher.start()
    t0 = time.monotonic()
    try:
        slurm = run_snakemake(
            remote, config, "--profile", str(REPO / "slurm"), *SLURM_OVERRIDES, env=env, timeout=900
        )
    finally:
        timings["slurm_s"] = round(time.monotonic() - t0, 1)
        watcher.done.set()
        watcher.join(timeout=30)
    calls = (
        [line.rstrip("\x1f").split("\x1f") for line in sbatch_log.read_text().splitlines()]
        if sbatch_log.exists()
        else []
    )
    timings["sbatch_calls"] = len(calls)
    print(f"\nSLURM test timings: {json.dumps(timings)}")
    (tmp_path_factory.getbasetemp() / "slurm-timings.json").write_text(json.dumps(timings))
    return {
        "local": local,
        "remote": remote,
        "result": slurm,
        "watcher": watcher,
        "calls": calls,
        "timings": timings,
        "config": config,
    }


def planned_jobs(output: str) -> tuple[Counter, set[str], set[str]]:
    """Jobs per rule from a run's "Job stats", and which rules ran as SLURM jobs / locally."""
    table = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    stats = Counter(
        {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}
    )
    remote = set(re.findall(r"^rule (\w+):$", output, re.M))
    local = set(re.findall(r"^localrule (\w+):$", output, re.M))
    return stats, remote, local


def submitted_jobs(output: str) -> dict[str, str]:
    """SLURM job id -> rule, from Snakemake's own log of the run."""
    found = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/", output)
    return {jobid: rule for jobid, rule in found}


def sacct(cluster: SlurmCluster, jobids) -> dict[str, dict[str, str]]:
    fields = ["JobIDRaw", "JobName", "State", "ExitCode", "Comment", "ReqTRES", "AllocTRES", "NodeList"]
    out = cluster.run(
        "sacct",
        "-X",
        "-n",
        "-P",
        "--starttime",
        "2000-01-01",
        "-j",
        ",".join(sorted(jobids)),
        "--format",
        ",".join(fields),
    )
    rows = [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]
    return {row["JobIDRaw"]: row for row in rows}


@pytest.mark.e2e
def test_slurm_run_completes(runs):
    result = runs["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert runs["watcher"].error is None, runs["watcher"].error
    assert (runs["remote"] / "results/figures/coverage/humaneval.png").stat().st_size > 10_000


@pytest.mark.e2e
def test_jobs_ran_as_slurm_jobs(runs, cluster):
    output = runs["result"].stderr + runs["result"].stdout
    submitted = submitted_jobs(output)
    stats, remote, local = planned_jobs(output)
    # The heavy rules ran as SLURM jobs, the light ones (localrules) on the submit host.
    assert {"fetch_model", "sample_shard", "execute_shard"} <= remote and not remote & local
    assert {"fetch_dataset", "aggregate", "coverage", "fit", "plot_coverage"} <= local
    # One SLURM job per planned job of a remote rule, plus the resubmission of the killed one.
    expected = Counter({rule: n for rule, n in stats.items() if rule in remote})
    expected["sample_shard"] += 1
    assert Counter(submitted.values()) == expected, output[-4000:]
    assert stats["sample_shard"] == stats["execute_shard"] == 2
    assert len(runs["calls"]) == len(submitted)
    # Snakemake's metadata recorded the SLURM ids of its running jobs.
    assert runs["watcher"].metadata_ids and runs["watcher"].metadata_ids <= set(submitted)
    # SLURM's accounting knows every one: same run name, the rule in the comment, ran on our node.
    run_id = re.search(r"SLURM run ID: (\S+)", output)[1]
    accounted = sacct(cluster, submitted)
    assert set(accounted) == set(submitted)
    for jobid, rule in submitted.items():
        row = accounted[jobid]
        assert row["JobName"] == run_id and row["Comment"].startswith(f"rule_{rule}"), row
        assert row["NodeList"] == "node1", row
    states = sorted(row["State"].split()[0] for row in accounted.values())
    assert states == ["CANCELLED"] + ["COMPLETED"] * (len(submitted) - 1), accounted
    # The profile keeps every job's SLURM log, named by its id.
    for jobid, rule in submitted.items():
        if accounted[jobid]["State"] == "COMPLETED":
            assert list((runs["remote"] / "logs/slurm" / f"rule_{rule}").rglob(f"{jobid}.log"))


@pytest.mark.e2e
def test_sampling_jobs_requested_the_configured_gpu(runs, cluster):
    calls = {}
    for args in runs["calls"]:
        comment = args[args.index("--comment") + 1]
        calls.setdefault(comment.split("_wildcards_")[0], []).append(args)
    assert {"rule_execute_shard", "rule_fetch_model", "rule_sample_shard"} <= set(calls)
    res = SAMPLING_RESOURCES
    for args in calls["rule_sample_shard"]:
        assert f"--gpus={res['gpu_model']}:{res['gpu']}" in args, args
        assert f"--cpus-per-gpu={res['cpus_per_gpu']}" in args, args
        assert args[args.index("--mem") + 1] == str(res["mem_mb"]), args
        assert args[args.index("-t") + 1] == str(res["runtime"]), args
        assert args[args.index("-A") + 1] == ACCOUNT and args[args.index("-p") + 1] == PARTITION
    for args in (a for rule, group in calls.items() if rule != "rule_sample_shard" for a in group):
        assert not any(a.startswith(("--gpus", "--gres")) for a in args), args
    # ... and SLURM allocated one GPU of that type to each sampling job, none to the others.
    submitted = submitted_jobs(runs["result"].stderr + runs["result"].stdout)
    for jobid, row in sacct(cluster, submitted).items():
        if submitted[jobid] == "sample_shard":
            assert f"gres/gpu:{GPU_TYPE}=1" in row["ReqTRES"], row
            if row["State"] == "COMPLETED":
                assert f"gres/gpu:{GPU_TYPE}=1" in row["AllocTRES"], row
        else:
            assert "gres/gpu" not in row["ReqTRES"], row


@pytest.mark.e2e
def test_cancelled_job_was_retried(runs, cluster):
    watcher = runs["watcher"]
    assert watcher.cancelled, "no running sampling job was seen to cancel"
    jobid, comment = watcher.cancelled
    submitted = submitted_jobs(runs["result"].stderr + runs["result"].stdout)
    accounted = sacct(cluster, submitted)
    assert accounted[jobid]["State"].startswith("CANCELLED"), accounted[jobid]
    retries = [row for row in accounted.values() if row["Comment"] == comment and row["JobIDRaw"] != jobid]
    assert [int(row["JobIDRaw"]) > int(jobid) for row in retries] == [True], accounted
    assert retries[0]["State"] == "COMPLETED", retries


def _tables(workdir: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for kind in ("samples", "verdicts", "counts", "coverage", "fits"):
        for path in sorted((workdir / "results" / kind).rglob("*.parquet")):
            frame = pd.read_parquet(path)
            tables[str(path.relative_to(workdir))] = frame.drop(
                columns=[c for c in frame.columns if TIMING_COLUMNS.search(c)]
            )
    return tables


@pytest.mark.e2e
def test_outputs_equal_local_run(runs):
    local, remote = _tables(runs["local"]), _tables(runs["remote"])
    assert sorted(remote) == sorted(local)
    assert {p.split("/")[1] for p in local} == {"samples", "verdicts", "counts", "coverage", "fits"}
    assert len([p for p in local if p.startswith("results/samples/")]) == 2
    for path, frame in local.items():
        pd.testing.assert_frame_equal(remote[path], frame, obj=path)


@pytest.mark.e2e
def test_rerun_on_the_cluster_does_nothing(runs, cluster):
    """The SLURM run left complete metadata; what jobs ask the cluster for is not a rerun trigger."""
    config = copy.deepcopy(runs["config"])
    bigger = copy.deepcopy(config)
    bigger["models"][MODEL]["resources"].update(gpu=2, mem_mb=8000, runtime=60)
    for cfg in (config, bigger):
        result = run_snakemake(
            runs["remote"],
            cfg,
            "--profile",
            str(REPO / "slurm"),
            *SLURM_OVERRIDES,
            "--dry-run",
            env=cluster.env(),
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-3000:]
