"""`hellohome verify` detects what it is there to detect: a listing missing from the index, one whose
indexed fields differ from MariaDB's columns (even with the version and checksum fields untouched),
and a document MariaDB does not have."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from hellohome.db.engine import get_engine
from hellohome.search import indexes
from hellohome.sync.verify import verify


@pytest.fixture
def tampered(search_settings):
    """Three listings of the backfilled test index, put back as they were afterwards."""
    client = indexes.client(search_settings)
    alias = indexes.read_alias("properties", search_settings.index_prefix)
    index = indexes.current(client, "properties", search_settings.index_prefix)
    with get_engine(search_settings, "readonly").connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM properties WHERE status = 'active' ORDER BY id LIMIT 3"))
                   .scalars())
    originals = {pid: client.get(index=index, id=str(pid)) for pid in ids}
    yield client, index, ids
    for pid, original in originals.items():
        current = client.get(index=index, id=str(pid), ignore=404)
        version = max(original["_version"], current.get("_version", 0)) + 1
        client.index(index=index, id=str(pid), body=original["_source"], version=version, version_type="external")
    client.delete(index=index, id="999999999999", ignore=404)
    client.indices.refresh(index=alias)
    assert verify(search_settings).clean


def test_a_clean_index_is_clean(search_settings):
    report = verify(search_settings)
    assert report.clean and report.checked > 50_000


def test_missing_altered_and_extra_documents_are_each_reported(search_settings, tampered):
    client, index, (deleted, altered, _) = tampered
    client.delete(index=index, id=str(deleted))
    # the title changes; source_version and the stored checksum stay as the builder wrote them
    client.update(index=index, id=str(altered), body={"doc": {"title": "Changed behind MariaDB's back"}})
    extra = client.get(index=index, id=str(altered))["_source"] | {"id": 999999999999}
    client.index(index=index, id="999999999999", body=extra)
    report = verify(search_settings)
    assert (report.missing, report.stale, report.extra) == ([deleted], [altered], [999999999999])
    cli = subprocess.run([sys.executable, "-m", "hellohome", "verify"], capture_output=True, text=True, timeout=300,
                         env=_env(search_settings))
    assert cli.returncode == 1
    assert f"missing: {deleted}" in cli.stdout and f"stale: {altered}" in cli.stdout and "extra: 999999999999" in cli.stdout


def _env(settings) -> dict:
    return {**os.environ, "HH_DB_NAME": settings.db_name, "HH_INDEX_PREFIX": settings.index_prefix}
