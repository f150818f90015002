"""The S3 API server: moto in server mode (S3 / MinIO in production), with the project's buckets."""
from __future__ import annotations

import sys
from pathlib import Path

import boto3
from botocore.config import Config

from hellohome.config import Settings
from hellohome.stack.process import ManagedProcess
from hellohome.stack.service import ProcessService

# moto keeps no credentials of its own, but the S3 protocol wants a signature
LOCAL_CREDENTIALS = {"aws_access_key_id": "hellohome-local", "aws_secret_access_key": "hellohome-local"}


def client(settings: Settings):
    return boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name="us-east-1",
                        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}),
                        **LOCAL_CREDENTIALS)


def buckets(settings: Settings) -> list[str]:
    listed = [b.strip() for b in settings.s3_buckets.split(",") if b.strip()]
    return list(dict.fromkeys([*listed, settings.backup_bucket, settings.snapshot_bucket, settings.quality_bucket,
                               settings.rejects_bucket]))


def ping(settings: Settings) -> bool:
    client(settings).list_buckets()
    return True


def _launch(settings: Settings, proc: ManagedProcess) -> None:
    proc.start([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(settings.s3_port)])


def ensure_buckets(settings: Settings) -> None:
    s3 = client(settings)
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in buckets(settings):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)


SERVICE = ProcessService("s3", port=lambda s: s.s3_port, ping=ping, check="S3 ListBuckets", launch=_launch,
                         after_start=ensure_buckets, stop_timeout_s=15)
