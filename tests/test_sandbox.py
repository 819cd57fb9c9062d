"""Adversarial tests of the sandbox: verdicts, cheating, escapes, limits, parallelism."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monkeys.execution.programs import humaneval_program
from monkeys.execution.sandbox import STATUSES, Limits, Outcome, run_programs

FAST = Limits(timeout_s=2.0)
AS_ROOT = os.geteuid() == 0


def run_one(program: str, limits: Limits = FAST) -> Outcome:
    [outcome] = run_programs([program], limits, workers=1)
    assert outcome.status in STATUSES
    assert len(outcome.detail) <= 2000
    return outcome


def alive(pid: int) -> bool:
    """Whether pid is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_passes_a_correct_humaneval_program() -> None:
    program = humaneval_program(
        'def add(a, b):\n    """Sum."""\n',
        "    return a + b\n",
        "def check(candidate):\n    assert candidate(2, 3) == 5\n",
        "add",
    )
    assert program.endswith("\n\ncheck(add)\n")
    outcome = run_one(program)
    assert (outcome.status, outcome.error_type) == ("passed", "")
    assert 0 < outcome.runtime_s < FAST.timeout_s


def test_failing_assert_is_failed() -> None:
    outcome = run_one("def f():\n    return 1\nassert f() == 2, 'wrong answer'\n")
    assert (outcome.status, outcome.error_type) == ("failed", "AssertionError")
    assert "wrong answer" in outcome.detail


