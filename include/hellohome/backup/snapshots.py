"""OpenSearch snapshots shipped to S3.

The `repository-s3` plugin is not published on Maven Central for 2.19 (only the full distribution
carries it), so OpenSearch snapshots into a shared-filesystem repository under `path.repo` and this
module copies the repository to the S3 bucket (and back, for a restore) with boto3. The snapshot
format is OpenSearch's own; only the transport differs from repository-s3.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from opensearchpy import OpenSearch

from hellohome.config import Settings
from hellohome.stack import s3

REPOSITORIES = "snapshots"  # under .stack/opensearch, registered as path.repo


def repo_root(settings: Settings) -> Path:
    return settings.stack_dir / "opensearch" / REPOSITORIES


def register_fs_repository(client: OpenSearch, settings: Settings, name: str, readonly: bool = False) -> Path:
    location = repo_root(settings) / name
    client.snapshot.create_repository(repository=name, body={
        "type": "fs", "settings": {"location": str(location), "readonly": readonly, "compress": True}})
    return location


def create_snapshot(client: OpenSearch, repository: str, snapshot: str, indices: list[str]) -> dict:
    return client.snapshot.create(repository=repository, snapshot=snapshot, wait_for_completion=True,
                                  body={"indices": ",".join(indices), "include_global_state": False})["snapshot"]


def upload_repository(settings: Settings, repository: str, bucket: str, prefix: str) -> int:
    """Copy every file of the fs repository to s3://bucket/prefix/...; returns the file count."""
    client, root, count = s3.client(settings), repo_root(settings) / repository, 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
        count += 1
    return count


def download_repository(settings: Settings, bucket: str, prefix: str, repository: str) -> Path:
    """Materialise s3://bucket/prefix/ as fs repository `repository`, readable by OpenSearch."""
    client, target = s3.client(settings), repo_root(settings) / repository
    shutil.rmtree(target, ignore_errors=True)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        for obj in page.get("Contents", []):
            dest = target / obj["Key"][len(prefix) + 1:]
            dest.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj["Key"], str(dest))
    owner = repo_root(settings).stat()  # the OpenSearch service user, when the stack runs as root
    for path in [target, *target.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid)
    return target
