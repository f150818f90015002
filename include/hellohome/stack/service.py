"""One shape for every local service: name, port, start, stop, health, status.

`ProcessService` is a process the project starts itself and tracks by a pid file (MariaDB, Kafka,
Connect, OpenSearch, S3, Prometheus, Redis): each component module supplies only what differs,
its readiness check and how to launch it. `SupervisedService` (stack/supervisor.py) is a project
process run under supervisord, restarted with capped backoff when it exits unexpectedly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.stack.process import ManagedProcess, tail


class Service(Protocol):
    name: str

    def port(self, settings: Settings) -> int: ...
    def start(self, settings: Settings) -> float: ...  # seconds to ready; 0.0 when it was already up
    def stop(self, settings: Settings) -> bool: ...  # True when it was running
    def health(self, settings: Settings) -> bool: ...  # running and passing its readiness check
    def pid(self, settings: Settings) -> int | None: ...
    def status(self, settings: Settings) -> dict: ...  # service, pid, port, healthy, log (+ restarts)
    def log(self, settings: Settings) -> Path: ...


def metrics_endpoint(port_field: str) -> tuple[Callable[[Settings], int], Callable[[Settings], bool]]:
    """(port, readiness check) of a process whose /metrics on the port in settings field `port_field`
    answering means ready: the consumers and the exporters."""
    def port(settings: Settings) -> int:
        return getattr(settings, port_field)

    def ping(settings: Settings) -> bool:
        return requests.get(f"http://127.0.0.1:{port(settings)}/metrics", timeout=2).status_code == 200

    return port, ping


def answers(ping: Callable[[], bool]) -> bool:
    """A readiness check that fails on any error (a client library's error while the service is down
    or booting is a 'no')."""
    try:
        return bool(ping())
    except Exception:
        return False


@dataclass(frozen=True)
class ProcessService:
    name: str
    port: Callable[[Settings], int]
    ping: Callable[[Settings], bool]  # the readiness check; may raise while not ready
    check: str  # what the readiness check does, for messages
    launch: Callable[[Settings, ManagedProcess], None]  # prepare and start the process
    after_start: Callable[[Settings], None] | None = None  # idempotent set-up once ready (users, buckets)
    log_file: Callable[[Settings], Path] | None = None  # where the service logs, if not its stdout
    errors_in_log_file: bool = False  # a failed start is explained there, not on stdout (mariadbd)
    workdir: Callable[[Settings], Path] | None = None  # default: <stack_dir>/<name>
    stop_timeout_s: float = 30.0

    def process(self, settings: Settings) -> ManagedProcess:
        return ManagedProcess(self.name, self.workdir(settings) if self.workdir else settings.stack_dir / self.name)

    def pid(self, settings: Settings) -> int | None:
        return self.process(settings).pid()

    def health(self, settings: Settings) -> bool:
        return self.pid(settings) is not None and answers(lambda: self.ping(settings))

    def log(self, settings: Settings) -> Path:
        return self.log_file(settings) if self.log_file else self.process(settings).log_file

    def start(self, settings: Settings) -> float:
        took = 0.0
        if not self.health(settings):
            proc = self.process(settings)
            self.launch(settings, proc)
            try:
                took = proc.wait_ready(lambda: self.ping(settings), self.check, settings.stack_start_timeout_s)
            except ServiceError as exc:
                if not self.errors_in_log_file:
                    raise
                raise ServiceError(self.name, exc.check, exc.detail, tail(self.log(settings))) from None
        if self.after_start is not None:
            self.after_start(settings)
        return took

    def stop(self, settings: Settings) -> bool:
        return self.process(settings).stop(timeout_s=self.stop_timeout_s)

    def status(self, settings: Settings) -> dict:
        return {"service": self.name, "pid": self.pid(settings), "port": self.port(settings),
                "healthy": self.health(settings), "log": str(self.log(settings))}
