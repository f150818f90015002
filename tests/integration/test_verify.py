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
from tests.integration.search_fixtures import backfilled

PREFIX = "test-verify-"
EXTRA = 999_999_999_999


@pytest.fixture(scope="module")
def fresh(loaded_db, stack):
    """An index of its own, built from the test schema now: in step with MariaDB by construction."""
    with backfilled(stack, PREFIX) as settings:
        yield settings


def test_a_clean_index_is_clean(fresh):
    report = verify(fresh)
    assert report.clean and report.checked > 50_000


def test_missing_altered_and_extra_documents_are_each_reported(fresh):
    client = indexes.client(fresh)
    index = indexes.current(client, "properties", PREFIX)
    with get_engine(fresh, "readonly").connect() as conn:
        deleted, altered = conn.execute(text("SELECT id FROM properties WHERE status = 'active' ORDER BY id LIMIT 2"))\
            .scalars().all()
    client.delete(index=index, id=str(deleted))
    # the title changes; source_version and the stored checksum stay as the builder wrote them
    client.update(index=index, id=str(altered), body={"doc": {"title": "Changed behind MariaDB's back"}})
    client.index(index=index, id=str(EXTRA), body=client.get(index=index, id=str(altered))["_source"] | {"id": EXTRA})
    report = verify(fresh)
    assert (report.missing, report.stale, report.extra) == ([deleted], [altered], [EXTRA])
    cli = subprocess.run([sys.executable, "-m", "hellohome", "verify"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HH_DB_NAME": fresh.db_name, "HH_INDEX_PREFIX": PREFIX})
    assert cli.returncode == 1
    assert f"missing: {deleted}" in cli.stdout and f"stale: {altered}" in cli.stdout and f"extra: {EXTRA}" in cli.stdout
