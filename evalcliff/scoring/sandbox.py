"""Run untrusted Python (model-written code) in a contained child process.

What is enforced, strongest tier first (`detect_isolation` probes once per process and caches):

- **"namespaces"** — `unshare --user --map-root-user --net --pid --fork --kill-child
  --mount-proc`: a fresh network namespace (no interface up: no network at all, not even the
  host's loopback), a pid namespace (host processes are invisible and cannot be signalled;
  when the sandbox's pid 1 exits the kernel kills every process left in it), and a mount
  namespace where the work dir is bound over /tmp, /var/tmp and /dev/shm and every other mount
  is read-only; the child then drops its capabilities over those mounts (nested user ns).
- **"netns"** — `unshare --user --map-root-user --net`: no network; nothing else.
- **"none"** — a plain child process.

In every tier: a separate `python -I -S -B` (no user site, no PYTHON* variables, no
site-packages), a fresh temporary work dir as cwd (deleted afterwards), an environment of only
PATH, LANG, HOME and TMPDIR, its own session and process group (SIGKILLed as a group on
timeout and after exit), and `setrlimit` limits on CPU seconds, address space, processes,
file size, open files and core dumps. RLIMIT_NPROC is per user and not enforced for root
(uid 0 outside the namespace), so a Python guard (prelude + audit hook, see `_sandbox_child`)
also blocks fork/exec/subprocess/os.system/kill/sockets/ctypes and writes outside the work dir.
The guard is defence in depth, not a security boundary: in the "netns" and "none" tiers a
determined program can escape it (e.g. write files the invoking user can write, signal the
caller's processes), so run those tiers only on machines you would let the model's code touch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

Isolation = Literal["namespaces", "netns", "none"]
TIERS: tuple[Isolation, ...] = ("namespaces", "netns", "none")
_UNSHARE_ARGS: dict[Isolation, tuple[str, ...]] = {
    "namespaces": (
        "--user",
        "--map-root-user",
        "--net",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
    ),
    "netns": ("--user", "--map-root-user", "--net"),
    "none": (),
}
_CHILD = str(Path(__file__).with_name("_sandbox_child.py"))
_log = logging.getLogger(__name__)
_detect_lock = threading.Lock()
_detected: Isolation | None = None


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """How a sandboxed program ended.

    `returncode` is the program's exit status (negative: killed by that signal); `timed_out`
    is True when the wall-clock limit killed it; `stdout`/`stderr` are decoded (UTF-8, errors
    replaced) and capped (head and tail kept); `killed_reason` names the limit that ended it
    (timeout, CPU, memory, file size, a signal), None for a normal exit; `isolation` is the tier.
    """

    returncode: int
    timed_out: bool
    stdout: str
    stderr: str
    killed_reason: str | None
    isolation: Isolation

    @property
    def ok(self) -> bool:
        """True iff the program exited 0 within its limits."""
        return self.returncode == 0 and not self.timed_out


def detect_isolation() -> Isolation:
    """The strongest tier that runs a trivial program here (probed once, then cached)."""
    global _detected
    with _detect_lock:
        if _detected is None:
            _detected = "none"
            if shutil.which("unshare"):
                for tier in TIERS[:-1]:
                    try:
                        res = run_sandboxed("print('ok')", timeout_s=20.0, isolation=tier)
                    except OSError:
                        continue
                    if res.ok and res.stdout.strip() == "ok":
                        _detected = tier
                        break
            if _detected != "namespaces":
                _log.warning(
                    "sandbox isolation %r: no pid/mount namespaces here; model code is "
                    "contained by rlimits and a Python guard only",
                    _detected,
                )
        return _detected


def _read_capped(f: IO[bytes], limit: int) -> str:
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size <= limit:
        return f.read().decode("utf-8", "replace")
    head = f.read(limit // 2)
    f.seek(size - limit // 2)
    tail = f.read()
    cut = f"\n...[{size - len(head) - len(tail)} bytes cut]...\n"
    return head.decode("utf-8", "replace") + cut + tail.decode("utf-8", "replace")


def _wait_unreaped(pid: int, timeout_s: float) -> bool:
    """Wait for `pid` to exit WITHOUT reaping it (so its pgid stays ours to kill)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.02)
    return True


