"""Interrupted runs (issue 8, "Reliability"): a job killed with SIGKILL, Ctrl-C, a full disk.

After each fault no output looks complete but is not (every artifact under results/ has a
provenance record whose sha256 is the file's own, every part file reads, no temp file has an
output's name), no process the run started is left, and the next run finishes the work with
the same tables and figures as an uninterrupted run. Each interrupted run is started with
`--cores 1`, so exactly one job (the first sampling shard) is running when the fault hits.
"""

from __future__ import annotations

import errno
import math
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import alive, snakemake, snakemake_command, tiny_config

from monkeys.hashing import sha256_file
from monkeys.provenance import read_record, write_record

# Columns that measure time, the only ones allowed to differ between two runs.
TIMING = {
    "wall_s",
    "sample_wall_s",
    "runtime_s",
    # calibrated time limits: the reference's measured time, and the limits drawn from it
    "reference_s",
    "max_case_s",
    "time_limit_s",
    "plus_time_limit_s",
}
TEMP = re.compile(r"^\..+\.tmp-\d+$")  # what tables, figures and records are written as first
# Written next to an artifact by its job, after it: its provenance record and (figures) the
# lineage tree shown in the report.
SIDECARS = (".prov.json", ".lineage.txt")
SHARD = "results/samples/gemma3-270m/humaneval/0-2.parquet"
SHARD_LOG = "logs/sample_shard/gemma3-270m/humaneval/0-2.log"
PAGE = 4096


# ---------------------------------------------------------------- helpers


def _artifacts(workdir: Path) -> dict[str, Path]:
    """Every file under results/ that Snakemake or a consumer may take as an output.

    Left out: Snakemake's own benchmark files, sidecars (provenance records and lineage
    trees, checked apart), temp files and the part folders of sampling shards.
    """
    found = {}
    for path in (workdir / "results").rglob("*"):
        rel = path.relative_to(workdir)
        if (
            not path.is_file()
            or rel.parts[1] == "benchmarks"
            or path.name.endswith(SIDECARS)
            or TEMP.match(path.name)
            or any(p.endswith(".part") for p in rel.parts)
        ):
            continue
        found[str(rel)] = path
    return found


def assert_nothing_looks_complete_but_is_not(workdir: Path, *, temp_files_allowed: bool) -> None:
    results = workdir / "results"
    for rel, path in _artifacts(workdir).items():
        record = read_record(path)
        assert record is not None, f"{rel} exists without a provenance record: it may be partial"
        assert record["artifact"]["sha256"] == sha256_file(path), (
            f"{rel} differs from what its job recorded: a partial or stale output"
        )
        if path.suffix == ".parquet":
            pq.read_table(path)
    for record_file in results.rglob("*.prov.json"):
        read_record(record_file)  # every record parses (they are written atomically too)
    for tree in results.rglob("*.lineage.txt"):
        text = tree.read_text()
        assert text.startswith("lineage of ") and text.endswith("\n"), f"partial {tree}"
    for part in results.rglob("*.part/*.parquet"):
        if not part.name.startswith("."):
            pq.read_table(part)  # a kept problem of a shard is whole, or it would be reused
    # A writer killed with SIGKILL cannot remove its temp file, but a temp file is hidden and
    # never carries an output's name (anything else is checked as an artifact above); a
    # writer that fails (ENOSPC) removes its own.
    temps = [str(p.relative_to(workdir)) for p in results.rglob(".*") if TEMP.match(p.name)]
    if not temp_files_allowed:
        assert not temps, f"temp files left behind: {temps}"


