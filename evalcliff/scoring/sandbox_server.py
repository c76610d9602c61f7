"""`SandboxServer`: many `run_tests_sandboxed` jobs through one sandboxed interpreter.

Each job gets, exactly as a lone run does, fresh user, pid, mount, network and IPC
namespaces, its own tmpfs, cgroups, rlimits, candidate and harness processes and one-time
token: the server side is `_sandbox_child` (mode "server"); the limits, verdict and cleanup
rules are `sandbox`'s. Only the start-up of `unshare` and an interpreter (~50 ms of CPU a
job) is shared.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Literal

from evalcliff.scoring.sandbox import (
    _CHILD,
    _F_SETPIPE_SZ,
    _MAX_SECRET,
    _PREFIX,
    _UNSHARE_ARGS,
    Isolation,
    SandboxResult,
    TestsResult,
    _killed_reason,
    _live_cgroups,
    _log,
    _make_cgroups,
    _remove_cgroup,
    _tests_result,
    _tests_secret,
    detect_isolation,
    run_tests_sandboxed,
    sweep_stale,
)

_SERVER_GRACE_S = 30.0  # beyond a job's own limit, before the server is deemed hung
_MAX_RESULT = 1024 * 1024  # bytes of one result message (outputs are capped far below)


class _ServerDown(Exception):
    """The tests server died, hung or broke the protocol."""


class SandboxServer:
    """Runs many `run_tests_sandboxed` jobs through one sandboxed interpreter.

    Starting `unshare` and a Python interpreter costs ~50 ms of CPU, several times what a
    small job's tests cost. In the namespaces tier the server starts once and each job gets,
    exactly as a lone run does, fresh user, pid, mount, network and IPC namespaces, its own
    tmpfs, cgroups, rlimits, candidate and harness processes and one-time token
    (`_sandbox_child`, mode "server"): no job sees or reaches another job's files or
    processes, and the shared pipes never reach model code. Below that tier each job is a
    lone `run_tests_sandboxed`. A server that dies or hangs is restarted and the job rerun
    once, then run alone. One job at a time (thread-safe); `close()` or `with` stops it.
    """

    def __init__(
        self, isolation: Isolation | Literal["auto"] = "auto", output_limit: int = 4096
    ) -> None:
        self._isolation = isolation
        self._output_limit = output_limit
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._fds: dict[str, int] = {}
        self._work: str | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_tests(
        self,
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
    ) -> TestsResult:
        """`run_tests_sandboxed` with the same arguments, limits and result."""
        tier = detect_isolation() if self._isolation == "auto" else self._isolation

        def alone() -> TestsResult:
            return run_tests_sandboxed(
                program, tests, entry_point, prompt, call_check, timeout_s, cpu_s, memory_mb,
                max_procs, max_disk_mb, tier,
            )  # fmt: skip

        if tier != "namespaces":
            return alone()
        if timeout_s <= 0 or cpu_s < 1 or memory_mb < 32 or max_procs < 1 or max_disk_mb < 1:
            raise ValueError("sandbox limits must be positive (memory_mb >= 32)")
        token = secrets.token_hex(16)
        secret = _tests_secret(token, prompt, tests, entry_point, call_check)
        if len(secret) > _MAX_SECRET:
            raise ValueError(f"sandbox: tests of {len(secret)} bytes (limit {_MAX_SECRET})")
        job = {
            "source": program, "entry_point": entry_point, "timeout_s": timeout_s,
            "cpu_s": cpu_s, "memory_mb": memory_mb, "max_procs": max_procs, "max_file_mb": 10,
            "max_disk_mb": max_disk_mb,
        }  # fmt: skip
        mib = 1024 * 1024
        with self._lock:
            for _attempt in range(2):
                cgroups = _make_cgroups(max_procs, (memory_mb + max_disk_mb + 128) * mib)
                try:
                    out = self._job(
                        {**job, "cgroups": [str(p / "cgroup.procs") for p in cgroups]}, secret
                    )
                except _ServerDown as exc:
                    _log.warning("sandbox tests server failed (%s); restarting it", exc)
                    self._stop()
                    continue
                finally:
                    for path in cgroups:
                        _remove_cgroup(path)
                        _live_cgroups.discard(path)
                kind, _, value = str(out.get("status", "")).partition(" ")
                rc = -int(value) if kind == "signal" else int(value or 0)
                timed_out = bool(out.get("timed_out"))
                stdout, stderr = str(out.get("stdout", "")), str(out.get("stderr", ""))
                reason = _killed_reason(rc, timed_out, stderr, timeout_s, cpu_s, memory_mb)
                res = SandboxResult(rc, timed_out, stdout, stderr, reason, "namespaces")
                return _tests_result(res, str(out.get("verdict", "")), token, memory_mb)
        return alone()

    def _job(self, job: dict[str, object], secret: bytes) -> dict[str, object]:
        """Send one job and its secret; its result (raises _ServerDown)."""
        if self._proc is None:
            self._start()
        timeout_s = float(job["timeout_s"])  # type: ignore[arg-type]
        try:
            _send_frame(self._fds["ctrl"], json.dumps(job).encode())
            _send_frame(self._fds["secret"], secret)
        except OSError as exc:
            raise _ServerDown(f"cannot send a job: {exc}") from None
        deadline = time.monotonic() + timeout_s + _SERVER_GRACE_S
        body = _recv_frame(self._fds["result"], deadline, _MAX_RESULT)
        try:
            msg = json.loads(body)
        except ValueError:
            raise _ServerDown("malformed result") from None
        if not (isinstance(msg, list) and len(msg) == 2 and msg[0] == "result"
                and isinstance(msg[1], dict)):  # fmt: skip
            raise _ServerDown("malformed result")
        return msg[1]

    def _start(self) -> None:
        sweep_stale()
        self._work = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")
        child: dict[str, int] = {}
        for name in ("ctrl", "secret", "result", "alive"):
            r, w = os.pipe()
            if name == "result":
                child[name], self._fds[name] = w, r
            else:
                child[name], self._fds[name] = r, w
        fcntl.fcntl(self._fds["secret"], _F_SETPIPE_SZ, _MAX_SECRET)
        cfg = {
            "mode": "server", "output_limit": self._output_limit,
            **{f"{k}_fd": v for k, v in child.items()},
        }  # fmt: skip
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": self._work,
               "TMPDIR": self._work}  # fmt: skip
        unshare = [shutil.which("unshare") or "unshare", *_UNSHARE_ARGS["namespaces"]]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        try:
            self._proc = subprocess.Popen(
                [*unshare, sys.executable, "-I", "-S", "-B", _CHILD, json.dumps(cfg)],
                cwd=self._work, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=self._log, start_new_session=True, pass_fds=tuple(child.values()),
            )  # fmt: skip
        finally:
            for fd in child.values():
                os.close(fd)

    def _stop(self) -> None:
        """Stop the server (closing its pipes ends it; SIGKILL if it lingers)."""
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = {}
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2.0)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def close(self) -> None:
        """Stop the server; a later job starts a new one."""
        with self._lock:
            self._stop()


def _send_frame(fd: int, data: bytes) -> None:
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _recv_frame(fd: int, deadline: float, limit: int) -> bytes:
    """One length-prefixed message from `fd` by `deadline` (raises _ServerDown)."""
    buf = b""
    need = 4
    size: int | None = None
    while len(buf) < need:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise _ServerDown("no result in time")
        chunk = os.read(fd, min(need - len(buf), 1 << 20))
        if not chunk:
            raise _ServerDown("the server exited")
        buf += chunk
        if size is None and len(buf) >= 4:
            (size,) = struct.unpack(">I", buf[:4])
            if size > limit:
                raise _ServerDown(f"result of {size} bytes")
            need = 4 + size
    return buf[4:]
