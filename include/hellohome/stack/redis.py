"""Redis (Debian's redis-server): the API's rate-limit counters, shared by every gunicorn worker.
Nothing durable lives here, so it runs without persistence."""
from __future__ import annotations

import shutil

import redis

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.stack.process import ManagedProcess

SERVICE = "redis"


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(SERVICE, settings.stack_dir / SERVICE)


def ping(settings: Settings) -> bool:
    return redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1).ping()


def is_up(settings: Settings) -> bool:
    return process(settings).answers(lambda: ping(settings))


def start(settings: Settings) -> float:
    if is_up(settings):
        return 0.0
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(binary):
        raise ServiceError(SERVICE, "binary", "redis-server not found; run scripts/bootstrap.sh")
    proc = process(settings)
    proc.start([binary, "--bind", "127.0.0.1", "--port", str(settings.redis_port), "--save", "",
                "--appendonly", "no", "--dir", str(proc.workdir), "--maxmemory", "128mb"])
    return proc.wait_ready(lambda: ping(settings), "PING", settings.stack_start_timeout_s)


def stop(settings: Settings) -> bool:
    return process(settings).stop(timeout_s=10)


def status(settings: Settings) -> dict:
    return process(settings).status(settings.redis_port, lambda: ping(settings))
