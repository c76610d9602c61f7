"""Run untrusted Python (model-written code) in a contained child process.

What is enforced, strongest tier first (`detect_isolation` probes once per process and caches):

- **"namespaces"** — `unshare --user --map-root-user --net --pid --ipc --fork --kill-child
  --mount-proc`: no network at all (a fresh network namespace, not even the host's
  loopback); a pid namespace (host processes are invisible and cannot be signalled; when the
  sandbox's pid 1 exits the kernel kills every process left in it); a mount namespace where
  /tmp, /var/tmp and /dev/shm are one tmpfs of `max_disk_mb` MiB and every other mount is
  read-only, with the capabilities over those mounts dropped (nested user namespace).
  Where evalcliff may make cgroups (v1, e.g. as root), a pids cgroup caps the process count
  and a memory cgroup the sandbox's total memory (tmpfs included).
  NOT contained: reading host files that the invoking user can read (the model's code sees
  the host filesystem read-only); CPU time spent by up to `max_procs` processes at once.
- **"netns"** — `unshare --user --map-root-user --net`: no network; nothing else.
- **"none"** — a plain child process.

Below "namespaces" the model's code can write wherever the invoking user can, signal and
ptrace the caller's processes, start daemons and forge a test verdict: scoring refuses these
tiers unless explicitly allowed (`require_isolation`).

In every tier: a separate `python -I -S -B` (no user site, no PYTHON* variables, no
site-packages), a fresh temporary work dir as cwd (deleted afterwards; ones left by a killed
evalcliff are swept by the next run), an environment of only PATH, LANG, HOME and TMPDIR, its
own session and process group (SIGKILLed as a group on timeout and after exit), a pipe whose
end-of-file kills the sandbox when evalcliff dies, and `setrlimit` limits on CPU seconds,
address space, processes, file size, open files and core dumps. RLIMIT_NPROC is per user and
not enforced for root, so a Python guard (prelude + audit hook, see `_sandbox_child`) also
blocks fork/exec/subprocess/os.system/kill/sockets/ctypes and writes outside the work dir.
The guard is defence in depth, not a security boundary.

`run_tests_sandboxed` keeps the verdict out of the model's reach: the tests run in a separate
harness process that talks to the model's function over a pipe with plain data only, and
reports a one-time token the model's process never holds (details in `_sandbox_child`).
`sandbox_server.SandboxServer` runs many such jobs through one sandboxed interpreter, each
job in its own fresh namespaces, cgroups and processes as above (it saves the interpreter
start-up, ~50 ms of CPU a job).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import secrets
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

from evalcliff.errors import EvalcliffError

Isolation = Literal["namespaces", "netns", "none"]
TIERS: tuple[Isolation, ...] = ("namespaces", "netns", "none")
_UNSHARE_ARGS: dict[Isolation, tuple[str, ...]] = {
    "namespaces": (
        "--user",
        "--map-root-user",
        "--net",
        "--pid",
        "--ipc",
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
_state_lock = threading.Lock()  # sweep and cgroup names (detection holds _detect_lock)
_detected: Isolation | None = None
_PREFIX = "evalcliff-sbx-"
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_CGROUP_LIMITS = ("pids", "memory")
_MAX_SECRET = 1024 * 1024  # bytes of tests + prompt (one pipe buffer)
_F_SETPIPE_SZ = 1031
_swept = False
_cgroups_ok: bool | None = None
_cgroup_seq = 0
_live_cgroups: set[Path] = set()


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


def sandbox_tier() -> Isolation:
    """The tier that generated code will run under on this machine (probed once)."""
    return detect_isolation()


def require_isolation(allow_unsandboxed: bool = False) -> Isolation:
    """The tier code will run under; raises EvalcliffError when it is below "namespaces"
    and `allow_unsandboxed` is False (fail closed: weaker tiers can be escaped and forged)."""
    tier = detect_isolation()
    if tier != "namespaces" and not allow_unsandboxed:
        raise EvalcliffError(
            f"the code sandbox here is {tier!r}, not 'namespaces' (unshare --user --pid "
            "--net --mount failed): model code could escape it and forge a pass; enable "
            "user namespaces (sysctl kernel.unprivileged_userns_clone=1 or run outside a "
            "restricted container) or pass --allow-unsandboxed-code on a disposable machine"
        )
    return tier


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_cgroup(path: Path) -> None:
    """Kill what is left in the cgroup, then remove it (retrying while the kernel reaps)."""
    for _ in range(50):
        try:
            pids = (path / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
    _log.warning("sandbox cgroup %s could not be removed", path)


def sweep_stale() -> None:
    """Remove work dirs and cgroups left by evalcliff processes that died (SIGKILL, OOM):
    they are named after the creating pid. Called once per process before the first run."""
    global _swept
    with _state_lock:
        if _swept:
            return
        _swept = True
    for d in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        pid = d.name[len(_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
    for ctrl in _CGROUP_LIMITS:
        root = _CGROUP_ROOT / ctrl / "evalcliff"
        for cg in root.glob("*-*") if root.is_dir() else ():
            pid = cg.name.split("-")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                _remove_cgroup(cg)


def _make_cgroups(max_procs: int, memory_bytes: int) -> list[Path]:
    """Per-sandbox pids and memory cgroups (v1), or [] where this process cannot make them."""
    global _cgroups_ok, _cgroup_seq
    if _cgroups_ok is False:
        return []
    with _state_lock:
        _cgroup_seq += 1
        name = f"{os.getpid()}-{_cgroup_seq}"
    made: list[Path] = []
    settings = {"pids": {"pids.max": max_procs}, "memory": {"memory.limit_in_bytes": memory_bytes}}
    try:
        for ctrl in _CGROUP_LIMITS:
            path = _CGROUP_ROOT / ctrl / "evalcliff" / name
            path.mkdir(parents=True)
            made.append(path)
            for key, value in settings[ctrl].items():
                (path / key).write_text(str(value))
    except OSError as exc:
        for path in made:
            _remove_cgroup(path)
        if _cgroups_ok is None:
            _log.info(
                "sandbox cgroups unavailable (%s): process count and memory are "
                "limited per process by rlimits only",
                exc,
            )
        _cgroups_ok = False
        return []
    _cgroups_ok = True
    _live_cgroups.update(made)
    return made


@atexit.register
def _remove_live_cgroups() -> None:
    for path in list(_live_cgroups):
        _remove_cgroup(path)


@dataclass(frozen=True, slots=True)
class _Spawned:
    result: SandboxResult
    verdict: str | None


def _spawn(
    source: str,
    mode: Literal["program", "tests"],
    secret: bytes,
    timeout_s: float,
    cpu_s: int,
    memory_mb: int,
    max_procs: int,
    max_file_mb: int,
    max_disk_mb: int,
    output_limit: int,
    python_guard: bool,
    isolation: Isolation | Literal["auto"],
    entry_point: str = "",
) -> _Spawned:
    if (
        timeout_s <= 0 or cpu_s < 1 or memory_mb < 32 or max_procs < 1 or max_file_mb < 1
        or max_disk_mb < 1
    ):  # fmt: skip
        raise ValueError("sandbox limits must be positive (memory_mb >= 32)")
    if len(secret) > _MAX_SECRET:
        raise ValueError(f"sandbox: tests of {len(secret)} bytes (limit {_MAX_SECRET})")
    sweep_stale()
    tier: Isolation = detect_isolation() if isolation == "auto" else isolation
    namespaced = tier == "namespaces"
    unshare = [shutil.which("unshare") or "unshare", *_UNSHARE_ARGS[tier]] if tier != "none" else []
    mib = 1024 * 1024
    cgroups = _make_cgroups(max_procs, (memory_mb + max_disk_mb + 128) * mib)
    fds: list[int] = []

    def pipe() -> tuple[int, int]:
        r, w = os.pipe()
        fds.extend((r, w))
        return r, w

    try:
        with (
            tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-") as work,
            tempfile.TemporaryFile() as out,
            tempfile.TemporaryFile() as err,
        ):
            Path(work, "main.py").write_text(source, encoding="utf-8")
            status_r, status_w = pipe()
            alive_r, alive_w = pipe()
            secret_r, secret_w = pipe()
            verdict_r, verdict_w = pipe()
            if secret:
                fcntl.fcntl(secret_w, _F_SETPIPE_SZ, _MAX_SECRET)
                os.write(secret_w, secret)
            os.close(secret_w)
            fds.remove(secret_w)
            cfg = {
                "mode": mode,
                "source_path": str(Path(work, "main.py")),
                "workdir": work,
                "cpu_s": cpu_s,
                "memory_mb": memory_mb,
                "max_procs": max_procs,
                "max_file_mb": max_file_mb,
                "max_disk_mb": max_disk_mb,
                "guard": python_guard,
                "namespaced": namespaced,
                "cgroups": [str(p / "cgroup.procs") for p in cgroups],
                "entry_point": entry_point,
                "status_fd": status_w,
                "alive_fd": alive_r,
                "secret_fd": secret_r,
                "verdict_fd": verdict_w,
            }
            env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work, "TMPDIR": work}
            cmd = [*unshare, sys.executable, "-I", "-S", "-B", _CHILD, json.dumps(cfg)]
            child_fds = (status_w, alive_r, secret_r, verdict_w)
            # No preexec_fn (unsafe with threads): limits are set by the child itself.
            proc = subprocess.Popen(
                cmd,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=child_fds,
            )
            for fd in child_fds:
                os.close(fd)
                fds.remove(fd)
            try:
                timed_out = not _wait_unreaped(proc.pid, timeout_s)
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = proc.returncode
            kind, _, value = _read_nonblocking(status_r).partition(" ")
            with contextlib.suppress(ValueError):
                rc = -int(value) if kind == "signal" else int(value)
            verdict = _read_nonblocking(verdict_r) or None
            stdout, stderr = _read_capped(out, output_limit), _read_capped(err, output_limit)
    finally:
        for fd in fds:
            os.close(fd)
        for path in cgroups:
            _remove_cgroup(path)
            _live_cgroups.discard(path)
    reason = _killed_reason(rc, timed_out, stderr, timeout_s, cpu_s, memory_mb)
    return _Spawned(SandboxResult(rc, timed_out, stdout, stderr, reason, tier), verdict)


def _read_nonblocking(fd: int) -> str:
    """What a dead child left in a pipe ("" if nothing)."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 4096).decode("utf-8", "replace")
    except BlockingIOError:
        return ""


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
    max_disk_mb: int = 64,
) -> SandboxResult:
    """Run the Python program `source` contained (see the module docstring) and report how it
    ended. Never raises for anything the program does; blocks at most about `timeout_s`
    seconds (wall clock) plus process start-up and clean-up.

    Limits: `cpu_s` CPU seconds, `memory_mb` MiB of address space per process, `max_procs`
    processes (a pids cgroup where one can be made, else RLIMIT_NPROC, unenforced for root),
    `max_file_mb` MiB per written file, `max_disk_mb` MiB of scratch space in all (namespaces
    tier: the tmpfs), `output_limit` bytes kept of each of stdout and stderr.
    `python_guard=False` leaves out the Python guard (only to test what the OS enforces
    alone; never with isolation "none"). `isolation` forces a tier ("auto":
    `detect_isolation()`); a forced tier is not checked to work here.
    """
    return _spawn(
        source, "program", b"", timeout_s, cpu_s, memory_mb, max_procs, max_file_mb,
        max_disk_mb, output_limit, python_guard, isolation,
    ).result  # fmt: skip


