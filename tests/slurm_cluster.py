"""A real single-node SLURM cluster with accounting, private to one test session.

Everything lives in one temporary directory and listens on loopback only:
munged (its own key and socket), MariaDB (127.0.0.1, a `slurm_acct_db`),
slurmdbd, slurmctld and slurmd (one node with the machine's CPUs and two
count-only "fake" GPUs, so that GPU requests are scheduled and accounted like
on a GPU cluster). Nothing under /etc is read or written: SLURM's clients and
daemons find the configuration through `SLURM_CONF`, which `env()` returns.
Each daemon runs in the foreground as a child of this process and is stopped
by its PID.

    python tests/slurm_cluster.py            # start one by hand; Ctrl-C stops it

Needs root and the Debian packages slurm-wlm, slurmdbd, munge and
mariadb-server (see .ci/packages.txt).
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CLUSTER = "monkeys"
ACCOUNT = "monkeys"
PARTITION = "debug"
NODE = "node1"
GPU_TYPE = "fake"
GPUS = 2

# Executables that must exist (Debian: slurm-wlm slurmdbd munge mariadb-server).
REQUIRED = (
    "munged",
    "mysql_install_db",
    "mariadbd",
    "slurmdbd",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "sacct",
    "sacctmgr",
    "scontrol",
    "scancel",
    "sinfo",
)


# Client commands that jobs (and the executor) call.
CLIENTS = ("srun", "sbatch", "squeue", "sacct", "scancel", "scontrol", "sinfo", "sacctmgr", "sshare", "sstat")


class ClusterError(RuntimeError):
    pass


def missing_requirements() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "the test SLURM cluster needs root (SlurmUser=root)"
    missing = [name for name in REQUIRED if _which(name) is None]
    if missing:
        return (
            "SLURM is not installed (missing " + ", ".join(missing) + "); install the "
            "Debian packages slurm-wlm slurmdbd munge mariadb-server (.ci/packages.txt)"
        )
    return None


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlurmCluster:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="monkeys-slurm-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self.hostname = socket.gethostname().split(".")[0]
        self.ports = {name: _free_port() for name in ("slurmctld", "slurmd", "slurmdbd", "mysql")}
        self.db_password = secrets.token_hex(12)
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.conf = self.root / "etc" / "slurm.conf"
        self.bindir = self.root / "bin"
        self.timings: dict[str, float] = {}

    # -- public ---------------------------------------------------------------------------

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment in which sbatch, squeue, sacct, ... talk to this cluster."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = f"{self.bindir}{os.pathsep}{env.get('PATH', '')}"
        for var in (
            "SBATCH_ACCOUNT",
            "SBATCH_PARTITION",
            "SLURM_ACCOUNT",
            "SLURM_PARTITION",
            "SLURM_JOB_ID",
            "SNAKEMAKE_SLURM_PARTITIONS",
        ):
            env.pop(var, None)
        return env

    def run(self, *command: str, check: bool = True, timeout: float = 60) -> str:
        """Run a SLURM client command against this cluster; return stdout."""
        result = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def start(self, timeout: float = 120) -> SlurmCluster:
        reason = missing_requirements()
        if reason:
            raise ClusterError(reason)
        t0 = time.monotonic()
        try:
            self._write_configs()
            self._start_munge(timeout)
            self._start_mariadb(timeout)
            self._start_slurmdbd(timeout)
            self._register_accounts()
            self._start_slurmctld(timeout)
            self._start_slurmd(timeout)
        except BaseException:
            self.stop()
            raise
        self.timings["start_s"] = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Cancel every job, then stop the daemons (newest first) by PID."""
        if any(name == "slurmctld" and p.poll() is None for name, p in self.procs):
            try:
                self.run("scancel", "--full", "--user", getpass.getuser(), check=False, timeout=20)
                deadline = time.monotonic() + 30
                while (
                    time.monotonic() < deadline
                    and self.run("squeue", "-h", "-o", "%i", check=False, timeout=20).strip()
                ):
                    time.sleep(0.5)
            except (subprocess.TimeoutExpired, OSError):
                pass
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def logs(self, tail: int = 40) -> str:
        """The last lines of every daemon's log, for failure messages."""
        out = []
        for path in sorted((self.root / "log").glob("*")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"==> {path.name} <==\n" + "\n".join(lines))
        return "\n".join(out)

    # -- configuration ----------------------------------------------------------------------

    def _write_configs(self) -> None:
        for sub in ("etc", "log", "run", "state", "spool", "mysql", "munge"):
            (self.root / sub).mkdir(exist_ok=True)
            (self.root / sub).chmod(0o700)
        cpus = os.cpu_count() or 1
        mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        real_memory = max(1024, int(mem_mb * 0.8))
        r = self.root
        self.munge_socket = r / "munge" / "munge.socket"
        auth = f"AuthType=auth/munge\nAuthInfo=socket={self.munge_socket}\n"
        self.conf.write_text(f"""\
# Written by tests/slurm_cluster.py: a one-node cluster on loopback.
ClusterName={CLUSTER}
SlurmctldHost={self.hostname}(127.0.0.1)
SlurmctldPort={self.ports["slurmctld"]}
SlurmdPort={self.ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
{auth}CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool/%n
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={r}/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
GresTypes=gpu
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={self.ports["slurmdbd"]}
# Messages to slurmdbd take their MUNGE socket from here, not from AuthInfo.
AccountingStoragePass={self.munge_socket}
AccountingStorageTRES=gres/gpu,gres/gpu:{GPU_TYPE}
AccountingStoreFlags=job_comment
NodeName={NODE} NodeHostname={self.hostname} NodeAddr=127.0.0.1 CPUs={cpus} \
RealMemory={real_memory} Gres=gpu:{GPU_TYPE}:{GPUS} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
""")
        (r / "etc" / "plugstack.conf").write_text("")
        # Fake GPUs: SLURM wants a device file per GPU; links to /dev/null are enough
        # for it to schedule, bind (nothing, with task/none) and account them.
        (r / "dev").mkdir(exist_ok=True)
        for i in range(GPUS):
            (r / "dev" / f"gpu{i}").unlink(missing_ok=True)
            (r / "dev" / f"gpu{i}").symlink_to("/dev/null")
        (r / "etc" / "gres.conf").write_text(
            f"AutoDetect=off\nNodeName={NODE} Name=gpu Type={GPU_TYPE} File={r}/dev/gpu[0-{GPUS - 1}]\n"
        )
        self._write_client_wrappers()
        dbd = r / "etc" / "slurmdbd.conf"
        dbd.write_text(f"""\
{auth}DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={self.ports["slurmdbd"]}
SlurmUser=root
PidFile={r}/run/slurmdbd.pid
LogFile={r}/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.ports["mysql"]}
StorageUser=slurm
StoragePass={self.db_password}
StorageLoc=slurm_acct_db
""")
        dbd.chmod(0o600)
        key = r / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)

    def _write_client_wrappers(self) -> None:
        """SLURM's client commands that fall back to this cluster's slurm.conf.

        On a real node the clients find /etc/slurm/slurm.conf (or slurmd's config
        cache) when SLURM_CONF is unset; the SLURM executor's job step drops SLURM_*
        variables before it calls `srun` inside a job, so here these wrappers, first
        on PATH (jobs inherit it), stand in for the node's default config.
        """
        self.bindir.mkdir(exist_ok=True)
        for name in CLIENTS:
            real = _which(name)
            if real is None:
                continue
            wrapper = self.bindir / name
            wrapper.write_text(
                f'#!/bin/sh\n: "${{SLURM_CONF:={self.conf}}}"\nexport SLURM_CONF\nexec {real} "$@"\n'
            )
            wrapper.chmod(0o755)

    # -- daemons ------------------------------------------------------------------------------

    def _spawn(self, name: str, *command: str) -> subprocess.Popen:
        log = open(self.root / "log" / f"{name}.out", "ab")
        proc = subprocess.Popen(
            command,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def _wait(self, what: str, ready, timeout: float, proc: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise ClusterError(f"{what} exited with {proc.returncode}\n{self.logs()}")
            try:
                if ready():
                    return
            except (subprocess.SubprocessError, OSError, ClusterError):
                pass
            time.sleep(0.2)
        raise ClusterError(f"{what} not ready after {timeout:.0f} s\n{self.logs()}")

    def _timed(self, name: str, t0: float) -> None:
        self.timings[name] = round(time.monotonic() - t0, 2)

    def _start_munge(self, timeout: float) -> None:
        t0 = time.monotonic()
        m = self.root / "munge"
        proc = self._spawn(
            "munged",
            _which("munged"),
            "--foreground",
            "--force",
            f"--key-file={m / 'munge.key'}",
            f"--socket={self.munge_socket}",
            f"--pid-file={m / 'munged.pid'}",
            f"--seed-file={m / 'munged.seed'}",
            f"--log-file={self.root / 'log' / 'munged.log'}",
        )
        self._wait("munged", self.munge_socket.exists, timeout, proc)
        self._timed("munged", t0)

    def _mysql(self, sql: str) -> None:
        client = _which("mariadb") or _which("mysql")
        subprocess.run(
            [client, "--no-defaults", "-uroot", f"--socket={self.root / 'run' / 'mysql.sock'}", "-e", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def _start_mariadb(self, timeout: float) -> None:
        t0 = time.monotonic()
        data = self.root / "mysql"
        subprocess.run(
            [
                _which("mysql_install_db"),
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        sock = self.root / "run" / "mysql.sock"
        proc = self._spawn(
            "mariadbd",
            _which("mariadbd"),
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            f"--socket={sock}",
            f"--port={self.ports['mysql']}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            f"--pid-file={self.root / 'run' / 'mariadbd.pid'}",
            f"--log-error={self.root / 'log' / 'mariadbd.log'}",
            "--innodb-buffer-pool-size=64M",
            "--innodb-lock-wait-timeout=900",
            "--innodb-log-file-size=64M",
            "--skip-log-bin",
        )

        def ready() -> bool:
            self._mysql("SELECT 1")
            return True

        self._wait("mariadbd", ready, timeout, proc)
        pw = self.db_password
        self._mysql(
            "CREATE DATABASE slurm_acct_db; "
            f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{pw}'; "
            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
        )
        self._timed("mariadbd", t0)

    def _start_slurmdbd(self, timeout: float) -> None:
        t0 = time.monotonic()
        proc = self._spawn("slurmdbd", _which("slurmdbd"), "-D")
        self._wait(
            "slurmdbd",
            lambda: self.run("sacctmgr", "-n", "list", "cluster", timeout=10) is not None,
            timeout,
            proc,
        )
        self._timed("slurmdbd", t0)

    def _register_accounts(self) -> None:
        user = getpass.getuser()
        self.run("sacctmgr", "-i", "add", "cluster", CLUSTER)
        self.run(
            "sacctmgr",
            "-i",
            "add",
            "account",
            ACCOUNT,
            f"Cluster={CLUSTER}",
            "Description=monkeys tests",
            "Organization=monkeys",
        )
        self.run(
            "sacctmgr",
            "-i",
            "add",
            "user",
            user,
            f"Account={ACCOUNT}",
            f"DefaultAccount={ACCOUNT}",
            f"Cluster={CLUSTER}",
        )

    def _start_slurmctld(self, timeout: float) -> None:
        t0 = time.monotonic()
        proc = self._spawn("slurmctld", _which("slurmctld"), "-D", "-i")
        self._wait("slurmctld", lambda: "UP" in self.run("scontrol", "ping", timeout=10), timeout, proc)
        self._timed("slurmctld", t0)

    def _start_slurmd(self, timeout: float) -> None:
        t0 = time.monotonic()
        (self.root / "spool" / NODE).mkdir(exist_ok=True)
        proc = self._spawn("slurmd", _which("slurmd"), "-D", "-N", NODE)

        def ready() -> bool:
            state = self.run("sinfo", "-h", "-N", "-n", NODE, "-o", "%T", timeout=10).strip()
            return state in ("idle", "mixed", "allocated")

        self._wait("slurmd", ready, timeout, proc)
        self._timed("slurmd", t0)


if __name__ == "__main__":
    cluster = SlurmCluster().start()
    print(f"SLURM cluster up in {cluster.timings['start_s']:.1f} s ({cluster.timings})")
    print(f"export SLURM_CONF={cluster.conf}")
    print(f"account={ACCOUNT} partition={PARTITION} gpus={GPU_TYPE}:{GPUS}; Ctrl-C stops it")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
