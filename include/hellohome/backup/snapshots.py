"""OpenSearch snapshots shipped to S3, incrementally, with a manifest per snapshot.

The `repository-s3` plugin is not published on Maven Central for 2.19 (only the full distribution
carries it), so OpenSearch snapshots into a shared-filesystem repository under `path.repo` and this
module copies the repository to the snapshot bucket (and back, for a restore). The snapshot format
is OpenSearch's own and incremental (segments already in the repository are not written again);
the copy is too: a file already in S3 with the same size is not sent again (repository files are
written once, except `index.latest`). Each snapshot's manifest lists every file it needs with its
sha256, so a restore refuses a damaged or missing object by name.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from opensearchpy import OpenSearch

from hellohome.backup.store import BackupError, Store, backup_id, record_success
from hellohome.config import Settings
from hellohome.search import indexes
from hellohome.stack import s3

REPOSITORIES = "snapshots"  # under .stack/opensearch, registered as path.repo
LIVE_REPOSITORY = "backups"  # the repository the daily snapshots go to
MANIFESTS = "manifests/"


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
    _give_to_opensearch(settings, target)
    return target


def _give_to_opensearch(settings: Settings, target: Path) -> None:
    owner = repo_root(settings).stat()  # the OpenSearch service user, when the stack runs as root
    for path in [target, *target.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid)


def live_indices(client: OpenSearch, settings: Settings) -> list[str]:
    found = [indexes.current(client, kind, settings.index_prefix) for kind in indexes.KINDS]
    return [name for name in found if name]


def snapshot_live(settings: Settings, now: dt.datetime | None = None) -> dict:
    """Snapshot the live indexes, ship the new repository files to S3; returns the manifest."""
    client, bucket = indexes.client(settings), Store(settings, settings.snapshot_bucket)
    names = live_indices(client, settings)
    if not names:
        raise BackupError("no live index to snapshot (no alias points at a version yet)")
    name = f"{settings.index_prefix}snap-{backup_id(now or dt.datetime.now(dt.UTC)).lower()}"
    register_fs_repository(client, settings, LIVE_REPOSITORY)
    info = create_snapshot(client, LIVE_REPOSITORY, name, names)
    if info["state"] != "SUCCESS":
        raise BackupError(f"snapshot {name}: {info['state']}: {info.get('failures')}")
    counts = {index: client.count(index=index)["count"] for index in names}
    objects, sent = _sync_up(settings, bucket)
    manifest = {"id": name, "kind": "opensearch-snapshot", "repository": LIVE_REPOSITORY, "indices": counts,
                "started": info["start_time"], "finished": info["end_time"], "objects": objects,
                "bytes": sum(o["size"] for o in objects), "uploaded_files": sent}
    bucket.put_json(f"{MANIFESTS}{name}.json", manifest)
    record_success(settings, "opensearch_snapshot", {"id": name, "uploaded_files": sent})
    return manifest


def _sync_up(settings: Settings, bucket: Store) -> tuple[list[dict], int]:
    """Upload what S3 lacks (or has at another size); every file's entry, sha256 included."""
    root = repo_root(settings) / LIVE_REPOSITORY
    there = bucket.keys(f"{LIVE_REPOSITORY}/")
    known = {o["key"]: o for m in bucket.documents(MANIFESTS) for o in m["objects"]}
    objects, sent = [], 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f"{LIVE_REPOSITORY}/{path.relative_to(root).as_posix()}"
        size = path.stat().st_size
        if there.get(key) == size and key in known and known[key]["size"] == size and path.name != "index.latest":
            objects.append(known[key])
            continue
        objects.append(bucket.put_file(key, path))
        sent += 1
    return objects, sent


def manifests(settings: Settings) -> list[dict]:
    return list(Store(settings, settings.snapshot_bucket).documents(MANIFESTS))


def restore_snapshot(settings: Settings, snapshot: str | None = None, prefix: str = "restored-") -> dict:
    """Restore a snapshot from S3 into scratch indexes `<prefix><index>`; compare document counts."""
    bucket, client = Store(settings, settings.snapshot_bucket), indexes.client(settings)
    found = manifests(settings)
    manifest = next((m for m in reversed(found) if snapshot in (None, m["id"])), None)
    if manifest is None:
        raise BackupError(f"no snapshot {snapshot or ''} in s3://{settings.snapshot_bucket}/{MANIFESTS}".replace("  ", " "))
    repository = f"restore-{manifest['id']}"
    target = repo_root(settings) / repository
    shutil.rmtree(target, ignore_errors=True)
    try:
        for entry in manifest["objects"]:
            bucket.get_file(entry, target / entry["key"][len(LIVE_REPOSITORY) + 1:])
        _give_to_opensearch(settings, target)
        register_fs_repository(client, settings, repository, readonly=True)
        restored = {f"{prefix}{index}": count for index, count in manifest["indices"].items()}
        client.indices.delete(index=",".join(restored), ignore_unavailable=True)
        client.snapshot.restore(repository=repository, snapshot=manifest["id"], wait_for_completion=True, body={
            "indices": ",".join(manifest["indices"]), "include_aliases": False,
            "rename_pattern": "(.+)", "rename_replacement": f"{prefix}$1"})
        client.indices.refresh(index=",".join(restored))
        counts = {index: client.count(index=index)["count"] for index in restored}
    finally:
        client.snapshot.delete_repository(repository=repository, ignore=[404])
        shutil.rmtree(target, ignore_errors=True)
    return {"snapshot": manifest["id"], "indices": counts,
            "verified": counts == restored, "expected": restored}


def delete_snapshots(settings: Settings, names: list[str]) -> int:
    """Delete snapshots (OpenSearch frees the files only they used), then mirror the repository in S3."""
    if not names:
        return 0
    client, bucket = indexes.client(settings), Store(settings, settings.snapshot_bucket)
    register_fs_repository(client, settings, LIVE_REPOSITORY)
    existing = {s["snapshot"] for s in client.snapshot.get(repository=LIVE_REPOSITORY, snapshot="_all")["snapshots"]}
    for name in names:
        if name in existing:
            client.snapshot.delete(repository=LIVE_REPOSITORY, snapshot=name)
    root = repo_root(settings) / LIVE_REPOSITORY
    local = {f"{LIVE_REPOSITORY}/{p.relative_to(root).as_posix()}" for p in root.rglob("*") if p.is_file()}
    bucket.delete([key for key in bucket.keys(f"{LIVE_REPOSITORY}/") if key not in local]
                  + [f"{MANIFESTS}{name}.json" for name in names])
    return len(names)
