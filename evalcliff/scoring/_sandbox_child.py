"""Child side of `evalcliff.scoring.sandbox`: runs inside the sandboxed process.

Executed as a script (`python -I -S -B _sandbox_child.py CONFIG_JSON`), never imported by
the parent. The config holds no secret (argv is readable by every process). In order it:
1. joins the sandbox's cgroups (pids, memory) when the parent made them;
2. (namespaces tier) mounts a size-limited tmpfs on /tmp (also bound on /var/tmp and
   /dev/shm), remounts every other mount read-only, and enters a nested user namespace so
   that it holds no capability over those mounts any more;
3. forks and stays as supervisor (pid 1 of the pid namespace in that tier): it kills the
   whole sandbox when the parent dies (EOF on `alive_fd`) and reports the worker's status.

Mode "program" runs `main.py` in the worker under the resource limits and the Python guard.

Mode "tests" separates the model's code from the verdict. The worker is the *candidate
process*: it runs prompt + completion and then answers calls to the entry point, one JSON
message per call, with type-tagged plain data (`encode`). The supervisor is the *harness*: it
forked the candidate before it read anything secret, makes itself undumpable (so the
candidate, in a nested user namespace, can neither ptrace it nor open its /proc files), then
reads the tests and a one-time token from `secret_fd`, runs the tests with the entry point
replaced by a proxy, and writes "pass TOKEN" to `verdict_fd` only if they return normally.
The proxy's results are rebuilt by `decode` from exact builtin types only, so no object of
the candidate's (an `__eq__` that is always True, a subclass) ever reaches a test. The tests,
the token and the verdict pipe never exist in the candidate's memory, files or fds.

Mode "server" runs many "tests" jobs, one after another, without starting an interpreter per
job. The server itself runs no model code and reads no job: for each job it forks a *job
runner*, which reads the job (the program; not secret) from the control pipe, enters a fresh
user namespace (root mapped as `unshare --map-root-user` does) owning fresh mount, network and
IPC namespaces, and forks the job's harness as pid 1 of a fresh pid namespace. The harness
mounts its own /proc, joins the job's cgroups and then does exactly what mode "tests" does
(tmpfs, read-only mounts, nested user namespace, candidate fork, verdict). The runner relays
the job's secret (read from the secret pipe only after the harness was forked, so neither the
harness's nor the candidate's memory holds it before the candidate exists), enforces the
wall-clock limit and evalcliff's death (end of file on the alive pipe, which the job never
holds) by SIGKILL to the harness (the kernel then kills its whole pid namespace and waits for
it) and writes the result; the job's outputs are anonymous files (memfd), with no path. So
each job gets what one `unshare --user --map-root-user --net --pid --ipc --fork --mount-proc`
gives a lone "tests" run: no job sees or reaches another job's files, processes, IPC objects
or network, and the shared pipes never reach a job's harness or candidate.

The guard is defence in depth against accidents and naive escapes, NOT a security boundary:
audit hooks and monkeypatches can be bypassed from Python. The boundary is what the kernel
enforces: namespaces, read-only mounts, cgroups and resource limits.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import resource
import select
import signal
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

SCRATCH = ("/var/tmp", "/dev/shm", "/tmp")
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_REC, MS_PRIVATE = 16384, 1 << 18
F_SETPIPE_SZ = 1031
MAX_SECRET = 1024 * 1024  # bytes of one job's tests + prompt (one pipe buffer)
NO_MORE_JOBS = 3  # a job runner's exit code when the control pipe is closed
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 32 * 1024 * 1024  # bytes of one candidate reply
MAX_DEPTH = 200  # nesting of one encoded value

# fmt: off
_BLOCKED_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill",
    "socket.__new__", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo", "resource.setrlimit", "resource.prlimit",
    "os.symlink", "os.link",
})
_BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters"})
# Events whose first argument is a path that must lie inside the work dir.
_PATH_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
    "os.chflags", "shutil.rmtree",
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_OS_DENIED = (
    "fork", "forkpty", "system", "popen", "kill", "killpg", "execl", "execle", "execlp",
    "execlpe", "execv", "execve", "execvp", "execvpe", "spawnl", "spawnle", "spawnlp",
    "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp",
)
_SUBPROCESS_DENIED = (
    "Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput",
)
_SOCKET_DENIED = ("socket", "socketpair", "create_connection", "create_server", "fromfd")
# fmt: on


_LIBC: Any = None


def _libc_call(name: str, *args: Any) -> None:
    global _LIBC
    if _LIBC is None:
        import ctypes

        _LIBC = ctypes.CDLL(None, use_errno=True)
    if getattr(_LIBC, name)(*args) != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args[:2]}: {os.strerror(err)}")


def _mount_points() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        fields = [line.split() for line in f]
    points = [x[4].encode().decode("unicode_escape") for x in fields if len(x) > 4]
    return list(dict.fromkeys(points))


def _locked_flags(path: str) -> int:
    """The per-mount flags a bind remount must keep (they are locked in a user namespace)."""
    f = os.statvfs(path).f_flag
    flags = 0
    for st, ms in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if f & st:
            flags |= ms
    if not f & (os.ST_NOATIME | os.ST_RELATIME):
        flags |= MS_STRICTATIME
    return flags


def isolate_filesystem(disk_mb: int) -> None:
    """Make a `disk_mb` MiB tmpfs the only writable place (/tmp, /var/tmp, /dev/shm), every
    other mount read-only, then drop mount capabilities (nested user namespace)."""
    opts = f"size={disk_mb}m,mode=1777".encode()
    _libc_call("mount", b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, opts)
    for target in SCRATCH[:-1]:
        if os.path.isdir(target):
            # If this fails the place stays as it was, and is made read-only below.
            with contextlib.suppress(OSError):
                _libc_call("mount", b"/tmp", target.encode(), None, MS_BIND, None)
    os.chdir("/tmp")
    if os.environ.get("HOME") != "/tmp" or os.environ.get("TMPDIR") != "/tmp":
        os.environ.update(HOME="/tmp", TMPDIR="/tmp")
    for point in _mount_points():
        if point in SCRATCH or point.startswith(tuple(s + "/" for s in SCRATCH)):
            continue
        try:
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(point)
            _libc_call("mount", None, point.encode(), None, flags, None)
        except OSError:
            if point == "/":
                raise
    _libc_call("unshare", CLONE_NEWUSER)


def join_cgroups(procs_files: list[str]) -> None:
    """Move this process (and so everything it forks) into the sandbox's cgroups."""
    for path in procs_files:
        with open(path, "w", encoding="ascii") as f:
            f.write(str(os.getpid()))


