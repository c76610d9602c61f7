"""The sandbox against hostile programs: each is contained, this process survives, and each
run ends within its timeout plus a few seconds.

Configurations: the default (auto-detected isolation, Python guard on); the plain-process tier
with the guard (what machines without `unshare` get); and, where namespaces work, the OS layer
alone (guard off) to show the kernel, not the guard, contains the program.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.scoring import sandbox
from evalcliff.scoring.sandbox import SandboxResult, detect_isolation, run_sandboxed

SLACK_S = 5.0
CONFIGS = [
    pytest.param({}, id="auto+guard"),
    pytest.param({"isolation": "none"}, id="none+guard"),
    pytest.param(
        {"isolation": "namespaces", "python_guard": False},
        id="namespaces-only",
        marks=pytest.mark.skipif(
            detect_isolation() != "namespaces", reason="user/pid/net namespaces unavailable here"
        ),
    ),
]


@pytest.fixture(params=CONFIGS)
def cfg(request: pytest.FixtureRequest) -> dict[str, Any]:
    config: dict[str, Any] = request.param
    return config


def run(source: str, cfg: dict[str, Any], timeout_s: float = 3.0, **kw: Any) -> SandboxResult:
    start = time.monotonic()
    result = run_sandboxed(source, timeout_s=timeout_s, **{"cpu_s": 1, **cfg, **kw})
    assert time.monotonic() - start < timeout_s + SLACK_S
    os.kill(os.getpid(), 0)  # still alive (trivially, but this is the point)
    return result


def test_basic_result_fields() -> None:
    r = run_sandboxed("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)")
    assert (r.returncode, r.timed_out, r.stdout, r.stderr.strip()) == (3, False, "out\n", "err")
    assert r.killed_reason is None and not r.ok
    assert r.isolation == detect_isolation()
    assert run_sandboxed("pass").ok


def test_ordinary_code_runs(cfg: dict[str, Any]) -> None:
    src = (
        "import collections, functools, hashlib, itertools, json, math, re, threading, typing\n"
        "import tempfile\n"
        "t = threading.Thread(target=lambda: None)\nt.start()\nt.join()\n"
        "with tempfile.NamedTemporaryFile('w') as f:\n    f.write('ok')\n"
        "print(math.comb(5, 2), re.sub('a', 'b', 'aa'), hashlib.sha256(b'').hexdigest()[:4])"
    )
    r = run(src, cfg)
    assert r.ok, r.stderr
    assert r.stdout == "10 bb e3b0\n"


def test_signal_is_reported(cfg: dict[str, Any]) -> None:
    r = run("import signal\nsignal.raise_signal(signal.SIGTERM)", cfg)
    assert r.returncode == -signal.SIGTERM and r.killed_reason == "killed by SIGTERM"


def test_work_dir_is_removed_and_env_scrubbed(cfg: dict[str, Any]) -> None:
    marker = f"marker-{secrets.token_hex(6)}"
    r = run(
        f"import os\nopen({marker!r}, 'w').write('x')\nprint(sorted(os.environ))\n"
        "print(os.path.samefile(os.getcwd(), os.environ['HOME']))",
        cfg,
    )
    assert r.ok, r.stderr
    assert r.stdout.splitlines() == ["['HOME', 'LANG', 'PATH', 'TMPDIR']", "True"]
    assert not list(Path(tempfile.gettempdir()).glob(f"evalcliff-sbx-*/{marker}"))


def test_infinite_loop(cfg: dict[str, Any]) -> None:
    r = run("while True:\n    pass", cfg, timeout_s=1.5)
    assert not r.ok and r.killed_reason is not None
    assert r.timed_out or r.killed_reason.startswith(("CPU limit", "killed by"))


def test_sleeping_forever_hits_wall_clock(cfg: dict[str, Any]) -> None:
    r = run("import time\ntime.sleep(60)", cfg, timeout_s=0.5)
    assert r.timed_out and r.killed_reason is not None and r.killed_reason.startswith("timeout")


def test_fork_bomb(cfg: dict[str, Any]) -> None:
    if cfg.get("python_guard") is False and not Path("/sys/fs/cgroup/pids/evalcliff").is_dir():
        pytest.skip("no pids cgroup and RLIMIT_NPROC is not enforced for root")
    r = run("import os\nwhile True:\n    os.fork()", cfg)
    assert not r.ok and ("PermissionError" in r.stderr or "BlockingIOError" in r.stderr)


def test_disk_is_capped() -> None:
    if detect_isolation() != "namespaces":
        pytest.skip("the tmpfs needs a mount namespace")
    src = (
        "chunk = b'x' * 2**20\nn = 0\ntry:\n    for i in range(400):\n"
        "        with open(f'/tmp/f{i}', 'wb') as f:\n            f.write(chunk)\n"
        "        n += 1\nexcept OSError as e:\n    print(n, e.errno)\n"
    )
    r = run_sandboxed(src, isolation="namespaces", python_guard=False, max_disk_mb=16)
    n, errno = r.stdout.split()
    assert int(n) <= 16 and int(errno) == 28, r  # ENOSPC


def test_require_isolation_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_detected", "netns")
    with pytest.raises(EvalcliffError, match="--allow-unsandboxed-code"):
        sandbox.require_isolation(False)
    assert sandbox.require_isolation(True) == "netns" == sandbox.sandbox_tier()


def test_sandbox_dies_with_its_parent() -> None:
    if detect_isolation() != "namespaces":
        pytest.skip("unguarded exec is only safe under namespaces")
    tag = f"31.{secrets.randbelow(10**6):06d}"
    driver = (
        "from evalcliff.scoring.sandbox import run_sandboxed\n"
        f"src = 'import os\\nos.execv(\\'/bin/sleep\\', [\\'sleep\\', \\'{tag}\\'])'\n"
        "run_sandboxed(src, timeout_s=60, cpu_s=60, python_guard=False)\n"
    )

    def running() -> bool:
        for p in Path("/proc").iterdir():
            try:
                if tag.encode() in (p / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
        return False

    proc = subprocess.Popen([sys.executable, "-c", driver])
    deadline = time.monotonic() + 10
    while not running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running(), "the sandboxed sleep never started"
    proc.kill()
    proc.wait()
    time.sleep(0.5)
    assert not running(), "the sandbox outlived its parent"


def test_subprocess_and_system_blocked(cfg: dict[str, Any]) -> None:
    if cfg.get("python_guard") is False:
        pytest.skip("the guard is off")
    for src in (
        "import subprocess\nsubprocess.run(['true'])",
        "import os\nos.system('true')",
        "import ctypes\nctypes.CDLL(None).fork()",
        "import _posixsubprocess",
    ):
        r = run(src, cfg)
        assert not r.ok and "PermissionError" in r.stderr, src


def test_memory_bomb(cfg: dict[str, Any]) -> None:
    # bytes(n) is calloc'd: the bomb reserves address space fast without touching the pages.
    r = run("x = []\nwhile True:\n    x.append(bytes(32 * 2**20))", cfg, memory_mb=256)
    assert not r.ok and r.killed_reason == "memory limit: 256 MB"


def test_output_flood_is_capped(cfg: dict[str, Any]) -> None:
    r = run("while True:\n    print('x' * 1000)", cfg, output_limit=4096)
    assert not r.ok and len(r.stdout) < 4096 + 100 and "bytes cut" in r.stdout


@pytest.fixture
def escape_paths() -> Iterator[list[Path]]:
    token = secrets.token_hex(6)
    paths = [
        Path(f"/tmp/evalcliff_escape_{token}"),
        Path(__file__).with_name(f"evalcliff_escape_{token}"),
    ]
    yield paths
    for p in paths:
        p.unlink(missing_ok=True)


def test_write_outside_work_dir(cfg: dict[str, Any], escape_paths: list[Path]) -> None:
    src = "".join(
        f"try:\n    open({str(p)!r}, 'w').write('pwned')\nexcept OSError as e:\n    print(e)\n"
        for p in escape_paths
    )
    run(src, cfg)
    for p in escape_paths:
        assert not p.exists(), f"sandbox wrote {p}"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.setblocking(False)
    yield srv
    srv.close()


def test_network_blocked(cfg: dict[str, Any], listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for host, p in (("1.1.1.1", 53), ("127.0.0.1", port)):
        src = (
            "import socket\ns = socket.socket()\ns.settimeout(1)\n"
            f"s.connect(({host!r}, {p}))\nprint('CONNECTED')"
        )
        r = run(src, cfg)
        assert not r.ok and "CONNECTED" not in r.stdout
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_secret_env_not_visible(cfg: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    secret = secrets.token_hex(8)
    monkeypatch.setenv("EVALCLIFF_TEST_SECRET", secret)
    src = (
        "import os\nprint(os.environ.get('EVALCLIFF_TEST_SECRET'))\n"
        f"for pid in ('{os.getpid()}', str(os.getppid())):\n"
        "    try:\n        print(open(f'/proc/{pid}/environ').read())\n"
        "    except OSError as e:\n        print(e)\n"
    )
    r = run(src, cfg)
    assert secret not in r.stdout + r.stderr


def test_killing_the_parent_fails(cfg: dict[str, Any]) -> None:
    if cfg.get("isolation") == "none" and cfg.get("python_guard") is False:
        pytest.skip("unguarded plain process could kill the test runner")
    src = (
        f"import os, signal\nfor pid in (os.getppid(), {os.getpid()}, 1):\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n"
        "    except OSError as e:\n        print(e)\nprint('still here')"
    )
    run(src, cfg)  # asserts this process is alive


def test_escaped_grandchild_is_killed() -> None:
    if detect_isolation() != "namespaces":
        pytest.skip("needs the pid namespace")
    tag = f"30.{secrets.randbelow(10**6):06d}"
    src = (
        "import os\nif os.fork() == 0:\n    os.setsid()\n"
        f"    os.execv('/bin/sleep', ['sleep', {tag!r}])\nprint('parent done')"
    )
    r = run_sandboxed(src, isolation="namespaces", python_guard=False)
    assert r.ok, r.stderr
    time.sleep(0.2)
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert tag.encode() not in cmdline, f"escaped process {proc.name} survived"
