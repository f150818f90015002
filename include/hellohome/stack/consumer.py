"""A long-running project process (a Kafka consumer with a /metrics port) as a managed local
service: the indexer and the enricher are two of these."""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import requests

from hellohome.config import Settings
from hellohome.stack.process import ManagedProcess


@dataclass(frozen=True)
class ConsumerService:
    name: str
    module: str  # python -m <module>
    port: Callable[[Settings], int]
    enabled: Callable[[Settings], bool] = lambda settings: True

    def process(self, settings: Settings) -> ManagedProcess:
        return ManagedProcess(self.name, settings.stack_dir / self.name)

    def ping(self, settings: Settings) -> bool:
        return requests.get(f"http://127.0.0.1:{self.port(settings)}/metrics", timeout=2).status_code == 200

    def is_up(self, settings: Settings) -> bool:
        return self.process(settings).answers(lambda: self.ping(settings))

    def start(self, settings: Settings) -> float:
        if not self.enabled(settings) or self.is_up(settings):
            return 0.0
        proc = self.process(settings)
        proc.start([sys.executable, "-m", self.module, "--metrics-port", str(self.port(settings))], cwd=settings.home)
        return proc.wait_ready(lambda: self.ping(settings), "GET /metrics", settings.stack_start_timeout_s)

    def stop(self, settings: Settings) -> bool:
        return self.process(settings).stop(timeout_s=60)

    def status(self, settings: Settings) -> dict:
        return self.process(settings).status(self.port(settings), lambda: self.ping(settings))
