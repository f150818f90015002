"""An index of the loaded test schema (backfilled, so its content is known) and an app over it."""
from __future__ import annotations

import contextlib

import pytest

from hellohome.config import get_settings
from hellohome.search import indexes
from hellohome.search.service import SearchService
from hellohome.sync.backfill import backfill

PREFIX = "test-search-"


@contextlib.contextmanager
def backfilled(stack, prefix: str):
    """Settings whose indexes (`prefix`) were just built from the test schema; deleted afterwards."""
    settings = stack.model_copy(update={"index_prefix": prefix})
    client = indexes.client(settings)
    client.indices.delete(index=f"{prefix}*", ignore_unavailable=True)
    backfill(settings, progress=False, catch_up=False)
    client.indices.refresh(index=f"{prefix}properties")
    try:
        yield settings
    finally:
        client.indices.delete(index=f"{prefix}*", ignore_unavailable=True)


@pytest.fixture(scope="session")
def search_settings(loaded_db, stack):
    with backfilled(stack, PREFIX) as settings:
        yield settings


@pytest.fixture(scope="session")
def search_service(search_settings):
    return SearchService(search_settings)


@pytest.fixture(scope="session")
def app(search_settings, search_service):
    from serving.app import create_app

    return create_app(search_settings, search_service)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def leaves_loaded_data_as_found(loaded_db):
    """Tests that create rows in the shared loaded schema remove them afterwards: rows made through
    the API or AUTO_INCREMENT have ids from AUTO_ID_START, the loaded data stays below it."""
    yield
    from sqlalchemy import text

    from hellohome.db.engine import get_engine
    from hellohome.db.models import AUTO_ID_START

    with get_engine(get_settings(), "app").begin() as conn:
        for table in ("inquiries", "property_images", "properties", "users"):
            conn.execute(text(f"DELETE FROM {table} WHERE id >= :start"), {"start": AUTO_ID_START})  # noqa: S608
