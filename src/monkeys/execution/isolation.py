"""Isolation levels: how the fork servers themselves are started.

- `process`: fork servers are plain child processes. Each isolates itself where the kernel
  allows (see `monkeys.execution.forkserver`): network and mount namespaces with a read-only
  filesystem, plus rlimits and, when run as root, an unprivileged uid per server.
- `bubblewrap`: each fork server runs under `bwrap` (new pid/ipc/uts/net namespaces; of the
  host's files only /usr and its links, the Python runtime and this package, read-only; an
  empty /tmp; no capabilities beyond what it needs). The strongest choice without root.
- `docker` / `podman`: the whole shard runs in ONE container (`monkeys.execution.relay` inside):
  no network, read-only root, /tmp a small tmpfs, memory and pids limits, minimal capabilities.
  The engine is this very package, mounted read-only at /opt/monkeys, so verdicts come from the
  same code the workflow hashes; the image only provides python3 (containers/sandbox.Dockerfile).
- `apptainer`: the same with `apptainer exec --containall` (a .sif file or docker:// image).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from monkeys.execution import relay as _relay  # noqa: F401 - runs in containers; part of the engine's code hash
from monkeys.execution.pool import PACKAGE_PARENT, SERVER_ARGS

LEVELS = ("process", "bubblewrap", "docker", "podman", "apptainer")
CONTAINER_LEVELS = ("docker", "podman", "apptainer")
DEFAULT_IMAGE = "monkeys-sandbox:0.1.0"
ENGINE_MOUNT = "/opt/monkeys"  # PYTHONPATH inside containers; the package is bound at ENGINE_MOUNT/monkeys
RELAY_ARGS = ("-s", "-P", "-m", "monkeys.execution.relay")
# Capabilities the fork servers need inside a container (root there): own the candidates'
# directories, drop to their uid, kill their strays, and remove what they left.
CONTAINER_CAPS = ("CHOWN", "SETUID", "SETGID", "KILL", "DAC_OVERRIDE", "FOWNER")

INSTALL = {
    "bubblewrap": "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    "bubblewrap)",
    "docker": "install Docker (Debian: apt-get install docker.io; see docs.docker.com/engine/install) "
    "and make sure its engine is running",
    "podman": "install Podman (Debian/Ubuntu: apt-get install podman; see podman.io)",
    "apptainer": "install Apptainer (see apptainer.org/docs/admin/main/installation.html)",
}
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
TOOLS = {"bubblewrap": "bwrap", "docker": "docker", "podman": "podman", "apptainer": "apptainer"}


class SandboxUnavailable(RuntimeError):
    """The configured isolation level cannot be used here; the message says how to fix it."""


@dataclass(frozen=True)
class Isolation:
    """Which isolation level to use, and its settings."""

    level: str = "process"
    image: str = DEFAULT_IMAGE  # docker/podman image, or apptainer .sif / docker:// reference
    disk_mb: int = 64  # scratch space per fork server (a tmpfs) for candidates' working dirs
    startup_timeout_s: float = 600.0  # for a container to start (apptainer may pull an image)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown isolation level {self.level!r}; choose one of {list(LEVELS)}")

    @property
    def in_container(self) -> bool:
        return self.level in CONTAINER_LEVELS


def build_hint(level: str, image: str) -> str:
    if level == "apptainer":
        return f"apptainer build {image} containers/sandbox.def  (from the repository root)"
    return (
        f"{level} build -f containers/sandbox.Dockerfile -t {image} src  (from the repository "
        'root; README, "Sandbox", shows how to build it without a registry)'
    )


def tool(level: str) -> str:
    """Path of the level's command-line tool; SandboxUnavailable naming it if it is missing."""
    name = TOOLS[level]
    path = shutil.which(name)
    if path is None:
        raise SandboxUnavailable(
            f"execution isolation {level!r} needs the `{name}` command, which is not on PATH: "
            f"{INSTALL[level]}; or set execution.isolation: process"
        )
    return path