@pytest.mark.parametrize(
    ("program", "error_type"),
    [
        ("undefined_name + 1\n", "NameError"),
        ("def f(:\n    pass\n", "SyntaxError"),
        ("import sys\nsys.exit(0)\n", "SystemExit"),
        ("exit()\n", "SystemExit"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
        ("input()\n", "EOFError"),  # stdin is /dev/null
        ("x = bytearray(4 * 1024**3)\n", "MemoryError"),  # RLIMIT_AS
    ],
)
def test_exceptions_are_errors_never_passes(program: str, error_type: str) -> None:
    outcome = run_one(program)
    assert (outcome.status, outcome.error_type) == ("error", error_type), outcome


def test_infinite_loop_times_out_promptly() -> None:
    start = time.monotonic()
    outcome = run_one("while True:\n    pass\n", Limits(timeout_s=1.0))
    assert outcome.status == "timeout"
    assert 1.0 <= outcome.runtime_s < 2.0
    assert time.monotonic() - start < 4.0  # including starting the fork server


def test_sleeping_past_the_deadline_times_out() -> None:
    assert run_one("import time\ntime.sleep(30)\n", Limits(timeout_s=0.5)).status == "timeout"


def test_printing_passed_then_exiting_early_is_a_crash() -> None:
    outcome = run_one("print('passed', flush=True)\nimport os\nos._exit(0)\n")
    assert (outcome.status, outcome.error_type) == ("crashed", "exit 0")


def test_forged_verdict_on_every_fd_does_not_pass() -> None:
    program = (
        "import os\n"
        'fake = b\'{"status": "passed", "error_type": "", "traceback": ""}\'\n'
        "for fd in range(3, 1024):\n"
        "    try:\n"
        "        os.write(fd, fake)\n"
        "    except OSError:\n"
        "        pass\n"
        "assert False, 'the real test fails'\n"
    )
    outcome = run_one(program)
    assert outcome.status != "passed"


def test_forged_verdict_then_dying_is_a_crash() -> None:
    program = (
        "import os\n"
        'fake = b\'{"status": "passed", "error_type": "", "traceback": ""}\'\n'
        "for fd in range(3, 1024):\n"
        "    try:\n"
        "        os.write(fd, fake)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(3)\n"
    )
    outcome = run_one(program)
    assert (outcome.status, outcome.error_type) == ("crashed", "exit 3")


def test_segfault_is_a_crash() -> None:
    outcome = run_one("import ctypes\nctypes.string_at(0)\n")
    assert (outcome.status, outcome.error_type) == ("crashed", "signal SIGSEGV")


def test_stray_processes_are_killed_after_the_run() -> None:
    program = (
        "import os, subprocess, time\n"
        "p = subprocess.Popen(['sleep', '60'])\n"
        "q = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        "r, w = os.pipe()\n"
        "if os.fork() == 0:\n"  # classic daemon: fork, setsid, fork, parent exits
        "    os.setsid()\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "    os.write(w, str(pid).encode())\n"
        "    os._exit(0)\n"
        "os.close(w)\n"
        "daemon = int(os.read(r, 64))\n"
        "print('PIDS', p.pid, q.pid, daemon, flush=True)\n"
    )
    outcome = run_one(program)
    assert outcome.status == "passed", outcome
    pids = [int(p) for p in re.search(r"PIDS (\d+) (\d+) (\d+)", outcome.detail).groups()]
    assert len(set(pids)) == 3
    assert not [pid for pid in pids if alive(pid)]


@pytest.mark.skipif(not AS_ROOT, reason="the sandbox drops to nobody only when run as root")
def test_cannot_write_outside_its_directory(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    target = tmp_path / "pwned.txt"
    outcome = run_one(f"open({str(target)!r}, 'w').write('x')\n")
    assert (outcome.status, outcome.error_type) == ("error", "PermissionError")
    assert not target.exists()
    repo_file = Path(__file__).resolve().parent / "pwned_by_candidate.txt"
    assert run_one(f"open({str(repo_file)!r}, 'w').write('x')\n").status == "error"
    assert not repo_file.exists()


def test_can_write_its_own_working_directory() -> None:
    program = (
        "import os, tempfile\n"
        "open('scratch.txt', 'w').write('ok')\n"
        "assert open('scratch.txt').read() == 'ok'\n"
        "with tempfile.NamedTemporaryFile() as fh:\n"
        "    assert os.path.dirname(fh.name) == os.getcwd()\n"
        "print('CWD', os.getcwd())\n"
    )
    outcome = run_one(program)
    assert outcome.status == "passed", outcome
    workdir = Path(re.search(r"CWD (\S+)", outcome.detail).group(1))
    assert workdir.is_absolute() and not workdir.exists()  # removed after the run


def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONKEYS_SECRET", "hunter2")
    program = (
        "import os\n"
        "assert 'MONKEYS_SECRET' not in os.environ, 'secret leaked'\n"
        "assert os.environ['PATH'] == '/usr/bin:/bin'\n"
    )
    assert run_one(program).status == "passed"


def _network_namespaces_available() -> bool:
    probe = "from monkeys.execution.forkserver import unshare_network as u; exit(0 if u() else 1)"
    return subprocess.run([sys.executable, "-c", probe]).returncode == 0


def test_network_is_unreachable() -> None:
    if not _network_namespaces_available():
        pytest.skip("cannot create network namespaces here (not root, no user namespaces)")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        program = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
            "except OSError:\n"
            "    pass\n"
            "else:\n"
            "    raise AssertionError('connected to the host')\n"
        )
        assert run_one(program).status == "passed"


def test_killing_the_server_does_not_stop_the_run() -> None:
    programs = [
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "x = 1\n",
        "assert False\n",
        "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
        "y = 2\n",
    ]
    outcomes = run_programs(programs, FAST, workers=1)
    assert outcomes[0].status != "passed"
    assert [o.status for o in outcomes[1:]] == ["passed", "failed", "crashed", "passed"]
    assert outcomes[3].error_type == "signal SIGKILL"


def test_output_flood_is_capped() -> None:
    limits = Limits(timeout_s=5.0, output_cap_bytes=1000)
    start = time.monotonic()
    outcome = run_one("import sys\nsys.stdout.write('x' * 10_000_000)\nprint('END')\n", limits)
    assert outcome.status == "passed"
    assert "output truncated: 10000004 bytes" in outcome.detail
    assert len(outcome.detail) <= 2000
    assert time.monotonic() - start < 5.0


def test_order_is_preserved_and_duplicates_run_once() -> None:
    pid_program = "import os\nprint('PID', os.getpid())\n"
    programs = [pid_program, "assert False\n", "1 / 0\n", pid_program, "x = 1\n"] * 3
    outcomes = run_programs(programs, FAST, workers=2)
    assert [o.status for o in outcomes] == ["passed", "failed", "error", "passed", "passed"] * 3
    assert outcomes[2].error_type == "ZeroDivisionError"
    assert len({o.detail for o, p in zip(outcomes, programs, strict=True) if p == pid_program}) == 1

    undeduped = run_programs([pid_program] * 4, FAST, workers=2, dedupe=False)
    assert len({o.detail for o in undeduped}) == 4


def test_empty_input() -> None:
    assert run_programs([], FAST, workers=2) == []


def test_verdicts_are_deterministic() -> None:
    probe = "import random\nprint('R', random.random(), 'H', hash('monkeys'))\n"
    first, second = (run_one(probe).detail for _ in range(2))
    assert first == second
    value, hashed = re.search(r"R (\S+) H (\S+)", first).groups()
    program = f"import random\nassert random.random() == {value}\nassert hash('monkeys') == {hashed}\n"
    outcomes = run_programs([program] * 3, FAST, workers=2, dedupe=False)
    assert [o.status for o in outcomes] == ["passed"] * 3


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        Limits(timeout_s=0)
