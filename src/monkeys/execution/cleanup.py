"""What a fork server does after each job: kill what the candidate left running (as the
subreaper, its strays too) and remove its files by file descriptor, without recursion and
without following links, so that no candidate can poison the scratch space of the next."""

from __future__ import annotations

import os
import signal
from typing import Any


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


def kill_quietly(pid: int, group: bool) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_descendants(rounds: int = 200) -> None:
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
            kill_quietly(kid, group=True)  # succeeds only for a group leader: its whole group
            kill_quietly(kid, group=False)
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


def remove_tree(path: str) -> None:
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


def clean_scratch(ctx: dict[str, Any]) -> str | None:
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
            remove_tree(workdir)
        if ctx["sweep_home"]:
            for name in os.listdir(ctx["home"]):
                remove_tree(os.path.join(ctx["home"], name))
        if os.path.lexists(workdir):
            return f"{workdir} is still there"
    except Exception as exc:  # noqa: BLE001 - any failure: the server cannot be trusted to go on
        return f"removing the candidate's files failed: {type(exc).__name__}: {exc}"
    return None
