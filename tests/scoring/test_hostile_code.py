"""Hostile completions against `score_code`: each must score 0 and leave the host unharmed.

The item is `add(a, b)` with a `check(candidate)` of asserts, as generated suites have. The
first four are the forgeries from the issue; the rest try to break out or fake the verdict
another way. Each runs in the auto-detected tier (these tests need "namespaces").
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from evalcliff.scoring import score_code
from evalcliff.scoring.sandbox import sandbox_tier
from evalcliff.scoring.sandbox_server import SandboxServer

pytestmark = pytest.mark.skipif(
    sandbox_tier() != "namespaces", reason="hostile code is only scored under namespaces"
)

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"
MARK = f"/tmp/evalcliff_hostile_{secrets.token_hex(6)}"

HOSTILE = {
    # The four forgeries of the issue.
    "open_file_print": (
        "    return 0\nprint(open(__file__).read())\n"
        "import sys\nsys.stdout.write(open(__file__).read())\n"
    ),
    "caller_co_consts": (
        "    import sys\n    f = sys._getframe(1)\n"
        "    while f:\n        print(f.f_code.co_consts)\n        f = f.f_back\n    return 0\n"
        "add(0, 0)\n"
    ),
    "settrace_jump_over_asserts": (
        "    return 0\nimport sys\n"
        "def tracer(frame, event, arg):\n"
        "    if event == 'line' and frame.f_code.co_name == 'check':\n"
        "        try:\n            frame.f_lineno = frame.f_code.co_firstlineno + 99\n"
        "        except ValueError:\n            pass\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n"
    ),
    "eq_always_true": (
        "    class Any:\n        def __eq__(self, other):\n            return True\n"
        "        def __ne__(self, other):\n            return False\n        __hash__ = None\n"
        "    return Any()\n"
    ),
    # Other ways to fake the verdict.
    "int_subclass_eq": (
        "    class Int(int):\n        def __eq__(self, other):\n            return True\n"
        "    return Int(0)\n"
    ),
    "exit_zero_at_import": "    return 0\nimport sys\nsys.exit(0)\n",
    "os_exit_zero": "    return 0\nimport os\nos._exit(0)\n",
    "system_exit_in_call": "    raise SystemExit(0)\n",
    "print_fake_markers": (
        "    return 0\nimport os\n"
        "for line in ('pass', 'ok', 'evalcliff-tests-finished', 'PASSED'):\n"
        "    print(line)\n    os.write(1, line.encode() + b'\\n')\n"
    ),
    "write_every_fd": (
        "    return 0\nimport os\n"
        "for fd in range(3, 64):\n    try:\n        os.write(fd, b'pass ' + b'0' * 32)\n"
        "    except OSError:\n        pass\n"
    ),
    "steal_from_harness_proc": (
        "    return 0\nimport os\n"
        "for p in os.listdir('/proc'):\n    if not p.isdigit():\n        continue\n"
        "    for f in ('mem', 'environ', 'cmdline', 'fd/3', 'fd/4', 'fd/5', 'fd/6'):\n"
        "        try:\n            with open(f'/proc/{p}/{f}', 'rb') as h:\n"
        "                print(p, f, h.read(200))\n"
        "        except OSError as e:\n            print(p, f, e)\n"
    ),
    "gc_scan_for_tests": (
        "    import gc\n    hits = [o for o in gc.get_objects() if isinstance(o, str)"
        " and 'assert' in o]\n    return hits[0] if hits else 0\n"
    ),
    "monkeypatch_builtins": (
        "    return 0\nimport builtins\n"
        "class Nope(Exception):\n    pass\n"
        "builtins.AssertionError = Nope\nbuiltins.Exception = Nope\n"
    ),
    "kill_everything": (
        "    return 0\nimport os, signal\n"
        "for sig in (signal.SIGKILL, signal.SIGSTOP):\n"
        "    for pid in (1, os.getppid(), -1):\n        try:\n            os.kill(pid, sig)\n"
        "        except OSError:\n            pass\n"
        "import posix\ntry:\n    posix.kill(1, 9)\nexcept Exception:\n    pass\n"
    ),
    "fork_bomb": "    return 0\nimport os\nwhile True:\n    os.fork()\n",
    "memory_bomb": "    x = []\n    while True:\n        x.append(bytes(64 * 2**20))\n",
    "disk_fill": (
        "    return 0\nchunk = b'x' * 2**20\n"
        "for i in range(400):\n    try:\n"
        "        with open(f'/tmp/fill{i}', 'wb') as f:\n            f.write(chunk * 1)\n"
        "    except OSError:\n        break\n"
    ),
    "write_host_file": (
        f"    return 0\nfor p in ({MARK!r}, '/work/evalcliff_hostile_probe', '/etc/evalcliff'):\n"
        "    try:\n        open(p, 'w').write('pwned')\n    except OSError:\n        pass\n"
    ),
    "daemon_outlives": (
        "    return 0\nimport os, time\n"
        "try:\n    if os.fork() == 0:\n        os.setsid()\n"
        f"        while True:\n            open({MARK + '_daemon'!r}, 'w').write('x')\n"
        "            time.sleep(0.1)\nexcept OSError:\n    pass\n"
    ),
    "infinite_loop": "    while True:\n        pass\n",
    "sleep_forever": "    import time\n    time.sleep(3600)\n",
    "generator_result": "    return (x for x in [a + b])\n",
    "raise_baseexception": "    raise KeyboardInterrupt\n",
    "huge_output": "    return 'x' * (40 * 2**20)\n",
    "deep_nesting": "    x = []\n    for _ in range(10000):\n        x = [x]\n    return x\n",
    "float_for_int": "    return float(a + b) if a == 2 else True\n",
}


@pytest.fixture(scope="module", autouse=True)
def no_host_marks() -> Any:
    yield
    time.sleep(0.3)  # a surviving daemon would have written by now
    for p in (MARK, MARK + "_daemon", "/work/evalcliff_hostile_probe", "/etc/evalcliff"):
        assert not Path(p).exists(), f"hostile code wrote {p}"


@pytest.fixture(scope="module")
def server() -> Any:
    with SandboxServer() as s:
        yield s


@pytest.mark.parametrize("served", [False, True], ids=["lone", "server"])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_completion_scores_zero(
    kind: str, served: bool, item_factory: Any, server: SandboxServer
) -> None:
    item = item_factory(
        "", prompt=PROMPT, slice_="code", tests=TESTS, entry_point="add", timeout_s=3.0
    )
    start = time.monotonic()
    s = score_code(item, HOSTILE[kind], server=server if served else None)
    assert time.monotonic() - start < 15
    assert (s.score, s.correct) == (0.0, False), (kind, s)
    os.kill(os.getpid(), 0)


@pytest.mark.parametrize("served", [False, True], ids=["lone", "server"])
def test_honest_completion_still_passes(
    served: bool, item_factory: Any, server: SandboxServer
) -> None:
    # through the server, this runs after every hostile job above on the same server
    item = item_factory("", prompt=PROMPT, slice_="code", tests=TESTS, entry_point="add")
    assert score_code(item, "    return a + b\n", server=server if served else None).correct
