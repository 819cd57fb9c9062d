"""The jail's parts that are not the syscall filter: namespaces and read-only mounts for a fork
server (`isolate_server`), and for each child its capabilities, rlimits, open fds and import
directories, and the CPUs a server is pinned to."""

from __future__ import annotations

import ctypes
import math
import os
import resource
import signal
import sys
from typing import Any

UID_BASE = 4_000_000_000  # candidates' uids: UID_BASE + a random offset, far from real accounts
UID_SPAN = 1 << 20
HIDDEN_DIRS = ("/tmp", "/var/tmp", "/home", "/root", "/dev/shm", "/run/user")
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS = {
    "ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048,
    "relatime": 1 << 21, "strictatime": 1 << 24,
}  # fmt: skip
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


_LIBC: ctypes.CDLL | None = None


def load_libc() -> ctypes.CDLL:
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
        libc = load_libc()
        if libc.unshare(_CLONE_NEWNET) == 0:
            return True
        if os.geteuid() != 0 and libc.unshare(CLONE_NEWUSER | _CLONE_NEWNET) == 0:
            return True
    except (OSError, AttributeError):
        pass
    return False


def try_prctl(option: int, arg: int) -> bool:
    try:
        return load_libc().prctl(option, ctypes.c_ulong(arg), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    if flags & _MS_REMOUNT and not flags & _MS_BIND:
        raise AssertionError("refusing a superblock remount: it would change the host's mount")
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if load_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
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
    real = sorted(
        {os.path.realpath(p) for p in candidates if os.path.isdir(p)}
        | {os.path.abspath(p) for p in candidates if os.path.isdir(p)}
    )
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
        libc = load_libc()
    except OSError as exc:
        result["why"] = f"no libc: {exc}"
        return result
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWIPC | (0 if root else CLONE_NEWUSER)
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


def open_import_dirs() -> dict[str, int]:
    """O_PATH fds of the directories on sys.path, opened while still privileged."""
    fds = {}
    for entry in dict.fromkeys(sys.path):
        if entry and os.path.isdir(entry):
            try:
                fds[entry] = os.open(entry, os.O_PATH | os.O_DIRECTORY)
            except OSError:
                pass
    return fds


def reroute_imports(fds: dict[str, int]) -> None:
    """After dropping privileges: reach import dirs that have become unreachable via their fds.

    Only needed when the server has no private filesystem (which binds them back readable):
    the interpreter may live under a directory the candidate's uid cannot search (e.g. pyenv in
    /root). `/proc/self/fd/N` resolves to the directory itself, so its ancestors no longer matter.
    """
    remap: dict[str, str] = {}
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


def drop_capabilities() -> None:
    """Clear every capability of this process (those a user namespace granted, for instance)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if load_libc().capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def describe_exit(status: int) -> str:
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


def close_ranges(keep: set[int]) -> tuple[tuple[int, int], ...]:
    """Ranges [low, high) of fds to close so that only 0-2 and `keep` stay open."""
    ranges, low = [], 3
    for fd in sorted(keep):
        if fd >= low:
            if fd > low:
                ranges.append((low, fd))
            low = fd + 1
    ranges.append((low, max(os.sysconf("SC_OPEN_MAX"), 65536)))
    return tuple(ranges)


def pin_to_cpus(wanted: str) -> list[int] | None:
    """Pin this server (and the candidates it forks) to the CPUs in `wanted` ("0,2"); the CPUs
    it then runs on, or None when none were asked for or this process may not use them."""
    try:
        os.sched_setaffinity(0, {int(c) for c in wanted.split(",")})
    except (ValueError, OSError):
        return None
    return sorted(os.sched_getaffinity(0))  # what the kernel applied (within the cpuset)
