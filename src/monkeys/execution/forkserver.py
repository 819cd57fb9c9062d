"""The fork server: a long-lived process that runs each candidate program in a fresh, jailed child.

Started by `monkeys.execution.sandbox` as `python -s -P -m monkeys.execution.forkserver` with a
scrubbed environment. It speaks length-prefixed JSON frames (4-byte big-endian length) on its
stdin/stdout: first it sends {"ready": true, ...}; then, per request {"program", "limits"}, it
answers with an outcome dict {"status", "error_type", "detail", "runtime_s"}.

Per request it forks a child that starts a new session in a fresh working directory (inside the
server's HOME, which the parent removes), points fd 0 at /dev/null and fds 1/2 at a capture
pipe, closes every other inherited fd except a private verdict pipe (moved to a random high
number), enters a fresh network namespace (best effort), sets rlimits, drops to `nobody` when
running as root, and executes the program. Only after the program's `exec` returns does the
harness write its verdict to the private pipe, so printing "passed" or exiting early cannot pass.
The server enforces the wall-clock deadline and kills the child's process group, plus any
orphaned descendants (it is a child subreaper), after every job.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import time
from typing import Any, NoReturn

PREIMPORTS = (
    "math", "re", "itertools", "collections", "functools", "heapq", "string", "typing",
    "hashlib", "random", "bisect", "statistics", "fractions", "decimal", "json", "traceback",
)  # fmt: skip
DETAIL_CHARS = 2000
SETUP_FAILED_EXIT = 70  # the child's exit code when the jail itself could not be set up
REPORT_FAILED_EXIT = 71  # ... and when the verdict could not be written
_HEADER = struct.Struct(">I")
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_VERDICT_STATUSES = ("passed", "failed", "error")


# --- framing (shared with the parent) ---------------------------------------------------------


def encode_frame(obj: Any) -> bytes:
    """One frame: 4-byte big-endian length, then the JSON body."""
    body = json.dumps(obj).encode()
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, obj: Any) -> None:
    """Write one frame to a raw fd, all of it."""
    view = memoryview(encode_frame(obj))
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray()
    poller = None
    if deadline is not None:
        poller = selectors.DefaultSelector()
        poller.register(fd, selectors.EVENT_READ)
    try:
        while len(buf) < n:
            if poller is not None:
                remaining = deadline - time.monotonic()  # type: ignore[operator]
                if remaining <= 0:
                    raise TimeoutError("no complete frame before the deadline")
                if not poller.select(remaining):
                    continue
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise EOFError(f"end of stream after {len(buf)} of {n} bytes")
            buf += chunk
    finally:
        if poller is not None:
            poller.close()
    return bytes(buf)


def read_frame(fd: int, deadline: float | None = None) -> Any | None:
    """Read one frame from a raw fd; None on a clean end of stream before a frame starts.

    Raises EOFError on a stream cut mid-frame and TimeoutError past `deadline` (time.monotonic).
    """
    try:
        header = _read_exact(fd, _HEADER.size, deadline)
    except EOFError as exc:
        if str(exc).startswith("end of stream after 0 "):
            return None
        raise
    (length,) = _HEADER.unpack(header)
    return json.loads(_read_exact(fd, length, deadline))


# --- OS helpers ----------------------------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def unshare_network() -> bool:
    """Move the calling (single-threaded) process into a fresh, empty network namespace.

    Needs root, or unprivileged user namespaces (then a user namespace is created too).
    Returns whether it worked; never raises.
    """
    try:
        libc = _libc()
        if libc.unshare(_CLONE_NEWNET) == 0:
            return True
        if os.geteuid() != 0 and libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
            return True
    except (OSError, AttributeError):
        pass
    return False


def _prctl(option: int, arg: int) -> bool:
    try:
        return _libc().prctl(option, ctypes.c_ulong(arg), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children() -> list[int]:
    """Pids of this (single-threaded) process's live children, orphans adopted as subreaper too."""
    me = os.getpid()
    try:
        with open(f"/proc/self/task/{me}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        pass
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == me:
                kids.append(int(entry))
    return kids


def _kill_quietly(pid: int, group: bool) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except OSError:
        pass


def _kill_descendants(rounds: int = 200) -> None:
    """SIGKILL and reap every child left (strays of finished jobs re-parented to this subreaper)."""
    for _ in range(rounds):
        kids = _children()
        if not kids:
            return
        for kid in kids:
            _kill_quietly(kid, group=True)  # succeeds only for a group leader: its whole group
            _kill_quietly(kid, group=False)
        for kid in kids:
            try:
                os.waitpid(kid, 0)
            except ChildProcessError:
                pass


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):  # a candidate made parts unreadable (possible without root)
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(path, ignore_errors=True)


def _open_import_dirs() -> dict[str, int]:
    """O_PATH fds of the directories on sys.path, opened while still privileged."""
    fds = {}
    for entry in dict.fromkeys(sys.path):
        if entry and os.path.isdir(entry):
            try:
                fds[entry] = os.open(entry, os.O_PATH | os.O_DIRECTORY)
            except OSError:
                pass
    return fds