def _killed_reason(
    rc: int, timed_out: bool, stderr: str, timeout_s: float, cpu_s: int, memory_mb: int
) -> str | None:
    """The limit that ended the program, read from its status and last stderr line."""
    if timed_out:
        return f"timeout: still running after {timeout_s:g} s wall clock"
    if rc in (-signal.SIGXCPU, -signal.SIGKILL) and "MemoryError" not in stderr:
        # SIGXCPU at the soft CPU limit, SIGKILL at the hard one (one second later).
        return f"CPU limit: {cpu_s} s" if rc == -signal.SIGXCPU else "killed by SIGKILL"
    if rc == -signal.SIGXFSZ:
        return "file size limit"
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}"
    last = stderr.strip().splitlines()[-1:] or [""]
    if last[0].startswith("MemoryError"):
        return f"memory limit: {memory_mb} MB"
    if "[Errno 27]" in last[0]:  # EFBIG: Python ignores SIGXFSZ, the write fails instead
        return "file size limit"
    return None


def run_sandboxed(
    source: str,
    timeout_s: float = 5.0,
    cpu_s: int = 5,
    memory_mb: int = 512,
    max_procs: int = 64,
    max_file_mb: int = 10,
    output_limit: int = 4096,
    python_guard: bool = True,
    isolation: Isolation | Literal["auto"] = "auto",
) -> SandboxResult:
    """Run the Python program `source` contained (see the module docstring) and report how it
    ended. Never raises for anything the program does; blocks at most about `timeout_s`
    seconds (wall clock) plus process start-up and clean-up.

    Limits: `cpu_s` CPU seconds, `memory_mb` MiB of address space, `max_procs` processes
    (per user, unenforced for root), `max_file_mb` MiB per written file, `output_limit` bytes
    kept of each of stdout and stderr. `python_guard=False` leaves out the Python guard (only
    to test what the OS enforces alone; never with isolation "none"). `isolation` forces a tier
    ("auto": `detect_isolation()`); a forced tier is not checked to work here.
    """
    if timeout_s <= 0 or cpu_s < 1 or memory_mb < 32 or max_procs < 1 or max_file_mb < 1:
        raise ValueError("sandbox limits must be positive (memory_mb >= 32)")
    tier: Isolation = detect_isolation() if isolation == "auto" else isolation
    namespaced = tier == "namespaces"
    unshare = [shutil.which("unshare") or "unshare", *_UNSHARE_ARGS[tier]] if tier != "none" else []
    with (
        tempfile.TemporaryDirectory(prefix="evalcliff-sbx-") as work,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        Path(work, "main.py").write_text(source, encoding="utf-8")
        status_r, status_w = os.pipe() if namespaced else (-1, -1)
        cfg = {
            "source_path": str(Path(work, "main.py")),
            "workdir": work,
            "cpu_s": cpu_s,
            "memory_mb": memory_mb,
            "max_procs": max_procs,
            "max_file_mb": max_file_mb,
            "guard": python_guard,
            "namespaced": namespaced,
            "status_fd": status_w,
        }
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work, "TMPDIR": work}
        cmd = [*unshare, sys.executable, "-I", "-S", "-B", _CHILD, json.dumps(cfg)]
        try:
            # No preexec_fn (unsafe with threads): limits are set by the child itself.
            proc = subprocess.Popen(
                cmd,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=(status_w,) if namespaced else (),
            )
        finally:
            if namespaced:
                os.close(status_w)
        try:
            timed_out = not _wait_unreaped(proc.pid, timeout_s)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        rc = proc.returncode
        if namespaced:
            os.set_blocking(status_r, False)
            try:
                kind, _, value = os.read(status_r, 64).decode().partition(" ")
                rc = -int(value) if kind == "signal" else int(value)
            except (BlockingIOError, ValueError):
                pass  # killed before the supervisor could report: keep unshare's status
            finally:
                os.close(status_r)
        stdout, stderr = _read_capped(out, output_limit), _read_capped(err, output_limit)
    reason = _killed_reason(rc, timed_out, stderr, timeout_s, cpu_s, memory_mb)
    return SandboxResult(rc, timed_out, stdout, stderr, reason, tier)