def assert_same_results(workdir: Path, reference: Path) -> None:
    ours, theirs = _artifacts(workdir), _artifacts(reference)
    assert sorted(ours) == sorted(theirs)
    for sidecar in SIDECARS:
        assert {str(p.relative_to(workdir)) for p in (workdir / "results").rglob(f"*{sidecar}")} == {
            str(p.relative_to(reference)) for p in (reference / "results").rglob(f"*{sidecar}")
        }
    for rel, path in theirs.items():
        if path.suffix == ".parquet":
            want = pq.read_table(path).to_pandas()
            got = pq.read_table(ours[rel]).to_pandas()
            pd.testing.assert_frame_equal(
                got.drop(columns=[c for c in got if c in TIMING]),
                want.drop(columns=[c for c in want if c in TIMING]),
                obj=rel,
            )
        else:  # figures and the weights manifest: byte for byte (figures carry fixed metadata)
            assert ours[rel].read_bytes() == path.read_bytes(), rel
    assert not list((workdir / "results").rglob("*.part")), "part folders left after completion"


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (ppid, session, state, cmdline) of every process that can be read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        cmdline = " ".join(a.decode(errors="replace") for a in argv if a)
        table[int(entry.name)] = (int(fields[1]), int(fields[3]), fields[0], cmdline)
    return table


def _descendants(root: int, table) -> set[int]:
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, *_) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def assert_no_strays(run: subprocess.Popen, workdir: Path, timeout: float = 20) -> None:
    """No process of the run's session, nor one running a script of its workdir, is alive."""
    deadline = time.monotonic() + timeout
    while True:
        strays = [
            f"{pid} {cmd[:200]}"
            for pid, (_, session, state, cmd) in _processes().items()
            if state != "Z" and (session == run.pid or str(workdir) in cmd)
        ]
        if not strays or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not alive(run.pid)
    assert not strays, f"processes left behind: {strays}"


def start(workdir: Path, config: dict, *args: str, log: Path) -> subprocess.Popen:
    """Start Snakemake as conftest.snakemake does, in its own session (so its process group
    is ours alone to signal), output to `log`."""
    command = snakemake_command(workdir, config, *args)
    with open(log, "w") as out:
        return subprocess.Popen(
            command,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )


def _default_sigint() -> None:
    """Undo an inherited "ignore SIGINT" (a shell runs background commands that way, e.g. CI
    under nohup), so Snakemake and its jobs react to SIGINT as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(run: subprocess.Popen, log: Path, timeout: float = 300) -> str:
    try:
        run.wait(timeout=timeout)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)  # our own session's group, nothing else
            run.wait()
    return log.read_text()


def wait_for_shard_job(run: subprocess.Popen, workdir: Path, log: Path, timeout: float = 300) -> int:
    """The pid of the first sampling job once it has kept at least one finished problem
    (so it is mid-way: some of its work is on disk, its output is not)."""
    parts = workdir / f"{SHARD}.part"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        if any(parts.glob("[0-9]*.parquet")):
            table = _processes()
            jobs = [
                pid
                for pid in _descendants(run.pid, table)
                if any(a.endswith(".sample_shard.py") and os.path.isfile(a) for a in table[pid][3].split())
            ]
            if jobs:
                assert len(jobs) == 1, jobs
                return jobs[0]
        time.sleep(0.02)
    pytest.fail(f"no sampling job was seen running mid-way:\n{log.read_text()[-3000:]}")


def assert_cut_off(workdir: Path) -> None:
    """The fault hit the shard's job before it finished (else the test tested nothing)."""
    text = (workdir / SHARD_LOG).read_text()
    assert "problems 2/2" not in text and " wrote " not in text, f"not cut off mid-way:\n{text}"


def page_usage(paths) -> int:
    return sum(math.ceil(p.stat().st_size / PAGE) * PAGE for p in paths if p.is_file())


