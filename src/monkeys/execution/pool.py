"""Drive fork servers: a pool of local ones, or one container that runs a pool inside.

Standard library only (the relay imports it inside the sandbox image). One thread, one selector:
each server gets its next job as soon as it answers; a server that dies or hangs costs only
the verdict of the job it was running, and is replaced.
"""

from __future__ import annotations

import collections
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from monkeys.execution import forkserver as _forkserver  # noqa: F401 - runs as SERVER_ARGS; part of the engine's code hash
from monkeys.execution.frames import FrameReader, encode_frame, write_frame
from monkeys.execution.reports import DETAIL_CHARS

STARTUP_TIMEOUT_S = 60.0  # for a fork server to import and say it is ready
GRACE_S = 30.0  # beyond a job's timeout before a silent fork server is presumed hung
# Requests sent to a fork server at once: the one it runs, and one queued behind it so that it
# never waits for this process between jobs; while there is work enough for every server (a
# queued request cannot move to a server that turns idle) and it fits in the server's stdin
# pipe (so writing it never blocks this process).
QUEUE_DEPTH = 2
PIPE_AHEAD_BYTES = 32768
SERVER_ARGS = ("-s", "-P", "-m", "monkeys.execution.forkserver")
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the directory holding `monkeys`

Request = tuple[dict[str, Any], dict[str, Any]]  # (job, limits as a dict)
OnAnswer = Callable[[int, dict[str, Any]], None]


class PoolError(RuntimeError):
    """The fork servers could not be started at all."""


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def server_env(
    home: str, disk_mb: int = 64, isolate: bool = True, cpus: Collection[int] = ()
) -> dict[str, str]:
    """The whole environment of a fork server (and so of its candidates).

    `cpus`: the CPUs the server pins itself (and so its candidates) to, as MONKEYS_CPUS; () for
    no pinning.
    """
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": PACKAGE_PARENT,
        "HOME": home,
        "MONKEYS_DISK_MB": str(int(disk_mb)),
        "MONKEYS_ISOLATE": "1" if isolate else "0",
        # One malloc arena: a thread's first allocation does not reserve 64 MiB of address
        # space more, so the threads a candidate can start under its RLIMIT_AS, and whether
        # one of them fails to allocate at all, do not depend on how its threads are scheduled.
        "MALLOC_ARENA_MAX": "1",
    }
    if cpus:
        env["MONKEYS_CPUS"] = ",".join(str(int(c)) for c in sorted(cpus))
    return env


def worker_cpus(workers: int, allowed: Collection[int] | None = None) -> list[list[int]]:
    """The CPUs each worker slot is pinned to: disjoint shares of the `allowed` CPUs (by default
    this process's affinity: under SLURM the job's CPUs, locally the whole machine), one CPU
    each when workers are at least as many as CPUs.

    A candidate and all it starts inherit their server's CPUs, so a fork or thread bomb competes
    only with itself (and the slots that share its CPU when workers outnumber CPUs), never
    with the candidates of the other slots: their verdicts do not depend on a neighbour. The
    shares interleave (2 workers on 4 CPUs: 0,2 and 1,3), so that jobs running side by side,
    which each pin their own slots the same way, still spread over every CPU.
    """
    cpus = sorted(os.sched_getaffinity(0) if allowed is None else allowed)
    if not cpus:
        raise ValueError("no CPUs to share between the workers")
    workers = int(workers)
    if workers >= len(cpus):
        return [[cpus[slot % len(cpus)]] for slot in range(workers)]
    return [cpus[slot::workers] for slot in range(workers)]


def crashed_answer(why: str, runtime: float = 0.0) -> dict[str, Any]:
    return {
        "status": "crashed",
        "error_type": "fork server",
        "detail": why[-DETAIL_CHARS:],
        "runtime_s": runtime,
        "phase": "",
        "cases": None,
        "cases_complete": False,
    }