def watch_parent(alive_fd: int, namespaced: bool) -> None:
    """Kill the sandbox when the parent dies: it holds the only write end of `alive_fd`."""

    def wait_for_eof() -> None:
        try:
            while os.read(alive_fd, 64):
                pass
        except OSError:
            pass
        if not namespaced:  # pid 1 exiting kills the pid namespace; otherwise the group
            os.killpg(0, signal.SIGKILL)
        os._exit(137)

    threading.Thread(target=wait_for_eof, daemon=True).start()


def exit_status(status: int) -> tuple[str, int]:
    """A wait status as the status-pipe message and a shell-style exit code."""
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}", 128 + os.WTERMSIG(status)
    code = os.waitstatus_to_exitcode(status)
    return f"exit {code}", code


def supervise(worker: int, status_fd: int) -> NoReturn:
    """Reap children until the worker exits; report its status; exit (killing the pid ns)."""
    status = 0
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid == worker:
            break
    msg, code = exit_status(status)
    try:
        os.write(status_fd, msg.encode())
    finally:
        os._exit(code & 0xFF)


def set_limits(cfg: dict[str, Any]) -> None:
    """Lower soft and hard limits (user code cannot raise a hard limit back)."""
    mib = 1024 * 1024

    def lower(res: int, soft: int, hard: int) -> None:
        cur_hard = resource.getrlimit(res)[1]
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
        resource.setrlimit(res, (min(soft, hard), hard))

    lower(resource.RLIMIT_CORE, 0, 0)
    lower(resource.RLIMIT_FSIZE, cfg["max_file_mb"] * mib, cfg["max_file_mb"] * mib)
    lower(resource.RLIMIT_NOFILE, 256, 256)
    lower(resource.RLIMIT_NPROC, cfg["max_procs"], cfg["max_procs"])
    lower(resource.RLIMIT_AS, cfg["memory_mb"] * mib, cfg["memory_mb"] * mib)
    lower(resource.RLIMIT_CPU, cfg["cpu_s"], cfg["cpu_s"] + 1)


