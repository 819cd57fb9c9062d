"""Run untrusted candidate programs in jailed fork-server children and classify their outcomes.

Candidate code never runs in the calling process: `run_programs` starts `workers` fork servers
(`monkeys.execution.forkserver`) and hands programs to them from one thread per server. Each
program runs in its own forked child: new session, empty temp working dir, rlimits, fresh network
namespace (best effort), `nobody` when started as root; see the forkserver module.

The servers run as `python -s -P -m monkeys.execution.forkserver` in a scrubbed environment, not
with `-I`: `-I` implies `-E`, which ignores PYTHONHASHSEED, and fixed string hashing is what makes
verdicts reproducible. With the environment scrubbed, `-s -P` isolates as much as `-I` does.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from monkeys.execution.forkserver import DETAIL_CHARS, read_frame, write_frame

STATUSES = ("passed", "failed", "timeout", "error", "crashed")
STARTUP_TIMEOUT_S = 60.0  # for a fork server to import and say it is ready
GRACE_S = 30.0  # beyond a candidate's timeout before a silent fork server is presumed hung


@dataclass(frozen=True)
class Limits:
    """Resource limits for one candidate program."""

    timeout_s: float = 5.0  # wall-clock per candidate
    memory_mb: int = 1024  # RLIMIT_AS
    file_size_mb: int = 16  # RLIMIT_FSIZE
    open_files: int = 64  # RLIMIT_NOFILE
    max_processes: int = 16  # RLIMIT_NPROC (only effective when dropping to an unprivileged uid)
    output_cap_bytes: int = 65536  # stdout+stderr captured up to this

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")


@dataclass(frozen=True)
class Outcome:
    """How one candidate program ended."""

    status: str  # one of STATUSES
    error_type: str  # exception class name ("error"/"failed"), exit description ("crashed")
    detail: str  # tail of captured output and traceback, at most DETAIL_CHARS
    runtime_s: float


def _server_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": home,
    }


SERVER_COMMAND = (sys.executable, "-s", "-P", "-m", "monkeys.execution.forkserver")


class _Server:
    """One fork-server subprocess, spoken to over its stdin/stdout."""

    def __init__(self, home: str) -> None:
        self._home = home
        self._stderr = tempfile.TemporaryFile(dir=home)
        self.proc = subprocess.Popen(
            SERVER_COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_server_env(home),
            cwd=home,
            bufsize=0,
        )

    def wait_ready(self) -> None:
        """Block until the server says it is ready; RuntimeError if it does not."""
        try:
            hello = read_frame(self._out, time.monotonic() + STARTUP_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            hello = exc
        if not (isinstance(hello, dict) and hello.get("ready")):
            self.close()
            raise RuntimeError(
                f"fork server {SERVER_COMMAND} did not start ({hello!r}): {self.stderr_tail()}"
            )
        if hello.get("hash_randomization"):
            self.close()
            raise RuntimeError("fork server runs with randomised string hashing")

    @property
    def _out(self) -> int:
        assert self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def run(self, program: str, limits: Limits) -> dict[str, Any]:
        """The server's answer for one program; raises if the server died or hung."""
        assert self.proc.stdin is not None
        write_frame(self.proc.stdin.fileno(), {"program": program, "limits": asdict(limits)})
        answer = read_frame(self._out, time.monotonic() + limits.timeout_s + GRACE_S)
        if not isinstance(answer, dict):
            raise EOFError("fork server closed its output")
        return answer

    def stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")[-DETAIL_CHARS // 2 :]
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        """Ask the server to stop (end of input), killing it if it does not."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


def _to_outcome(answer: dict[str, Any]) -> Outcome:
    status = answer.get("status")
    if status not in STATUSES:
        return Outcome(
            "crashed", "fork server", f"bad answer from fork server: {answer!r}"[:DETAIL_CHARS], 0.0
        )
    return Outcome(
        status=str(status),
        error_type=str(answer.get("error_type", "")),
        detail=str(answer.get("detail", ""))[-DETAIL_CHARS:],
        runtime_s=float(answer.get("runtime_s", 0.0)),
    )


def _serve(
    server: _Server,
    home: str,
    programs: Sequence[str],
    jobs: queue.SimpleQueue[int],
    results: list[Outcome | None],
    limits: Limits,
) -> None:
    """Worker thread: run queued programs on one server, restarting it if it dies."""
    current: _Server | None = server
    while True:
        try:
            index = jobs.get_nowait()
        except queue.Empty:
            break
        start = time.monotonic()
        try:
            if current is None:
                current = _Server(home)
                current.wait_ready()
            results[index] = _to_outcome(current.run(programs[index], limits))
        except Exception as exc:  # noqa: BLE001 - a dead or hung server costs one verdict only
            tail = current.stderr_tail() if current is not None else ""
            if current is not None:
                try:
                    current.proc.kill()
                    current.close()
                except Exception:  # noqa: BLE001
                    pass
            current = None
            detail = f"fork server died or hung while running this program ({exc!r}); restarted"
            results[index] = Outcome(
                "crashed", "fork server", f"{detail}\n{tail}"[:DETAIL_CHARS], time.monotonic() - start
            )
    if current is not None:
        current.close()


def run_programs(programs: Sequence[str], limits: Limits, workers: int, dedupe: bool = True) -> list[Outcome]:
    """Run each program in the sandbox; one Outcome per program, in order.

    `workers` fork servers run programs in parallel. With `dedupe`, identical programs run
    once and share the Outcome (verdicts are deterministic). Raises RuntimeError only when
    the fork servers cannot be started at all.
    """
    programs = list(programs)
    for program in programs:
        if not isinstance(program, str):
            raise TypeError(f"programs must be str, got {type(program).__name__}")
    if not programs:
        return []
    if dedupe:
        unique = list(dict.fromkeys(programs))
        slot = {program: i for i, program in enumerate(unique)}
        order = [slot[program] for program in programs]
    else:
        unique, order = programs, list(range(len(programs)))

    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(unique)):
        jobs.put(index)
    results: list[Outcome | None] = [None] * len(unique)
    home = tempfile.mkdtemp(prefix="monkeys-sandbox-")
    os.chmod(home, 0o711)  # candidates (maybe `nobody`) reach their own dir in it, but cannot list it
    servers: list[_Server] = []
    try:
        for _ in range(max(1, min(int(workers), len(unique)))):
            servers.append(_Server(home))
        for server in servers:
            server.wait_ready()
        threads = [
            threading.Thread(target=_serve, args=(server, home, unique, jobs, results, limits), daemon=True)
            for server in servers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for server in servers:
            if server.proc.poll() is None:
                try:
                    server.close()
                except Exception:  # noqa: BLE001
                    server.proc.kill()
        shutil.rmtree(home, ignore_errors=True)
    missing = [i for i, outcome in enumerate(results) if outcome is None]
    if missing:
        raise RuntimeError(f"sandbox lost the outcomes of {len(missing)} programs")
    return [results[i] for i in order]  # type: ignore[misc]