def start_tiny_run(tmp_path: Path):
    """(workdir, config, log, process) of the tiny config started with one core."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    config = tiny_config()
    log = tmp_path / "snakemake.log"
    return workdir, config, log, start(workdir, config, "--cores", "1", log=log)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run of the tiny config."""
    workdir = tmp_path_factory.mktemp("faults-reference")
    result = snakemake(workdir, tiny_config(), "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


# ---------------------------------------------------------------- tests


@pytest.mark.e2e
@pytest.mark.parametrize("target", ["job", "group"])
def test_sigkill_leaves_no_partial_output_and_the_next_run_resumes(reference, tmp_path, target):
    """SIGKILL of the sampling job alone (Snakemake sees it die and cleans up after it), or
    of Snakemake and its job together (the OOM killer, `kill -9` of the process group: no
    cleanup at all, so what is left is only what the job's own writes left)."""
    workdir, config, log, run = start_tiny_run(tmp_path)
    try:
        job = wait_for_shard_job(run, workdir, log)
        if target == "job":
            os.kill(job, signal.SIGKILL)  # a child of our Snakemake, found above
        else:
            os.killpg(run.pid, signal.SIGKILL)  # the group of the session we started
        out = finish(run, log)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode != 0
    assert_no_strays(run, workdir)
    assert_cut_off(workdir)
    assert not (workdir / SHARD).exists(), "a shard cut off mid-way left an output"
    assert_nothing_looks_complete_but_is_not(workdir, temp_files_allowed=True)
    kept = list((workdir / f"{SHARD}.part").glob("[0-9]*.parquet"))
    assert len(kept) == 1

    if target == "job":
        assert "died with <Signals.SIGKILL: 9>" in out, out[-3000:]
    else:
        # Snakemake's lock outlives it: the same command refuses until `--unlock`.
        locked = snakemake(workdir, config, "--cores", "2")
        assert locked.returncode != 0 and "LockException" in locked.stdout + locked.stderr
        unlock = snakemake(workdir, config, "--unlock")
        assert unlock.returncode == 0, unlock.stderr[-3000:]
    # The same command again, no --rerun-incomplete needed (the killed job's output does not
    # exist), and the shard resumes from its kept problem.
    result = snakemake(workdir, config, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    shard_log = (workdir / SHARD_LOG).read_text()
    assert "resuming, 1 of 2 problems already done" in shard_log
    assert_nothing_looks_complete_but_is_not(workdir, temp_files_allowed=False)
    assert_same_results(workdir, reference)


@pytest.mark.e2e
@pytest.mark.parametrize("target", ["terminal", "snakemake"])
def test_interrupt_leaves_no_partial_output_and_the_next_run_finishes(reference, tmp_path, target):
    """Ctrl-C in a terminal (SIGINT to the whole foreground process group: Snakemake and its
    job), or SIGINT to the Snakemake process alone (as `kill -INT <pid>` sends it)."""
    workdir, config, log, run = start_tiny_run(tmp_path)
    try:
        wait_for_shard_job(run, workdir, log)
        if target == "terminal":
            os.killpg(run.pid, signal.SIGINT)  # the group of the session we started
        else:
            os.kill(run.pid, signal.SIGINT)
        out = finish(run, log)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode != 0, out[-3000:]
    assert_no_strays(run, workdir)
    assert_nothing_looks_complete_but_is_not(workdir, temp_files_allowed=True)

    args = ["--cores", "2"]
    if target == "terminal":
        # The job got the SIGINT too and failed; Snakemake removed its output (none yet).
        assert "Error in rule sample_shard" in out, out[-3000:]
        assert_cut_off(workdir)
        assert not (workdir / SHARD).exists()
    else:
        # Snakemake alone stops scheduling and waits for the running job, which finishes;
        # its output is complete, but Snakemake marked it incomplete, so the same command
        # refuses to start until told --rerun-incomplete (which redoes that job).
        assert "Terminating processes on user request" in out, out[-3000:]
        plain = snakemake(workdir, config, "--cores", "2", "--dry-run")
        assert plain.returncode != 0
        said = plain.stdout + plain.stderr
        assert "IncompleteFilesException" in said and SHARD in said, said[-3000:]
        args.append("--rerun-incomplete")
    result = snakemake(workdir, config, *args)
    assert result.returncode == 0, result.stderr[-4000:]
    assert_nothing_looks_complete_but_is_not(workdir, temp_files_allowed=False)
    assert_same_results(workdir, reference)


def _mount_tmpfs(target: Path, size: int) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs (a small disk to fill) needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs here: {mounted.stderr.strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the full-disk tests, but {reason}")
        pytest.skip(reason)


def _unmount(target: Path) -> None:
    if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(target)], check=True)  # busy: still detach it
        pytest.fail(f"{target} was still in use after the runs")


def _run_out_of_space(workdir: Path, config: dict, log: Path) -> str:
    """Run until a job fails with ENOSPC; check that it did and what it left; its rule.

    With --keep-incomplete, so that Snakemake does not delete what the failed job left: the
    check sees the writers' own atomicity, not Snakemake's cleanup.
    """
    run = start(workdir, config, "--cores", "1", "--keep-incomplete", log=log)
    out = finish(run, log)
    assert run.returncode != 0, out[-3000:]
    assert_no_strays(run, workdir)
    failed = re.findall(r"Error in rule (\w+):", out)
    assert len(failed) == 1, out[-3000:]
    logs = [p.read_text() for p in (workdir / "logs").rglob("*.log")]
    assert any(os.strerror(errno.ENOSPC) in text for text in logs), out[-3000:]
    assert_nothing_looks_complete_but_is_not(workdir, temp_files_allowed=False)
    print(
        f"{log.name}: ENOSPC in rule {failed[0]}:",
        *[line for text in logs for line in text.splitlines() if os.strerror(errno.ENOSPC) in line],
        sep="\n  ",
    )
    return failed[0]


@pytest.mark.e2e
def test_full_disk_fails_cleanly_and_the_next_run_finishes(reference, tmp_path):
    """results/ on a tmpfs that fills up, twice: first just after the fetched inputs (a
    sampling job fails writing), then with every table fitting but no figure (a plot job
    fails writing). Each time the job fails with ENOSPC and leaves no partial output nor
    temp file; once the disk is enlarged, the same command finishes the run."""
    workdir = tmp_path / "run"
    results = workdir / "results"
    results.mkdir(parents=True)
    config = tiny_config()
    made = [p for p in (reference / "results").rglob("*") if p.is_file()]
    fetched = page_usage(p for p in made if p.parts[-3] in ("datasets", "models"))
    tables = page_usage(p for p in made if "figures" not in p.parts)
    smallest_figure = min(page_usage([p]) for p in made if p.suffix == ".png")
    # Room for the fetched inputs and less than one sampling shard with its part files.
    _mount_tmpfs(results, fetched + 6 * PAGE)
    try:
        first = _run_out_of_space(workdir, config, tmp_path / "first.log")
        assert not first.startswith("fetch"), first
        assert (results / "datasets/humaneval/problems.parquet").exists()

        # Room for every table, not for a figure: when the first plot runs, at most about 10
        # pages of tables and records are still to be written, and the smallest figure is larger.
        assert 12 * PAGE < smallest_figure
        subprocess.run(["mount", "-o", f"remount,size={tables + 2 * PAGE}", str(results)], check=True)
        second = _run_out_of_space(workdir, config, tmp_path / "second.log")
        assert second.startswith("plot_"), second

        subprocess.run(["mount", "-o", f"remount,size={64 << 20}", str(results)], check=True)
        result = snakemake(workdir, config, "--cores", "2")
        assert result.returncode == 0, result.stderr[-4000:]
        assert_nothing_looks_complete_but_is_not(workdir, temp_files_allowed=False)
        assert_same_results(workdir, reference)
    finally:
        _unmount(results)


def test_a_record_that_does_not_fit_leaves_no_temp_file(tmp_path):
    """A provenance record written to a full disk fails with ENOSPC and leaves nothing."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount_tmpfs(disk, PAGE)
    try:
        target = disk / "table.parquet.prov.json"
        with pytest.raises(OSError) as failure:
            write_record({"padding": "x" * 4 * PAGE}, target)
        assert failure.value.errno == errno.ENOSPC
        assert sorted(os.listdir(disk)) == []
    finally:
        _unmount(disk)
