"""Child side of `evalcliff.scoring.sandbox`: runs inside the sandboxed process.

Executed as a script (`python -I -S -B _sandbox_child.py CONFIG_JSON`), never imported by
the parent. In order it:
1. (namespaces tier) binds the work dir over /tmp, /var/tmp and /dev/shm, remounts every
   other mount read-only, and enters a nested user namespace so that it holds no capability
   over those mounts any more (user code cannot remount them read-write);
2. (namespaces tier) forks: this process stays as pid 1 of the pid namespace, waits for the
   worker and reports its wait status on `status_fd` (pid 1 ignores signals it has no handler
   for, so the worker must not be pid 1); when pid 1 exits the kernel kills the namespace;
3. in the worker: sets the resource limits, installs the Python guard (a prelude that disables
   process, signal and socket functions, plus an audit hook), then executes `main.py`.

The guard is defence in depth against accidents and naive escapes, NOT a security boundary:
audit hooks and monkeypatches can be bypassed from Python. The boundary is what the kernel
enforces: namespaces, read-only mounts and resource limits.
"""

from __future__ import annotations

import builtins
import json
import os
import resource
import sys
from collections.abc import Callable
from typing import Any, NoReturn

SCRATCH = ("/var/tmp", "/dev/shm", "/tmp")
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
CLONE_NEWUSER = 0x10000000

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


def _libc_call(name: str, *args: Any) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
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


def isolate_filesystem(workdir: str) -> None:
    """Make the work dir the only writable place (seen as /tmp), then drop mount capabilities."""
    # Bind through an fd: the work dir's own path may be hidden by the first bind.
    fd = os.open(workdir, os.O_PATH | os.O_DIRECTORY)
    try:
        for target in SCRATCH:
            if os.path.isdir(target):
                try:
                    _libc_call(
                        "mount",
                        f"/proc/self/fd/{fd}".encode(),
                        target.encode(),
                        None,
                        MS_BIND,
                        None,
                    )
                except OSError:
                    if target == "/tmp":
                        raise
    finally:
        os.close(fd)
    os.chdir("/tmp")
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
    if os.WIFSIGNALED(status):
        msg, code = f"signal {os.WTERMSIG(status)}", 128 + os.WTERMSIG(status)
    else:
        msg, code = f"exit {os.waitstatus_to_exitcode(status)}", os.waitstatus_to_exitcode(status)
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


def main() -> None:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    with open(cfg["source_path"], encoding="utf-8") as f:
        source = f.read()
    if cfg["namespaced"]:
        isolate_filesystem(os.getcwd())
        sys.stdout.flush()
        worker = os.fork()
        if worker:
            supervise(worker, cfg["status_fd"])
        os.close(cfg["status_fd"])
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
