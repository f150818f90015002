"""The S3 API server: moto in server mode (S3 / MinIO in production), with the project's buckets."""
from __future__ import annotations

import sys
from pathlib import Path

import boto3
from botocore.config import Config

from hellohome.config import Settings
from hellohome.stack.process import ManagedProcess

SERVICE = "s3"
# moto keeps no credentials of its own, but the S3 protocol wants a signature
LOCAL_CREDENTIALS = {"aws_access_key_id": "hellohome-local", "aws_secret_access_key": "hellohome-local"}


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(SERVICE, settings.stack_dir / SERVICE)


def client(settings: Settings):
    return boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name="us-east-1",
                        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}),
                        **LOCAL_CREDENTIALS)


def buckets(settings: Settings) -> list[str]:
    return [b.strip() for b in settings.s3_buckets.split(",") if b.strip()]


def ping(settings: Settings) -> bool:
    client(settings).list_buckets()
    return True


def is_up(settings: Settings) -> bool:
    return process(settings).answers(lambda: ping(settings))


def start(settings: Settings) -> float:
    took = 0.0
    if not is_up(settings):
        moto = Path(sys.executable).with_name("moto_server")
        proc = process(settings)
        proc.start([str(moto), "-H", "127.0.0.1", "-p", str(settings.s3_port)])
        took = proc.wait_ready(lambda: ping(settings), "S3 ListBuckets", settings.stack_start_timeout_s)
    s3 = client(settings)
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in buckets(settings):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
    return took


def stop(settings: Settings) -> bool:
    return process(settings).stop(timeout_s=15)


def status(settings: Settings) -> dict:
    return process(settings).status(settings.s3_port, lambda: ping(settings))