def check_image(isolation: Isolation) -> None:
    """Fail early, and clearly, when the container engine or the sandbox image is missing."""
    exe = tool(isolation.level)
    if isolation.level == "apptainer":
        ref = isolation.image
        if "://" not in ref and not Path(ref).exists():
            raise SandboxUnavailable(
                f"sandbox image {ref!r} not found; build it with: {build_hint('apptainer', ref)}"
            )
        return
    probe = subprocess.run(
        [exe, "image", "inspect", "--format", "{{.Id}}", isolation.image],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0:
        message = (probe.stderr or probe.stdout).strip()
        if any(m in message.lower() for m in ("no such image", "not found", "image not known")):
            raise SandboxUnavailable(
                f"sandbox image {isolation.image!r} not found in {isolation.level}; build it with: "
                f"{build_hint(isolation.level, isolation.image)}"
            )
        raise SandboxUnavailable(
            f"{isolation.level} cannot inspect image {isolation.image!r} ({message}); is its engine "
            f"running and reachable (DOCKER_HOST={os.environ.get('DOCKER_HOST', '')!r})?"
        )


def bubblewrap_command(home: str) -> list[str]:
    """The fork server's command under bubblewrap."""
    exe = tool("bubblewrap")
    args = [
        exe,
        "--die-with-parent",
        "--new-session",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    # Only the system's programs and libraries, the Python runtime and this package are
    # visible, read-only: not /etc, /home, /root, /var, /run, the checkout or its results.
    for top in SYSTEM_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    needed = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        PACKAGE_PARENT,
        *(p for p in sys.path if p),
    }
    made: set[str] = set(SYSTEM_DIRS) | {"/", "/tmp"}
    for path in sorted({os.path.realpath(p) for p in needed if os.path.isdir(p)}):
        parents = [str(p) for p in reversed(Path(path).parents) if str(p) not in made]
        for parent in parents:  # traversable by the candidates' uids (bwrap makes them 0700)
            args += ["--perms", "0755", "--dir", parent]
        made.update(parents, {path})
        args += ["--ro-bind", path, path]
    args += ["--bind", home, home, "--chdir", home]
    if os.geteuid() == 0:
        args += [
            "--cap-drop",
            "ALL",
            *(x for cap in (*CONTAINER_CAPS, "SYS_ADMIN") for x in ("--cap-add", f"CAP_{cap}")),
        ]
    return [*args, "--", sys.executable, *SERVER_ARGS]


def worker_homes(workers: int) -> list[str]:
    """Each fork server's HOME inside a container: its own size-limited tmpfs."""
    return [f"/tmp/worker-{i}" for i in range(int(workers))]


def container_command(
    isolation: Isolation, workers: int, memory_mb: int, max_processes: int, name: str | None = None
) -> tuple[list[str], str]:
    """(command that runs the relay in one container, the container's name)."""
    exe = tool(isolation.level)
    name = name or f"monkeys-sandbox-{uuid.uuid4().hex[:12]}"
    package = str(Path(PACKAGE_PARENT) / "monkeys")
    env = {
        "PYTHONPATH": ENGINE_MOUNT,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    # Per worker: its candidate (RLIMIT_AS), its scratch tmpfs (tmpfs pages are charged to the
    # container's memory, so a full disk must not squeeze another worker's candidate) and its
    # fork server; plus /tmp, the relay and the interpreter's page cache.
    memory = int(workers) * (int(memory_mb) + int(isolation.disk_mb) + 64) + 16 + 256
    pids = int(workers) * (int(max_processes) + 8) + 64
    # nr_inodes bounds the kernel memory (inodes, dentries) a candidate can pin in its scratch
    # tmpfs, which the container's memory limit counts but `size` does not (podman's --tmpfs
    # refuses the option)
    disk = f"rw,nosuid,nodev,mode=0711,size={int(isolation.disk_mb)}m"
    if isolation.level == "docker":
        disk += f",nr_inodes={128 * int(isolation.disk_mb)}"
    if isolation.level == "apptainer":
        cmd = [
            exe,
            "exec",
            "--containall",
            "--no-home",
            "--net",
            "--network",
            "none",
            "--bind",
            f"{package}:{ENGINE_MOUNT}/monkeys:ro",
        ]
        for key, value in env.items():
            cmd += ["--env", f"{key}={value}"]
        if os.geteuid() == 0:  # cgroup limits need root (or a systemd cgroup delegation)
            cmd += ["--memory", f"{memory}M", "--pids-limit", str(pids)]
        return [*cmd, isolation.image, "python3", *RELAY_ARGS], name
    cmd = [
        exe,
        "run",
        "--rm",
        "-i",
        "--name",
        name,
        "--network",
        "none",
        "--ipc",
        "none",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,nosuid,nodev,mode=0711,size=16m",
        *(x for home in worker_homes(workers) for x in ("--tmpfs", f"{home}:{disk}")),
        "--memory",
        f"{memory}m",
        "--memory-swap",
        f"{memory}m",
        "--pids-limit",
        str(pids),
        "--cap-drop",
        "ALL",
        *(x for cap in CONTAINER_CAPS for x in ("--cap-add", cap)),
        "--security-opt",
        "no-new-privileges",
        "--user",
        "0:0",
        "--workdir",
        "/tmp",
        # no System V IPC in the container (its private IPC namespace): nothing to share
        "--sysctl",
        "kernel.shmmni=0",
        "--sysctl",
        "kernel.msgmni=0",
        "--sysctl",
        "kernel.sem=0 0 0 0",
        "-v",
        f"{package}:{ENGINE_MOUNT}/monkeys:ro",
        "--entrypoint",
        "python3",
    ]
    if isolation.level == "podman":
        # podman mounts a writable tmpfs on /run and /var/tmp of a read-only container unless
        # told not to: a place every candidate of the shard could write and read
        cmd += ["--read-only-tmpfs=false", *podman_ulimits(pids)]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    return [*cmd, isolation.image, *RELAY_ARGS], name


def podman_ulimits(pids: int) -> list[str]:
    """`--ulimit` options within what podman's runtime may set: this process's open-file limits,
    and a process limit of the container's `pids`.

    Podman's runtime starts the container under podman's own limits and, without
    CAP_SYS_RESOURCE (root in a container or some VMs), cannot raise them; podman's defaults
    (nofile 1048576, nproc 4194304) are above them there, and the container would not start.
    Root's processes are not held to RLIMIT_NPROC anyway (the fork servers set each candidate's).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return ["--ulimit", f"nofile={soft}:{hard}", "--ulimit", f"nproc={pids}:{pids}"]


def stop_container(isolation: Isolation, name: str) -> None:
    """Remove a container that is still running (killing the client does not stop it)."""
    if isolation.level in ("docker", "podman"):
        subprocess.run([tool(isolation.level), "rm", "-f", name], capture_output=True, timeout=120)
