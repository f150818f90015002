"""Redis (Debian's redis-server): the API's rate-limit counters, shared by every gunicorn worker.
Nothing durable lives here, so it runs without persistence."""
from __future__ import annotations

import shutil

import redis

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.stack.process import ManagedProcess
from hellohome.stack.service import ProcessService


def ping(settings: Settings) -> bool:
    return redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1).ping()


def _launch(settings: Settings, proc: ManagedProcess) -> None:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(binary):
        raise ServiceError("redis", "binary", "redis-server not found; run scripts/bootstrap.sh")
    proc.start([binary, "--bind", "127.0.0.1", "--port", str(settings.redis_port), "--save", "",
                "--appendonly", "no", "--dir", str(proc.workdir), "--maxmemory", "128mb"])


SERVICE = ProcessService("redis", port=lambda s: s.redis_port, ping=ping, check="PING", launch=_launch,
                         stop_timeout_s=10)
