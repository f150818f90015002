"""Backup objects in S3: every file goes up with its sha256, comes down checked against it.

One place for the transport so every backup kind (MariaDB full backups, archived binlogs,
OpenSearch snapshot files, manifests) gets the same guarantees: S3 calls retried with capped
backoff (`HH_BACKUP_S3_ATTEMPTS`), then a `StoreUnreachable` naming the endpoint; a download whose
bytes do not hash to what the manifest recorded is a `ChecksumMismatch` naming the object, and the
partial file is removed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, EndpointConnectionError

from hellohome.config import Settings
from hellohome.errors import HelloHomeError
from hellohome.retry import retrying
from hellohome.stack import s3

T = TypeVar("T")
CHUNK = 8 << 20


class BackupError(HelloHomeError):
    """A backup or restore that cannot go on; the message says what and where."""

    code = "backup_failed"


class StoreUnreachable(BackupError):
    pass


class ChecksumMismatch(BackupError):
    code = "checksum_mismatch"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):  # 5xx and throttling are worth another try; 4xx are answers
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) >= 500
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
        return False  # a local file problem (missing, disk full) is not the network's
    return isinstance(exc, (BotoCoreError, ConnectionError, S3UploadFailedError))


class Store:
    """One bucket of the S3 API server, with the retry and checksum rules above."""

    def __init__(self, settings: Settings, bucket: str):
        self.settings, self.bucket, self.client = settings, bucket, s3.client(settings)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            for attempt in retrying(_transient, what=f"s3 {what}", first_s=0.5, cap_s=8,
                                    max_attempts=self.settings.backup_s3_attempts):
                with attempt:
                    return fn()
        except (EndpointConnectionError, ConnectionError, BotoCoreError) as exc:
            raise StoreUnreachable(f"S3 at {self.settings.s3_endpoint} ({self.bucket}): {what} failed after "
                                   f"{self.settings.backup_s3_attempts} tries: {exc}") from None
        except (ClientError, S3UploadFailedError) as exc:
            raise BackupError(f"S3 {what} in {self.bucket}: {exc}") from None
        raise AssertionError("unreachable")

    def put_file(self, key: str, path: Path) -> dict:
        """Upload; returns the manifest entry {key, size, sha256}."""
        digest = sha256_of(path)
        self._call(f"upload {key}", lambda: self.client.upload_file(str(path), self.bucket, key,
                                                                    ExtraArgs={"Metadata": {"sha256": digest}}))
        return {"key": key, "size": path.stat().st_size, "sha256": digest}

    def get_file(self, entry: dict, dest: Path) -> Path:
        """Download a manifest entry to `dest` and check its sha256 (ChecksumMismatch, file removed)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._call(f"download {entry['key']}", lambda: self.client.download_file(self.bucket, entry["key"], str(dest)))
        actual = sha256_of(dest)
        if actual != entry["sha256"]:
            dest.unlink(missing_ok=True)
            raise ChecksumMismatch(f"s3://{self.bucket}/{entry['key']}: sha256 {actual[:16]}… does not match the "
                                   f"manifest's {entry['sha256'][:16]}…; the object is damaged or was replaced, "
                                   "refusing to restore from it")
        return dest

    def put_json(self, key: str, value: dict) -> None:
        body = json.dumps(value, indent=1, sort_keys=True, default=str).encode()
        self._call(f"put {key}", lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                                                                ContentType="application/json"))

    def get_json(self, key: str) -> dict | None:
        def get() -> dict | None:
            try:
                return json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    return None
                raise
        return self._call(f"get {key}", get)

    def keys(self, prefix: str) -> dict[str, int]:
        """Every key under the prefix with its size."""
        def listing() -> dict[str, int]:
            found: dict[str, int] = {}
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                found.update({obj["Key"]: obj["Size"] for obj in page.get("Contents", [])})
            return found
        return self._call(f"list {prefix}", listing)

    def delete(self, keys: list[str]) -> int:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start:start + 1000]]
            self._call("delete", lambda b=batch: self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": b}))
        return len(keys)

    def documents(self, prefix: str) -> Iterator[dict]:
        """Every JSON object under the prefix, in key order (ids are UTC timestamps: oldest first)."""
        for key in sorted(k for k in self.keys(prefix) if k.endswith(".json")):
            document = self.get_json(key)
            if document is not None:
                yield document


def backup_id(at: dt.datetime) -> str:
    """Sortable, readable, UTC: 20261205T020000Z."""
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_id(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def record_success(settings: Settings, kind: str, details: dict, at: dt.datetime | None = None) -> None:
    """`status/<kind>.json`: when it last succeeded (the archiver's /metrics exposes it)."""
    at = at or dt.datetime.now(dt.UTC)
    Store(settings, settings.backup_bucket).put_json(
        f"status/{kind}.json", {"kind": kind, "at": at.isoformat(), "timestamp": at.timestamp(), **details})
