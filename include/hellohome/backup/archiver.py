"""The binlog archiver: a long-running service (supervised by the stack) that keeps S3 at most
HH_BINLOG_ARCHIVE_AFTER_S (+ one poll) behind the binlog.

A service rather than a DAG: the RPO goal is minutes, and an Airflow run every minute would spend
more on scheduling than on the copy (and stop while the scheduler does). Its /metrics also carries
the last successful full backup, snapshot and drill (read from `status/*.json` in S3), so one
scrape target answers "are the backups current?".
"""
from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter, Gauge

from hellohome.backup import binlog
from hellohome.backup.store import Store, record_success
from hellohome.config import Settings

log = logging.getLogger(__name__)
KINDS = ("mariadb_full", "opensearch_snapshot", "restore_drill", "binlog_archive")
RUNS = Counter("hellohome_binlog_archive_runs_total", "archiver passes", ["outcome"])
FILES = Counter("hellohome_binlog_archived_files_total", "binlog files uploaded to S3")
UNARCHIVED_AGE = Gauge("hellohome_binlog_unarchived_oldest_seconds",
                       "age of the oldest transaction not yet in S3 (0: everything archived): the RPO now")
LAST_SUCCESS = Gauge("hellohome_backup_last_success_timestamp_seconds",
                     "when each backup kind last succeeded (0: never)", ["kind"])
STATUS_EVERY_S = 60.0


class Archiver:
    def __init__(self, settings: Settings):
        self.settings, self._stop = settings, threading.Event()
        self._status_read = 0.0

    def stop(self, *_args) -> None:
        self._stop.set()

    def once(self) -> binlog.ArchiveReport:
        now = time.time()
        report = binlog.archive(self.settings, now_s=now)
        FILES.inc(len(report.uploaded))
        UNARCHIVED_AGE.set(max(0.0, now - report.oldest_unarchived_ts) if report.oldest_unarchived_ts else 0.0)
        if report.uploaded:
            record_success(self.settings, "binlog_archive", {"files": report.uploaded})
        return report

    def read_status(self) -> None:
        bucket = Store(self.settings, self.settings.backup_bucket)
        for kind in KINDS:
            status = bucket.get_json(f"status/{kind}.json")
            LAST_SUCCESS.labels(kind).set(status["timestamp"] if status else 0)

    def run(self, idle_exit_s: float | None = None) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            try:
                self.once()
                RUNS.labels("ok").inc()
                if time.monotonic() - self._status_read >= STATUS_EVERY_S:
                    self.read_status()
                    self._status_read = time.monotonic()
            except Exception as exc:  # a pass that failed is retried at the next poll; the metric shows it
                RUNS.labels("error").inc()
                log.error("binlog archive pass failed", extra={"fields": {"error": str(exc)[:500]}})
            if idle_exit_s is not None and time.monotonic() - started >= idle_exit_s:
                return
            self._stop.wait(self.settings.binlog_archive_poll_s)