class _Server:
    def __init__(self, command: Sequence[str], env: dict[str, str], home: str, slot: int) -> None:
        self.slot = slot
        self.stderr = tempfile.TemporaryFile(dir=home)
        self.proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            cwd=home,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin.fileno()
        self.stdout = self.proc.stdout.fileno()
        self.reader = FrameReader()
        self.hello: dict[str, Any] | None = None
        self.job: int | None = None  # the request it is running (the first of `queue`)
        self.queue: collections.deque[int] = collections.deque()  # sent to it, not answered
        self.sizes: collections.deque[int] = collections.deque()  # their frames' sizes
        self.job_started = 0.0
        self.started = time.monotonic()
        self.deadline = self.started + STARTUP_TIMEOUT_S

    def stderr_tail(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read().decode("utf-8", "replace")[-DETAIL_CHARS // 2 :]
        except (OSError, ValueError):
            return ""

    def close(self, kill: bool = False) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if kill:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def run_pool(
    requests: Sequence[Request],
    workers: int,
    on_answer: OnAnswer,
    *,
    home: str | Sequence[str],
    command: Sequence[str] | None = None,
    disk_mb: int = 64,
) -> list[dict[str, Any]]:
    """Run every request on `workers` fork servers; call on_answer(index, answer) for each.

    `home` is the fork servers' HOME (where they make the candidates' working directories), or
    one per worker slot (a server that replaces a dead one takes over its slot). Each server
    has its next requests queued while it runs one, so it never waits for this process. Returns
    the servers' ready frames (what isolation each achieved). Raises PoolError when no server
    can be started at all.
    """
    command = list(command or (sys.executable, *SERVER_ARGS))
    workers = max(1, min(int(workers), len(requests)))
    homes = [home] * workers if isinstance(home, str) else list(home)
    if len(homes) < workers:
        raise ValueError(f"{len(homes)} homes for {workers} workers")
    cpus = worker_cpus(workers)
    free = collections.deque(range(workers))
    pending = collections.deque(range(len(requests)))
    left = len(requests)
    servers: list[_Server] = []
    hellos: list[dict[str, Any]] = []
    failed_starts: list[str] = []
    sel = selectors.DefaultSelector()

    def start() -> None:
        slot = free.popleft()
        server = _Server(command, server_env(homes[slot], disk_mb, cpus=cpus[slot]), homes[slot], slot)
        servers.append(server)
        sel.register(server.stdout, selectors.EVENT_READ, server)

    def retire(server: _Server, kill: bool) -> None:
        sel.unregister(server.stdout)
        servers.remove(server)
        free.append(server.slot)
        server.close(kill=kill)

    def begin(server: _Server) -> None:
        """The server's first queued job starts now (it answered the one before)."""
        server.job = server.queue[0] if server.queue else None
        server.job_started = time.monotonic()
        if server.job is not None:
            limit = float(requests[server.job][1]["timeout_s"])
            server.deadline = server.job_started + limit + GRACE_S

    def top_up(server: _Server) -> None:
        while pending and len(server.queue) < QUEUE_DEPTH:
            job, limits = requests[pending[0]]
            frame = encode_frame({"job": job, "limits": limits})
            ahead = sum(server.sizes) - (server.sizes[0] if server.sizes else 0)  # maybe unread
            if server.queue and (ahead + len(frame) > PIPE_AHEAD_BYTES or len(pending) < len(servers)):
                break
            server.queue.append(pending.popleft())
            server.sizes.append(len(frame))
            try:
                write_all(server.stdin, frame)
            except OSError:
                break  # it died: its output ends and lose() handles its jobs
        if not server.queue:
            retire(server, kill=False)

    def lose(server: _Server, why: str) -> None:
        nonlocal left
        tail = server.stderr_tail()
        retire(server, kill=True)
        if server.hello is None:
            failed_starts.append(f"{why}: {tail}")
            if not hellos and len(failed_starts) >= 3:
                raise PoolError(f"fork server {command} did not start: {failed_starts[-1]}")
        if server.job is not None:
            server.queue.popleft()
            server.sizes.popleft()
            on_answer(
                server.job,
                crashed_answer(
                    f"fork server {why} while running this program; restarted\n{tail}",
                    time.monotonic() - server.job_started,
                ),
            )
            left -= 1
        pending.extendleft(reversed(server.queue))  # queued behind it, never started
        server.queue.clear()
        server.sizes.clear()
        if pending and len(servers) < workers:
            start()

    try:
        for _ in range(workers):
            start()
        while left:
            if not servers:
                start()
            timeout = max(0.0, min(s.deadline for s in servers) - time.monotonic())
            for key, _ in sel.select(timeout):
                server: _Server = key.data
                if server not in servers:
                    continue
                try:
                    data = os.read(server.stdout, 1 << 16)
                except OSError:
                    data = b""
                if not data:
                    lose(server, "died")
                    continue
                try:
                    frames = server.reader.feed(data)
                except ValueError:
                    lose(server, "sent garbage")
                    continue
                for frame in frames:
                    if server.hello is None:
                        if not (isinstance(frame, dict) and frame.get("ready")):
                            lose(server, f"said {frame!r} instead of ready")
                            break
                        if frame.get("hash_randomization"):
                            raise PoolError("fork server runs with randomised string hashing")
                        server.hello = frame
                        hellos.append(frame)
                    elif server.job is not None and isinstance(frame, dict):
                        index = server.queue.popleft()
                        server.sizes.popleft()
                        begin(server)
                        on_answer(index, frame)
                        left -= 1
                        if frame.get("retire"):  # its cleanup failed, it exits: a fresh server
                            server.job = None  # takes its queued jobs (forkserver.run_job)
                            lose(server, "retired")
                            break
                    else:
                        continue
                    if server in servers:
                        top_up(server)
                        if server in servers and server.job is None:
                            begin(server)
            now = time.monotonic()
            for server in [s for s in servers if s.deadline < now]:
                lose(server, "hung" if server.hello else "did not start in time")
    finally:
        for server in list(servers):
            try:
                retire(server, kill=server.job is not None)
            except Exception:  # noqa: BLE001
                server.proc.kill()
        sel.close()
    return hellos


def run_remote(
    requests: Sequence[Request],
    workers: int,
    on_answer: OnAnswer,
    *,
    command: Sequence[str],
    startup_timeout_s: float,
    disk_mb: int,
    homes: Sequence[str] = (),
    stop: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Run every request through one relay process (`monkeys.execution.relay`, e.g. in a container).

    Streams the requests to its stdin and the answers back. If the relay dies or goes silent,
    the requests it has not answered get a `crashed` answer. Returns (the relay's fork servers'
    ready frames, the relay's stderr tail).
    """
    answered: set[int] = set()
    hellos: list[dict[str, Any]] = []
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, bufsize=0
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin.fileno(), proc.stdout.fileno()
    longest = max((float(limits["timeout_s"]) for _, limits in requests), default=1.0)

    def feed() -> None:
        try:
            write_frame(
                stdin,
                {"workers": int(workers), "count": len(requests), "disk_mb": disk_mb, "homes": list(homes)},
            )
            for index, (job, limits) in enumerate(requests):
                write_frame(stdin, {"id": index, "job": job, "limits": limits})
        except OSError:
            pass
        finally:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    reader = FrameReader()
    why = "ended without answering"
    deadline = time.monotonic() + startup_timeout_s
    sel = selectors.DefaultSelector()
    sel.register(stdout, selectors.EVENT_READ)
    done = False
    try:
        while not done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = "went silent"
                break
            if not sel.select(remaining):
                continue
            data = os.read(stdout, 1 << 16)
            if not data:
                break
            try:
                frames = reader.feed(data)
            except ValueError:
                why = "sent garbage"
                break
            for frame in frames:
                deadline = time.monotonic() + longest + GRACE_S
                if frame.get("done"):
                    hellos = list(frame.get("servers", []))
                    done = True
                elif "id" in frame and "answer" in frame:
                    index = int(frame["id"])
                    if 0 <= index < len(requests) and index not in answered:
                        answered.add(index)
                        on_answer(index, frame["answer"])
                elif "error" in frame:
                    why = f"failed: {frame['error']}"
    finally:
        sel.close()
        if proc.poll() is None and not done:
            if stop is not None:
                stop()
            proc.kill()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        writer.join(timeout=5)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-DETAIL_CHARS:]
        err.close()
    missing = [i for i in range(len(requests)) if i not in answered]
    for index in missing:
        on_answer(index, crashed_answer(f"sandbox container {why} (exit {proc.returncode})\n{tail}"))
    return hellos, tail