def _reroute_imports(fds: dict[str, int]) -> None:
    """After dropping privileges: reach import dirs that have become unreachable via their fds.

    The interpreter may live under a directory `nobody` cannot search (e.g. pyenv in /root).
    `/proc/self/fd/N` resolves to the directory itself, so its ancestors no longer matter; only
    the directories on sys.path (and loaded packages' __path__) are made reachable, nothing more.
    """
    remap = {}
    for entry, fd in sorted(fds.items()):  # parents sort before their subdirectories
        inside = any(entry.startswith(old + os.sep) for old in remap)
        if inside or os.access(entry, os.R_OK | os.X_OK):
            os.close(fd)
        else:
            remap[entry] = f"/proc/self/fd/{fd}"
    if not remap:
        return

    def fix(path: str) -> str:
        for old, new in remap.items():
            if path == old or path.startswith(old + os.sep):
                return new + path[len(old) :]
        return path

    sys.path[:] = [fix(p) for p in sys.path]
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list):
            search[:] = [fix(p) for p in search if isinstance(p, str)]
    sys.path_importer_cache.clear()


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"signal {signal.Signals(sig).name}"
        except ValueError:
            return f"signal {sig}"
    if os.WIFEXITED(status):
        return f"exit {os.WEXITSTATUS(status)}"
    return f"wait status {status}"


def _set_limit(resource_id: int, value: int) -> None:
    import resource

    _, hard = resource.getrlimit(resource_id)
    if hard != resource.RLIM_INFINITY and os.geteuid() != 0:
        value = min(value, hard)
    resource.setrlimit(resource_id, (value, value))


# --- the child -------------------------------------------------------------------------------


def _child(
    program: str,
    limits: dict[str, Any],
    workdir: str,
    capture_w: int,
    verdict_w: int,
    nobody: tuple[int, int] | None,
    server_pid: int,
) -> NoReturn:
    """Jail this freshly forked process, run the candidate, report, and _exit. Never returns."""
    exit_code = SETUP_FAILED_EXIT
    try:
        import random
        import resource
        import traceback

        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(capture_w, 1)
        os.dup2(capture_w, 2)
        soft_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        top = 1024 if soft_nofile == resource.RLIM_INFINITY else min(soft_nofile, 1024)
        vfd = verdict_w
        if top > 128:  # a number the candidate is not told and that is not the next free one
            vfd = 100 + int.from_bytes(os.urandom(2), "big") % (top - 100)
            if vfd != verdict_w:
                os.dup2(verdict_w, vfd, inheritable=False)
        os.closerange(3, vfd)
        os.closerange(vfd + 1, max(os.sysconf("SC_OPEN_MAX"), 65536))

        os.chdir(workdir)
        import_dirs = {}
        if nobody is not None:
            os.chown(workdir, *nobody)
            import_dirs = _open_import_dirs()
        unshare_network()  # before dropping privileges; best effort
        mb = 1024 * 1024
        _set_limit(resource.RLIMIT_AS, int(limits["memory_mb"]) * mb)
        _set_limit(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * mb)
        _set_limit(resource.RLIMIT_NOFILE, int(limits["open_files"]))
        _set_limit(resource.RLIMIT_CPU, math.ceil(float(limits["timeout_s"])) + 1)
        _set_limit(resource.RLIMIT_CORE, 0)
        _set_limit(resource.RLIMIT_NPROC, int(limits["max_processes"]))
        if nobody is not None:
            os.setgroups([])
            os.setgid(nobody[1])
            os.setuid(nobody[0])
            _reroute_imports(import_dirs)
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
        if os.getppid() != server_pid:
            os._exit(SETUP_FAILED_EXIT)
        os.environ["HOME"] = os.environ["TMPDIR"] = workdir
        tempfile.tempdir = workdir
        random.seed(0)

        # Bind what reporting needs before the candidate can rebind module attributes.
        dumps, write, fmt_exc = json.dumps, os.write, traceback.format_exception
        status, error_type, trace = "passed", "", ""
        exit_code = REPORT_FAILED_EXIT
        try:
            exec(compile(program, "<candidate>", "exec"), {"__name__": "__main__"})
        except BaseException as exc:  # noqa: BLE001 - every escape is a verdict
            status = "failed" if isinstance(exc, AssertionError) else "error"
            error_type = type(exc).__name__
            try:  # the traceback less its first frame, which is this harness
                trace = "".join(fmt_exc(type(exc), exc, exc.__traceback__.tb_next))
                trace = trace[-DETAIL_CHARS:]
            except BaseException:  # noqa: BLE001 - e.g. MemoryError, a raising __str__
                trace = error_type
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - the candidate may have closed or replaced it
                pass
        report = dumps({"status": status, "error_type": error_type, "traceback": trace}).encode()
        view = memoryview(report)
        while view:
            view = view[write(vfd, view) :]
        exit_code = 0
    except BaseException:  # noqa: BLE001 - report the jail failure on the captured stderr
        try:
            import traceback

            os.write(2, traceback.format_exc().encode(errors="replace")[-DETAIL_CHARS:])
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(exit_code)


