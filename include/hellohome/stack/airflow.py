"""Airflow 3 (the batch side: dags/) as supervised local services: api-server (UI and REST API),
scheduler (LocalExecutor) and dag-processor, with their metadata in the project's PostgreSQL.

Everything Airflow is told comes from the project's settings through `environment()`: the
metadata database, parallelism, where the DAGs are, the login, and the connections to MariaDB,
OpenSearch and S3 (`AIRFLOW_CONN_*`), so nothing is typed twice and nothing lives in airflow.cfg.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

from hellohome.config import Settings
from hellohome.stack import postgres
from hellohome.stack.process import run_once
from hellohome.stack.supervisor import SupervisedService

CONNECTIONS = ("hellohome_mariadb", "hellohome_opensearch", "hellohome_s3")


def home(settings: Settings) -> Path:
    return settings.stack_dir / "airflow"


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.airflow_port}"


def _connections(settings: Settings) -> dict[str, str]:
    """Airflow connections in its JSON form, one per system the DAGs reach (for hooks and the UI)."""
    conns = {
        "hellohome_mariadb": {"conn_type": "mysql", "host": settings.db_host, "port": settings.db_port,
                              "login": settings.db_readonly_user, "password": settings.secret("db_readonly_password"),
                              "schema": settings.db_name},
        "hellohome_opensearch": {"conn_type": "opensearch", "host": settings.opensearch_host,
                                 "port": settings.opensearch_port, "extra": {"use_ssl": False}},
        # moto accepts any credentials; real S3 takes them from the environment's AWS_* variables
        "hellohome_s3": {"conn_type": "aws", "extra": {"endpoint_url": settings.s3_endpoint,
                                                       "region_name": "us-east-1"}},
    }
    return {f"AIRFLOW_CONN_{name.upper()}": json.dumps(conn) for name, conn in conns.items()}


def environment(settings: Settings) -> dict[str, str]:
    """The environment every Airflow process (and `dag.test()` in the tests) runs with."""
    d = home(settings)
    return {
        "AIRFLOW_HOME": str(d),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url(settings),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # the default 32 starts 32 idle task workers (~5 GB): the box has 2 cores
        "AIRFLOW__CORE__PARALLELISM": str(settings.airflow_parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(settings.airflow_parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.home / "plugins"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(settings.airflow_dags_paused),
        "AIRFLOW__CORE__FERNET_KEY": settings.secret("airflow_fernet_key"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url(settings)}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": url(settings),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": settings.secret("airflow_jwt_secret"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{settings.airflow_admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(d / "passwords.json"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",  # a new DAG file shows up within half a minute
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(d / "logs"),
        "GX_ANALYTICS_ENABLED": "false",
        # DAG run and task metrics to the statsd exporter (stack/exporters.py), scraped by Prometheus
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(settings.statsd_port),
        "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        **_connections(settings),
    }


def _binary() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _prepare(settings: Settings) -> None:
    """Migrate the metadata database (idempotent) and write the admin's password where the simple
    auth manager reads it (mode 0600)."""
    d = home(settings)
    d.mkdir(parents=True, exist_ok=True)
    passwords = d / "passwords.json"
    passwords.write_text(json.dumps({settings.airflow_admin_user: settings.secret("airflow_admin_password")}))
    passwords.chmod(0o600)
    run_once("airflow", "airflow db migrate", [_binary(), "db", "migrate"], d / "migrate.log", timeout_s=600,
             env=environment(settings))


def health(settings: Settings) -> dict:
    return requests.get(f"{url(settings)}/api/v2/monitor/health", timeout=3).json()


def _component_healthy(component: str):
    def ping(settings: Settings) -> bool:
        return health(settings)[component]["status"] == "healthy"
    return ping


def _service(name: str, command: str, ping, check: str, **kwargs) -> SupervisedService:
    return SupervisedService(name, port=lambda s: s.airflow_port, ping=ping, check=check,
                             argv=lambda s: [_binary(), command], env=environment, stop_timeout_s=60, **kwargs)


API_SERVER = _service("airflow-api-server", "api-server", _component_healthy("metadatabase"),
                      "GET /api/v2/monitor/health", before_start=_prepare)
SCHEDULER = _service("airflow-scheduler", "scheduler", _component_healthy("scheduler"),
                     "scheduler heartbeat in /api/v2/monitor/health")
DAG_PROCESSOR = _service("airflow-dag-processor", "dag-processor", _component_healthy("dag_processor"),
                         "dag processor heartbeat in /api/v2/monitor/health")
SERVICES = [API_SERVER, SCHEDULER, DAG_PROCESSOR]