def _denied(name: str) -> Callable[..., NoReturn]:
    def denied(*args: object, **kwargs: object) -> NoReturn:
        raise PermissionError(f"sandbox: {name} is disabled")

    return denied


def install_prelude() -> None:
    """Replace process, signal and socket entry points with functions raising PermissionError."""
    import socket
    import subprocess

    for name in _OS_DENIED:
        if hasattr(os, name):
            setattr(os, name, _denied(f"os.{name}"))
    for name in _SUBPROCESS_DENIED:
        setattr(subprocess, name, _denied(f"subprocess.{name}"))
    subprocess._posixsubprocess = None  # type: ignore[attr-defined]
    for name in _SOCKET_DENIED:
        setattr(socket, name, _denied(f"socket.{name}"))
    for mod in [m for m in sys.modules if m.split(".")[0] in _BLOCKED_IMPORTS]:
        del sys.modules[mod]


def install_audit_hook(write_roots: tuple[str, ...]) -> None:
    """Deny (PermissionError) blocked events, writes outside `write_roots`, other pids' /proc."""
    own_pid = str(os.getpid())

    def resolve(path: object) -> str | None:
        if not isinstance(path, str | bytes | os.PathLike):
            return None  # an fd: it was checked when it was opened
        return os.path.normpath(os.path.join(os.getcwd(), os.fsdecode(path)))

    def writable(path: object) -> bool:
        p = resolve(path)
        return (
            p is None
            or p == "/dev/null"
            or any(p == r or p.startswith(r + "/") for r in write_roots)
        )

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in _BLOCKED_EVENTS or event.startswith("ctypes."):
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "import" and args[0].split(".")[0] in _BLOCKED_IMPORTS:
            raise PermissionError(f"sandbox: importing {args[0]} is not allowed")
        if event == "open":
            p = resolve(args[0])
            parts = p.split("/") if p else []
            if len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and parts[2] != own_pid:
                raise PermissionError(f"sandbox: reading {p} is not allowed")
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            if flags & _WRITE_FLAGS and not writable(args[0]):
                raise PermissionError(f"sandbox: writing {p} is not allowed")
        elif (event in _PATH_EVENTS and not writable(args[0])) or (
            event == "os.rename" and not (writable(args[0]) and writable(args[1]))
        ):
            raise PermissionError(f"sandbox: {event} outside the work dir is not allowed")

    sys.addaudithook(hook)


# --- tests mode: the candidate process and the harness ------------------------------------


class ProtocolError(Exception):
    """The candidate process sent something that is not a well-formed message."""


def encode(value: Any, depth: int = 0) -> list[Any]:
    """Plain data as type-tagged JSON-able lists; raises TypeError for anything else.

    Exact types only (`type(x) is int`): a subclass could carry its own `__eq__`.
    """
    if depth > MAX_DEPTH:
        raise TypeError("value is nested too deeply")
    t = type(value)
    if value is None:
        return ["n"]
    if t is bool:
        return ["b", value]
    if t is int:
        return ["i", hex(value)]
    if t is float:
        return ["f", value.hex()]
    if t is complex:
        return ["c", value.real.hex(), value.imag.hex()]
    if t is str:
        return ["s", value]
    if t is bytes:
        return ["y", value.hex()]
    tags: dict[type, str] = {list: "l", tuple: "t", set: "S", frozenset: "F"}
    if t in tags:
        return [tags[t], [encode(v, depth + 1) for v in value]]
    if t is dict:
        items = value.items()
        return ["d", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in items]]
    raise TypeError(
        f"sandbox: {t.__name__} is not plain data (None, bool, int, float, "
        "complex, str, bytes, list, tuple, dict, set, frozenset)"
    )