# --- the server --------------------------------------------------------------------------------


def _tail(text: str, n: int = DETAIL_CHARS) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1) :]


def run_job(program: str, limits: dict[str, Any], nobody: tuple[int, int] | None) -> dict:
    """Run one program in a jailed child; the outcome as a dict."""
    timeout = float(limits["timeout_s"])
    cap = int(limits["output_cap_bytes"])
    # Inside the server's HOME (which its parent removes), so even a killed server leaks nothing.
    workdir = tempfile.mkdtemp(prefix="candidate-", dir=os.environ.get("HOME") or None)
    capture_r, capture_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(program, limits, workdir, capture_w, verdict_w, nobody, os.getppid())
    os.close(capture_w)
    os.close(verdict_w)

    output, total, verdict = bytearray(), 0, bytearray()
    wait_status = 0
    timed_out = False
    pidfd = -1
    sel = selectors.DefaultSelector()
    try:
        try:
            pidfd = os.pidfd_open(pid)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
        except (AttributeError, OSError):
            pidfd = -1
        sel.register(capture_r, selectors.EVENT_READ, "capture")
        sel.register(verdict_r, selectors.EVENT_READ, "verdict")

        def consume(fd: int, what: str) -> bool:
            nonlocal total
            chunk = os.read(fd, 65536)
            if what == "capture":
                if len(output) < cap:
                    output.extend(chunk[: cap - len(output)])
                total += len(chunk)
            elif len(verdict) < 1 << 20:
                verdict.extend(chunk)
            return bool(chunk)

        exited = False
        while not exited:
            if pidfd < 0:  # no pidfd: poll, leaving the zombie so its pid cannot be reused yet
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
            remaining = start + timeout - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(remaining if pidfd >= 0 else min(remaining, 0.02)):
                if key.data == "exit":
                    exited = True
                elif not consume(key.fd, key.data):
                    sel.unregister(key.fd)
        runtime = time.monotonic() - start

        _kill_quietly(pid, group=True)  # the job's group: forks it left behind
        _kill_quietly(pid, group=False)
        wait_status = os.waitpid(pid, 0)[1]
        _kill_descendants()  # strays that left the group (setsid / setpgid) are ours as subreaper
        for fd, what in ((capture_r, "capture"), (verdict_r, "verdict")):
            os.set_blocking(fd, False)
            try:
                while consume(fd, what):
                    pass
            except BlockingIOError:
                pass
    finally:
        sel.close()
        for fd in (pidfd, capture_r, verdict_r):
            if fd >= 0:
                os.close(fd)
        _remove_tree(workdir)

    text = output.decode("utf-8", "replace")
    if total > cap:
        text += f"\n[output truncated: {total} bytes, first {cap} kept]"
    how = _describe_exit(wait_status)
    if timed_out:
        return {
            "status": "timeout",
            "error_type": "",
            "detail": _tail(f"timed out after {timeout:g}s\n{text}"),
            "runtime_s": runtime,
        }
    report: Any = None
    if verdict:
        try:
            report = json.loads(verdict)
        except ValueError:
            report = None
    if (
        how == "exit 0"
        and isinstance(report, dict)
        and report.get("status") in _VERDICT_STATUSES
        and isinstance(report.get("error_type"), str)
        and isinstance(report.get("traceback"), str)
    ):
        detail = text if report["status"] == "passed" else f"{text}\n{report['traceback']}"
        return {
            "status": report["status"],
            "error_type": report["error_type"] if report["status"] != "passed" else "",
            "detail": _tail(detail.strip("\n")),
            "runtime_s": runtime,
        }
    why = "malformed verdict" if verdict else "no verdict"
    return {
        "status": "crashed",
        "error_type": how,
        "detail": _tail(f"candidate died with {why} ({how})\n{text}"),
        "runtime_s": runtime,
    }


def _nobody() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def main() -> None:
    """Serve requests on stdin/stdout until stdin closes."""
    import importlib

    for name in PREIMPORTS:
        importlib.import_module(name)
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must not corrupt the protocol stream
    os.close(devnull)
    subreaper = _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    nobody = _nobody() if os.geteuid() == 0 else None
    write_frame(
        proto_out,
        {
            "ready": True,
            "pid": os.getpid(),
            "hash_randomization": sys.flags.hash_randomization,
            "subreaper": subreaper,
            "drops_to": nobody,
        },
    )
    while (request := read_frame(proto_in)) is not None:
        try:
            response = run_job(str(request["program"]), dict(request["limits"]), nobody)
        except Exception as exc:  # noqa: BLE001 - answer, so the parent never waits forever
            response = {
                "status": "crashed",
                "error_type": "fork server",
                "detail": _tail(f"fork server error: {exc!r}"),
                "runtime_s": 0.0,
            }
        write_frame(proto_out, response)


if __name__ == "__main__":
    main()
