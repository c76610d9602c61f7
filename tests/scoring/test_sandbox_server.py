"""`SandboxServer`: many tests jobs through one sandboxed interpreter, each as isolated as a
lone `run_tests_sandboxed` run, with the same verdicts."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalcliff.scoring.sandbox import run_tests_sandboxed, sandbox_tier
from evalcliff.scoring.sandbox_server import SandboxServer

needs_namespaces = pytest.mark.skipif(
    sandbox_tier() != "namespaces", reason="the tests server needs the namespaces tier"
)

ADD = "def add(a, b):\n"
CHECK = "def check(candidate):\n    assert candidate(2, 3) == 5\n"

# (program, tests, keyword arguments): one per way a run can end.
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "pass": (ADD + "    return a + b\n", CHECK, {}),
    "wrong": (ADD + "    return a - b\n", CHECK, {}),
    "name_error": (ADD + "    return a + c\n", CHECK, {}),
    "exit_at_import": (ADD + "    return 0\nimport sys\nsys.exit(0)\n", CHECK, {}),
    "os_exit": (ADD + "    return 0\nimport os\nos._exit(0)\n", CHECK, {}),
    "prints": (ADD + "    print('hi')\n    return a + b\nprint('top')\n", CHECK, {}),
    "timeout": (ADD + "    while True:\n        pass\n", CHECK, {"timeout_s": 1.0}),
    "sleep": (ADD + "    import time\n    time.sleep(60)\n", CHECK, {"timeout_s": 1.0}),
    "memory": (
        ADD + "    x = []\n    while True:\n        x.append(bytes(32 * 2**20))\n",
        CHECK,
        {"memory_mb": 256},
    ),
    "not_plain_data": (ADD + "    return object()\n", CHECK, {}),
    "no_check_call": (ADD + "    return 1\n", "assert add(1, 1) == 1\n", {"call_check": False}),
    "failing_tests_source": (ADD + "    return a + b\n", "raise ValueError('x')\n", {}),
    # Outputs are anonymous files in the server: RLIMIT_FSIZE must still end the flood.
    "output_flood": (ADD + "    return a + b\nwhile True:\n    print('x' * 9999)\n", CHECK, {}),
}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as s:
        yield s


@needs_namespaces
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_verdict_as_a_lone_run(case: str, server: SandboxServer) -> None:
    program, tests, kw = CASES[case]
    kw = {"call_check": True, **kw}
    lone = run_tests_sandboxed(program, tests, "add", **kw)
    served = server.run_tests(program, tests, "add", **kw)
    assert (served.passed, served.detail) == (lone.passed, lone.detail)
    assert served.sandbox.timed_out == lone.sandbox.timed_out
    assert served.sandbox.killed_reason == lone.sandbox.killed_reason
    assert served.sandbox.stdout == lone.sandbox.stdout
    assert served.passed == (case in ("pass", "prints", "no_check_call"))
    if case == "output_flood":
        assert "File too large" in served.sandbox.stderr and "bytes cut" in served.sandbox.stdout


@needs_namespaces
def test_jobs_do_not_see_each_other(server: SandboxServer) -> None:
    mark = f"evalcliff_job_{secrets.token_hex(4)}"
    leave = (
        ADD + "    return 0\nimport os\n"
        f"for d in ('/tmp', '/dev/shm', '/var/tmp'):\n"
        f"    open(os.path.join(d, {mark!r}), 'w').write('x')\n"
    )
    server.run_tests(leave, CHECK, "add")
    look = (
        ADD + "    import os\n"
        "    files = sorted(f for d in ('/tmp', '/dev/shm', '/var/tmp') for f in os.listdir(d))\n"
        "    pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "    return [files, pids]\n"
    )
    tests = "assert add(0, 0) == [['main.py', 'main.py', 'main.py'], [1, 2]]\n"
    r = server.run_tests(look, tests, "add", call_check=False)
    assert r.passed, r  # its own scratch space and pid namespace: nothing of the last job
    assert not any(mark in f for d in ("/tmp", "/dev/shm", "/var/tmp") for f in os.listdir(d))


@needs_namespaces
def test_hostile_job_does_not_reach_the_next_one(server: SandboxServer) -> None:
    pid = server._proc.pid if server._proc is not None else None
    hostile = (
        ADD + "    return 0\nimport os, signal\n"
        "for fd in range(3, 64):\n    try:\n        os.write(fd, b'pass ' + b'0' * 32)\n"
        "    except OSError:\n        pass\n"
        "for p in (1, -1, os.getppid()):\n    try:\n        os.kill(p, signal.SIGKILL)\n"
        "    except Exception:\n        pass\n"
    )
    assert not server.run_tests(hostile, CHECK, "add").passed
    assert server.run_tests(ADD + "    return a + b\n", CHECK, "add").passed
    assert not server.run_tests(ADD + "    return 0\n", CHECK, "add").passed
    if pid is not None:
        assert server._proc is not None and server._proc.pid == pid  # never restarted


@needs_namespaces
def test_a_dead_server_is_restarted() -> None:
    with SandboxServer() as s:
        assert s.run_tests(ADD + "    return a + b\n", CHECK, "add").passed
        assert s._proc is not None
        os.killpg(s._proc.pid, signal.SIGKILL)
        s._proc.wait()
        assert s.run_tests(ADD + "    return a + b\n", CHECK, "add").passed
        assert not s.run_tests(ADD + "    return a - b\n", CHECK, "add").passed


def _processes_with(tag: bytes) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and tag in (p / "cmdline").read_bytes():
                found.append(int(p.name))
        except OSError:
            continue
    return found


@needs_namespaces
def test_server_dies_with_its_parent() -> None:
    limit = 5000 + secrets.randbelow(10**6)  # tags the server's command line
    tag = f'"output_limit": {limit}'.encode()
    driver = (
        "from evalcliff.scoring.sandbox_server import SandboxServer\n"
        f"s = SandboxServer(output_limit={limit})\n"
        "s.run_tests('def f():\\n    import time\\n    time.sleep(60)\\n', 'f()', 'f',"
        " call_check=False, timeout_s=60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", driver])
    deadline = time.monotonic() + 10
    while len(_processes_with(tag)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # server, job runner, harness, candidate
    assert len(_processes_with(tag)) >= 3, "the job never started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while _processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_with(tag), "the tests server outlived its parent"


@needs_namespaces
@pytest.mark.parametrize("served", [False, True], ids=["lone", "server"])
def test_candidate_holds_no_capability_over_its_namespaces(
    served: bool, server: SandboxServer
) -> None:
    """NS_GET_USERNS fails with EPERM exactly when a namespace's owner is neither the caller's
    user namespace nor one below it: then the candidate has no capability over it."""
    probe = (
        ADD + "    import fcntl, os\n    errs = []\n"
        "    for kind in ('mnt', 'net', 'ipc', 'pid', 'pid_for_children'):\n"
        "        fd = os.open('/proc/self/ns/' + kind, os.O_RDONLY)\n"
        "        try:\n            os.close(fcntl.ioctl(fd, 0xB701))\n            errs.append(0)\n"
        "        except OSError as e:\n            errs.append(e.errno)\n"
        "        os.close(fd)\n    return errs\n"
    )
    tests = "assert add(0, 0) == [1, 1, 1, 1, 1], add(0, 0)\n"
    run = server.run_tests if served else run_tests_sandboxed
    r = run(probe, tests, "add", call_check=False)
    assert r.passed, r


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@needs_namespaces
def test_a_job_dies_with_its_runner() -> None:
    """The harness (pid 1 of the job) holds no alive pipe: its runner's death must end it."""
    with SandboxServer() as s:
        assert s.run_tests(ADD + "    return a + b\n", CHECK, "add").passed
        assert s._proc is not None
        server_pid = _children(s._proc.pid)[0]  # unshare's child
        sleeper = ADD + "    import time\n    time.sleep(60)\n"
        done: list[Any] = []
        t = threading.Thread(
            target=lambda: done.append(s.run_tests(sleeper, CHECK, "add", timeout_s=4.0))
        )
        start = time.monotonic()
        t.start()
        deadline = start + 3
        job: list[int] = []
        while len(job) < 3 and time.monotonic() < deadline:
            runners = _children(server_pid)
            harnesses = [h for r in runners for h in _children(r)]
            job = runners[:1] + harnesses[:1] + [c for h in harnesses for c in _children(h)][:1]
            time.sleep(0.02)
        assert len(job) == 3, "the job never started (runner, harness, candidate)"
        os.kill(job[0], signal.SIGKILL)
        while any(Path(f"/proc/{p}").exists() for p in job) and time.monotonic() < start + 3.5:
            time.sleep(0.02)
        # Well before the job's own 4 s limit could have ended it.
        assert not any(Path(f"/proc/{p}").exists() for p in job), "the job outlived its runner"
        t.join(30)  # the server was restarted and the job rerun (it times out)
        assert done and not done[0].passed


def test_below_namespaces_each_job_runs_alone() -> None:
    with SandboxServer(isolation="none") as s:
        assert s.run_tests(ADD + "    return a + b\n", CHECK, "add").passed
        r = s.run_tests(ADD + "    return a - b\n", CHECK, "add")
        assert (r.passed, r.sandbox.isolation) == (False, "none")
        assert s._proc is None  # no server was started
