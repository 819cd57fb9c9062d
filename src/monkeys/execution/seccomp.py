"""The candidates' seccomp filter: what it refuses, and a probe that it does.

A classic BPF program on the syscall number (and a few arguments): foreign ABIs, optionally
sched_setaffinity (the CPU share lock), sockets of any family but AF_INET/AF_INET6, socketpairs
but AF_UNIX stream, new user namespaces, clone3 (ENOSYS), io_uring, bpf and userfaultfd. Each
fork server probes it once, in a throwaway child, and reports what it saw refused."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
from typing import Any

from monkeys.execution.jail import (
    CLONE_NEWUSER,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_SECCOMP,
    SECCOMP_MODE_FILTER,
    load_libc,
    try_prctl,
)


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


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
# What the filter refuses, by the name the ready frame reports (probed, see probe_filter).
FILTER_DEFENCES = (
    "foreign ABIs",
    "sched_setaffinity",
    "sockets but AF_INET/AF_INET6",
    "socketpairs but AF_UNIX stream",
    "user namespaces",
    "clone3 (ENOSYS)",
    "io_uring",
    "bpf",
    "userfaultfd",
)
_AF_UNIX, _AF_INET, _AF_INET6, _SOCK_STREAM, _SOCK_TYPE_MASK = 1, 2, 10, 1, 0xF


def _assemble(program: list[tuple[int, Any, Any, int]]) -> list[tuple[int, int, int, int]]:
    """Classic BPF with labels: a jump target may be a label (str), which names the instruction
    ("label", ...) pseudo-entries mark; labels resolve to relative offsets."""
    labels: dict[str, int] = {}
    out: list[tuple[int, int, int, int]] = []
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
        program += [
            (jeq, "flags", 0, nrs["unshare"]),
            (jeq, "flags", 0, nrs["clone"]),
            (jeq, "enosys", 0, nrs["clone3"]),
        ]
    if sockets or namespaces:
        program += [
            (jeq, "enosys", 0, nrs[name])
            for name in ("io_uring_setup", "io_uring_enter", "io_uring_register")
        ]
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
        (jset, "eperm", "allow", CLONE_NEWUSER),
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


def probe_filter(fprog: Any, lock_cpus: bool) -> list[str]:
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


def _udp_socket() -> None:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()


def _unix_socketpair() -> None:
    for end in socket.socketpair():
        end.close()


def _filter_checks(fprog: Any, lock_cpus: bool) -> bytes:
    """Run in the probe child: load the filter and try what it should refuse and allow."""
    libc = load_libc()
    if not (
        try_prctl(PR_SET_NO_NEW_PRIVS, 1)
        and libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) == 0
    ):
        return b""

    def raw(nr: int, *args: int) -> Any:
        def call() -> None:
            if libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args)) == -1:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))

        return call

    nrs = _SYSCALLS[os.uname().machine]
    allowed = True
    for works in (_udp_socket, _unix_socketpair):
        try:
            works()
        except OSError:
            allowed = False
    foreign = True  # not probed: an i386 system call needs code this process cannot run safely
    checks = [
        foreign,
        lock_cpus and _refused(lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)), errno.EPERM),
        allowed
        and all(
            _refused(lambda f=f: socket.socket(f, socket.SOCK_STREAM), errno.EPERM)
            for f in (_AF_UNIX, 16, 40, 17)
        ),  # unix, netlink, vsock, packet
        allowed and _refused(lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM), errno.EPERM),
        _refused(raw(nrs["unshare"], CLONE_NEWUSER), errno.EPERM),
        _refused(raw(nrs["clone3"], 0, 0), errno.ENOSYS),
        _refused(raw(nrs["io_uring_setup"], 1, 0), errno.ENOSYS),
        _refused(raw(nrs["bpf"], 0, 0, 0), errno.EPERM),
        _refused(raw(nrs["userfaultfd"], 0), errno.EPERM),
    ]
    return bytes(ord("1") if ok else ord("0") for ok in checks)
