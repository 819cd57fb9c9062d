"""The relay: runs inside a sandbox container and executes a whole shard's jobs there.

Started as `python3 -s -P -m monkeys.execution.relay` (standard library only). It reads a
header frame {"workers", "count", "disk_mb"} and `count` request frames {"id", "job", "limits"}
on stdin, runs them on `workers` local fork servers, and writes {"id", "answer"} frames to
stdout as they finish, then {"done": true, "servers": [ready frames]}. Errors that stop the
whole run are reported as {"error": message}.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from monkeys.execution.frames import read_frame, write_frame
from monkeys.execution.pool import PoolError, run_pool


def main() -> int:
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints must not corrupt the protocol stream
    os.close(devnull)
    write_frame(proto_out, {"ready": True, "pid": os.getpid(), "python": sys.version.split()[0]})
    header = read_frame(proto_in)
    if not isinstance(header, dict):
        return 2
    ids, requests = [], []
    for _ in range(int(header["count"])):
        frame: Any = read_frame(proto_in)
        ids.append(frame["id"])
        requests.append((frame["job"], frame["limits"]))
    workers = max(1, int(header["workers"]))
    homes = [str(h) for h in header.get("homes") or []]
    for shared in ("/tmp", "/dev/mqueue", "/dev/shm", *homes):  # in the container: candidates
        try:  # may leave nothing there
            os.chmod(shared, 0o711)
        except OSError:
            pass
    home = tempfile.mkdtemp(prefix="monkeys-sandbox-")
    os.chmod(home, 0o711)
    disk_mb = int(header.get("disk_mb", 64))
    if len(homes) < workers:  # no tmpfs per worker: they share the container's /tmp
        homes = [home] * workers

    def answer(index: int, result: dict) -> None:
        write_frame(proto_out, {"id": ids[index], "answer": result})

    try:
        hellos = run_pool(requests, workers, answer, home=homes, disk_mb=disk_mb)
    except PoolError as exc:
        write_frame(proto_out, {"error": str(exc)})
        return 1
    finally:
        shutil.rmtree(home, ignore_errors=True)
    write_frame(proto_out, {"done": True, "servers": hellos})
    return 0


if __name__ == "__main__":
    sys.exit(main())