def decode(node: object, depth: int = 0) -> Any:
    """The inverse of `encode`, trusting nothing: builds exact builtin types or raises."""
    if depth > MAX_DEPTH or type(node) is not list or not node or type(node[0]) is not str:
        raise ProtocolError("malformed value")
    tag, rest = node[0], node[1:]
    simple: dict[str, Callable[..., Any]] = {
        "b": lambda v: v if type(v) is bool else _bad(),
        "i": lambda v: int(v, 16) if type(v) is str else _bad(),
        "f": lambda v: float.fromhex(v) if type(v) is str else _bad(),
        "s": lambda v: v if type(v) is str else _bad(),
        "y": lambda v: bytes.fromhex(v) if type(v) is str else _bad(),
    }
    if tag == "n" and not rest:
        return None
    if tag in simple and len(rest) == 1:
        return simple[tag](rest[0])
    if tag == "c" and len(rest) == 2 and all(type(v) is str for v in rest):
        return complex(float.fromhex(rest[0]), float.fromhex(rest[1]))
    if len(rest) != 1 or type(rest[0]) is not list:
        raise ProtocolError("malformed value")
    if tag == "d":
        pairs = rest[0]
        if not all(type(p) is list and len(p) == 2 for p in pairs):
            raise ProtocolError("malformed dict")
        return {decode(k, depth + 1): decode(v, depth + 1) for k, v in pairs}
    builders: dict[str, Callable[..., Any]] = {"l": list, "t": tuple, "S": set, "F": frozenset}
    if tag in builders:
        return builders[tag](decode(v, depth + 1) for v in rest[0])
    raise ProtocolError(f"unknown tag {tag!r}")


def _bad() -> NoReturn:
    raise ProtocolError("malformed value")


def send(fd: int, message: list[Any]) -> None:
    data = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def recv(fd: int, limit: int = MAX_MESSAGE) -> list[Any] | None:
    """One message, or None at end of file (the other side is gone)."""

    def read_exactly(n: int) -> bytes | None:
        chunks, left = [], n
        while left:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    head = read_exactly(4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > limit:
        raise ProtocolError(f"message of {size} bytes (limit {limit})")
    body = read_exactly(size)
    if body is None:
        return None
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if type(message) is not list or not message or type(message[0]) is not str:
        raise ProtocolError("malformed message")
    return message


def _close_all_but(keep: set[int]) -> None:
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def run_candidate(cfg: dict[str, Any], source: str, req_r: int, resp_w: int) -> NoReturn:
    """The candidate process: run the model's program, then serve calls to the entry point."""
    _close_all_but({req_r, resp_w})
    # Namespaces tier: this process is in the nested user namespace that
    # `isolate_filesystem` entered, so it holds no capability in the one the harness's
    # memory belongs to: with the harness undumpable, no ptrace, /proc/1/mem or /proc/1/fd.
    filename = os.path.join(os.getcwd(), "main.py")
    roots = SCRATCH if cfg["namespaced"] else (os.getcwd(), cfg["workdir"])
    if cfg["guard"]:
        install_prelude()
    set_limits(cfg)
    if cfg["guard"]:
        install_audit_hook(roots)
    sys.argv = [filename]
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": filename}
    namespace["__builtins__"] = builtins
    try:
        exec(compile(source, filename, "exec", dont_inherit=True), namespace)
        fn = namespace[cfg["entry_point"]]
        send(resp_w, ["ready"])
        while (msg := recv(req_r)) is not None:
            try:
                result = ["ok", encode(fn(*decode(msg[1]), **decode(msg[2])))]
            except BaseException as exc:  # noqa: BLE001 - every failure is reported
                result = ["raise", type(exc).__name__, str(exc)[:500]]
            send(resp_w, result)
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exc()
        send(resp_w, ["raise", type(exc).__name__, str(exc)[:500]])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)


