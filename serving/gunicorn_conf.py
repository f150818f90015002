"""gunicorn settings from HH_* settings; per-worker metric files are cleaned when a worker exits."""
from prometheus_client import multiprocess

from hellohome.config import get_settings

_settings = get_settings()
bind = f"{_settings.api_bind_host}:{_settings.api_port}"
workers = _settings.api_workers
worker_class = "gthread"
threads = _settings.api_threads
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None  # request metrics and structured app logs instead of an access log per request


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
