"""Processes the project owns: started detached, tracked by pid files, stopped gracefully.

Only pids recorded here are ever signalled, so `down` never touches anything the project did not
start.
"""
from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hellohome.errors import ServiceError


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 16_384))
        return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])


@dataclass
class ManagedProcess:
    name: str
    workdir: Path

    @property
    def pid_file(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The recorded pid if that process is still alive (and not a zombie)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, IndexError):
            return None
        return None if state == "Z" else pid

    def start(self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              user: str | None = None) -> int:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=cwd or self.workdir, env={**os.environ, **(env or {})}, start_new_session=True,
                user=user, group=user,
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def wait_ready(self, check: Callable[[], bool], check_name: str, timeout_s: float) -> float:
        """Poll `check` until it returns True; fail with the log tail if the process dies or time runs out."""
        started = time.monotonic()
        last_error = "not ready"
        while time.monotonic() - started < timeout_s:
            if self.pid() is None:
                raise ServiceError(self.name, check_name, "process exited during start", tail(self.log_file))
            try:
                if check():
                    return time.monotonic() - started
            except Exception as exc:  # the check's own failure is the reason we keep waiting
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        raise ServiceError(self.name, check_name, f"timed out after {timeout_s:.0f}s ({last_error})", tail(self.log_file))

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the process group, then SIGKILL after `timeout_s`. Returns True if it was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            _reap(pid)
            time.sleep(0.2)
        if self.pid() is not None:
            _signal_group(pid, signal.SIGKILL)
            time.sleep(0.5)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def service_user(name: str, owned: list[Path]) -> str | None:
    """For services that refuse to run as root: a system user of their own owning `owned`.
    Returns None (run as the current user) when not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=True, capture_output=True)
    for path in owned:
        subprocess.run(["chown", "-R", f"{name}:{name}", str(path)], check=True)
    return name


def run_once(service: str, check: str, argv: list[str], log_file: Path, timeout_s: float = 120,
             env: dict[str, str] | None = None) -> None:
    """Run a one-shot step of a service (format storage, install a plugin); fail with its output."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        try:
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    timeout=timeout_s, env={**os.environ, **(env or {})})
        except subprocess.TimeoutExpired:
            raise ServiceError(service, check, f"timed out after {timeout_s:.0f}s", tail(log_file)) from None
    if result.returncode != 0:
        raise ServiceError(service, check, f"exit {result.returncode}", tail(log_file))


def pipe(first: list[str], second: list[str], log_file: Path) -> tuple[int, int]:
    """`first | second`, both writing their diagnostics to log_file; returns both exit codes."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        producer = subprocess.Popen(first, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        consumer = subprocess.run(second, stdin=producer.stdout, stdout=log, stderr=log)
        producer.stdout.close()
        return producer.wait(), consumer.returncode


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(pid: int) -> None:
    """Collect the exit status when we are the parent, so the pid does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