def _rebuild_exception(name: object, message: object) -> Exception:
    """A fresh builtin exception named like the candidate's (only its name and text cross)."""
    cls = getattr(builtins, name, None) if isinstance(name, str) else None
    text = message if isinstance(message, str) else ""
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(text) if text else cls()
        except Exception:  # noqa: BLE001, S110 - e.g. UnicodeDecodeError needs 5 arguments
            pass
    return RuntimeError(f"{name}: {text}" if text else str(name))


class CandidateGone(Exception):
    """The candidate process ended (or broke the protocol) before the tests finished."""


def _describe_end(pid: int, cfg: dict[str, Any]) -> str:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return f"CPU limit: {cfg['cpu_s']} s"
        return f"killed by {signal.Signals(sig).name}"
    code = os.waitstatus_to_exitcode(status)
    return "exited 0 before the tests finished" if code == 0 else f"exit code {code}"


def run_harness(cfg: dict[str, Any], candidate: int, req_w: int, resp_r: int) -> str:
    """Run the tests against the candidate process; the verdict line for `verdict_fd`."""
    payload = b""
    while chunk := os.read(cfg["secret_fd"], 1 << 16):
        payload += chunk
    os.close(cfg["secret_fd"])
    secret = json.loads(payload)

    def reply() -> list[Any]:
        try:
            msg = recv(resp_r)
        except ProtocolError as exc:
            os.kill(candidate, signal.SIGKILL)
            raise CandidateGone(f"candidate broke the protocol: {exc}") from None
        if msg is None:
            raise CandidateGone(_describe_end(candidate, cfg))
        return msg

    def proxy(*args: object, **kwargs: object) -> Any:
        send(req_w, ["call", encode(list(args)), encode(dict(kwargs))])
        msg = reply()
        if msg[0] == "ok" and len(msg) == 2:
            try:
                return decode(msg[1])
            except (ProtocolError, ValueError, TypeError, OverflowError) as exc:
                raise CandidateGone(f"candidate returned malformed data: {exc}") from None
        if msg[0] == "raise" and len(msg) == 3:
            raise _rebuild_exception(msg[1], msg[2])
        raise CandidateGone("candidate broke the protocol")

    try:
        first = reply()
        if first[0] == "raise" and len(first) == 3:
            raise _rebuild_exception(first[1], first[2])
        if first != ["ready"]:
            raise CandidateGone("candidate broke the protocol")
        namespace: dict[str, Any] = {"__name__": "__evalcliff_tests__"}
        try:
            prompt = compile(secret["prompt"], "<prompt>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            prompt = None
        if prompt is not None:
            exec(prompt, namespace)  # the item's own helpers (e.g. HumanEval's `poly`)
        namespace[secret["entry_point"]] = proxy
        exec(compile(secret["tests"], "<tests>", "exec", dont_inherit=True), namespace)
        if secret["call_check"]:
            namespace["check"](proxy)
    except CandidateGone as exc:
        return f"fail {exc}"
    except BaseException as exc:  # noqa: BLE001 - any failure of the tests is a fail
        return f"fail {type(exc).__name__}: {exc}" if str(exc) else f"fail {type(exc).__name__}"
    return f"pass {secret['token']}"


def tests_mode(cfg: dict[str, Any], source: str) -> NoReturn:
    """Fork the candidate before anything secret is read, then be the harness."""
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    sys.stdout.flush()
    candidate = os.fork()
    if candidate == 0:
        run_candidate(cfg, source, req_r, resp_w)
    os.close(req_r)
    os.close(resp_w)
    _libc_call("prctl", PR_SET_DUMPABLE, 0, 0, 0, 0)
    if cfg["alive_fd"] is not None:  # None: a server's job runner watches it instead
        watch_parent(cfg["alive_fd"], cfg["namespaced"])
    set_limits({**cfg, "max_procs": 1 << 20})
    try:
        verdict = run_harness(cfg, candidate, req_w, resp_r)
    except BaseException as exc:  # noqa: BLE001
        verdict = f"fail harness error: {type(exc).__name__}: {exc}"
    sys.stdout.flush()
    os.write(cfg["verdict_fd"], " ".join(verdict.split())[:1000].encode("utf-8", "replace"))
    with contextlib.suppress(OSError):
        os.kill(candidate, signal.SIGKILL)
    os._exit(0)


# --- server mode: many tests jobs, each in fresh namespaces --------------------------------


def read_capped(fd: int, limit: int) -> str:
    """A file's text from its start, at most `limit` bytes: head and tail kept (as the
    parent's `_read_capped`)."""
    size = os.lseek(fd, 0, os.SEEK_END)

    def read_at(offset: int, n: int) -> bytes:
        chunks = []
        while n > 0 and (chunk := os.pread(fd, min(n, 1 << 20), offset)):
            chunks.append(chunk)
            offset += len(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    if size <= limit:
        return read_at(0, size).decode("utf-8", "replace")
    head, tail = read_at(0, limit // 2), read_at(size - limit // 2, limit // 2)
    cut = f"\n...[{size - len(head) - len(tail)} bytes cut]...\n"
    return head.decode("utf-8", "replace") + cut + tail.decode("utf-8", "replace")


def recv_bytes(fd: int, limit: int) -> bytes | None:
    """One length-prefixed message's bytes, or None at end of file."""
    head = b""
    while len(head) < 4:
        chunk = os.read(fd, 4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">I", head)
    if size > limit:
        raise ProtocolError(f"message of {size} bytes (limit {limit})")
    body = b""
    while len(body) < size:
        chunk = os.read(fd, min(size - len(body), 1 << 20))
        if not chunk:
            return None
        body += chunk
    return body


def enter_job_namespaces() -> None:
    """Fresh user (our uid mapped to root), mount, network and IPC namespaces; the next child
    is pid 1 of a fresh pid namespace. What `unshare --user --map-root-user --net --pid
    --ipc --fork` does for a lone run."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID
    _libc_call("unshare", flags)
    for path, text in (
        ("/proc/self/setgroups", "deny"),
        ("/proc/self/uid_map", f"0 {uid} 1"),
        ("/proc/self/gid_map", f"0 {gid} 1"),
    ):
        fd = os.open(path, os.O_WRONLY)
        try:
            if os.write(fd, text.encode()) != len(text):
                raise OSError(f"short write to {path}")
        finally:
            os.close(fd)


def job_harness(job: dict[str, Any], secret_r: int, verdict_w: int) -> NoReturn:
    """Pid 1 of the job's pid namespace: its own /proc, its cgroups, then mode "tests".

    It holds no alive pipe (its runner watches that, saving a thread a job) and dies with its
    runner (parent-death signal; were the runner gone first, the server exits and the kernel
    kills its whole pid namespace, this one included)."""
    try:
        _libc_call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _close_all_but({secret_r, verdict_w})
        _libc_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
        _libc_call("mount", b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        join_cgroups(job["cgroups"])
        isolate_filesystem(job["max_disk_mb"])
        with open("/tmp/main.py", "w", encoding="utf-8") as f:
            f.write(job["source"])
        cfg = {
            **job,
            "namespaced": True,
            "guard": True,
            "secret_fd": secret_r,
            "verdict_fd": verdict_w,
            "alive_fd": None,
        }
    except BaseException:  # noqa: BLE001 - reported as a run without a verdict
        traceback.print_exc()
        os._exit(1)
    tests_mode(cfg, job["source"])


def run_job(cfg: dict[str, Any]) -> NoReturn:
    """A job runner: read one job, run its harness in fresh namespaces within its wall-clock
    limit, write the result. Exits NO_MORE_JOBS when the control pipe is closed."""
    raw = recv_bytes(cfg["ctrl_fd"], MAX_MESSAGE)
    if raw is None:
        os._exit(NO_MORE_JOBS)
    job = json.loads(raw)
    secret_r, secret_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    import fcntl

    fcntl.fcntl(secret_w, F_SETPIPE_SZ, MAX_SECRET)
    # Anonymous files: no path, so no job can open another's output; pages are charged to
    # the job's memory cgroup (its processes write them) and RLIMIT_FSIZE caps them.
    outputs = [os.memfd_create("out"), os.memfd_create("err")]
    enter_job_namespaces()
    sys.stdout.flush()
    sys.stderr.flush()
    harness = os.fork()
    if harness == 0:
        os.dup2(outputs[0], 1)
        os.dup2(outputs[1], 2)
        job_harness(job, secret_r, verdict_w)
    os.close(secret_r)
    os.close(verdict_w)
    secret = recv_bytes(cfg["secret_fd"], MAX_SECRET)
    with contextlib.suppress(OSError):  # a harness that died early leaves it unread
        os.write(secret_w, secret or b"")
    os.close(secret_w)
    pidfd = os.pidfd_open(harness)
    # The alive pipe is readable only at end of file: evalcliff is gone.
    ready = select.select([pidfd, cfg["alive_fd"]], [], [], float(job["timeout_s"]))[0]
    timed_out = not ready
    if ready != [pidfd]:
        os.kill(harness, signal.SIGKILL)  # pid 1: the kernel kills its pid namespace
    if cfg["alive_fd"] in ready:
        os._exit(137)
    _, status = os.waitpid(harness, 0)
    os.set_blocking(verdict_r, False)
    try:
        verdict = os.read(verdict_r, 4096).decode("utf-8", "replace")
    except BlockingIOError:
        verdict = ""
    limit = int(cfg["output_limit"])
    result = {
        "status": exit_status(status)[0],
        "timed_out": timed_out,
        "verdict": verdict,
        "stdout": read_capped(outputs[0], limit),
        "stderr": read_capped(outputs[1], limit),
    }
    send(cfg["result_fd"], ["result", result])
    os._exit(0)


def serve(cfg: dict[str, Any]) -> NoReturn:
    """Mode "server": a job runner per job, one at a time, until the control pipe closes."""
    _close_all_but({cfg["ctrl_fd"], cfg["secret_fd"], cfg["result_fd"], cfg["alive_fd"]})
    # What every job imports, imported once here (each job's processes are forks of this).
    import ctypes
    import encodings.unicode_escape  # noqa: F401 - for _mount_points
    import fcntl  # noqa: F401
    import socket  # noqa: F401
    import subprocess  # noqa: F401

    os.environ.update(HOME="/tmp", TMPDIR="/tmp")  # each job's, set once (isolate_filesystem)

    global _LIBC
    _LIBC = ctypes.CDLL(None, use_errno=True)
    import gc

    gc.freeze()  # forks share these pages: no collection should touch them
    while True:
        select.select([cfg["ctrl_fd"]], [], [])  # a job, or end of file
        sys.stdout.flush()
        runner = os.fork()
        if runner == 0:
            try:
                run_job(cfg)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(1)
        while True:  # as pid 1, also reap orphans
            pid, status = os.wait()
            if pid == runner:
                break
        code = os.waitstatus_to_exitcode(status)
        if code != 0:  # NO_MORE_JOBS, or a broken runner: the parent sees end of file
            os._exit(0 if code == NO_MORE_JOBS else 1)


def main() -> None:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    if cfg["mode"] == "server":
        serve(cfg)
    join_cgroups(cfg["cgroups"])
    with open(cfg["source_path"], encoding="utf-8") as f:
        source = f.read()
    if cfg["namespaced"]:
        isolate_filesystem(cfg["max_disk_mb"])
        with open("/tmp/main.py", "w", encoding="utf-8") as f:
            f.write(source)
    if cfg["mode"] == "tests":
        tests_mode(cfg, source)
    sys.stdout.flush()
    worker = os.fork()
    if worker:
        watch_parent(cfg["alive_fd"], cfg["namespaced"])
        supervise(worker, cfg["status_fd"])
    _close_all_but(set())
    filename = os.path.join(os.getcwd(), "main.py")
    roots = SCRATCH if cfg["namespaced"] else (os.getcwd(), cfg["workdir"])
    if cfg["guard"]:
        install_prelude()
    set_limits(cfg)
    if cfg["guard"]:
        install_audit_hook(roots)
    sys.argv = [filename]
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, {"__name__": "__main__", "__file__": filename, "__builtins__": builtins})


if __name__ == "__main__":
    main()