@dataclass(frozen=True, slots=True)
class TestsResult:
    """The verdict of `run_tests_sandboxed`: `passed` iff the harness reported this run's
    one-time token; `detail` is the failure (None when passed); `sandbox` is how it ended."""

    passed: bool
    detail: str | None
    sandbox: SandboxResult


def run_tests_sandboxed(
    program: str,
    tests: str,
    entry_point: str,
    prompt: str = "",
    call_check: bool = True,
    timeout_s: float = 5.0,
    cpu_s: int = 5,
    memory_mb: int = 512,
    max_procs: int = 64,
    max_disk_mb: int = 64,
    isolation: Isolation | Literal["auto"] = "auto",
) -> TestsResult:
    """Run `tests` against the function `entry_point` that the untrusted `program` defines,
    with the verdict out of the program's reach (see `_sandbox_child`).

    The program runs in the candidate process; `prompt` (trusted: it may define helpers the
    tests use) then `tests` run in the harness process with `entry_point` bound to a proxy
    that calls into the candidate with plain data only; `check(entry_point)` is called after
    them when `call_check`. Passed iff they all return normally within the limits (as in
    `run_sandboxed`). Raises ValueError for bad limits or tests over 1 MiB.
    """
    token = secrets.token_hex(16)
    secret = _tests_secret(token, prompt, tests, entry_point, call_check)
    spawned = _spawn(
        program, "tests", secret, timeout_s, cpu_s, memory_mb, max_procs, 10, max_disk_mb,
        4096, True, isolation, entry_point,
    )  # fmt: skip
    return _tests_result(spawned.result, spawned.verdict or "", token, memory_mb)


def _tests_secret(token: str, prompt: str, tests: str, entry_point: str, call_check: bool) -> bytes:
    return json.dumps(
        {"token": token, "prompt": prompt, "tests": tests, "entry_point": entry_point,
         "call_check": call_check}
    ).encode()  # fmt: skip


def _tests_result(res: SandboxResult, verdict: str, token: str, memory_mb: int) -> TestsResult:
    """The verdict of a tests run: passed iff the harness reported this run's token."""
    if verdict == f"pass {token}":
        return TestsResult(True, None, res)
    if res.timed_out or not verdict.startswith("fail "):
        return TestsResult(False, res.killed_reason or "the harness ended without a verdict", res)
    detail = verdict[len("fail ") :]
    if detail.startswith("MemoryError"):
        detail = f"memory limit: {memory_mb} MB"
    return TestsResult(False, detail, res)
