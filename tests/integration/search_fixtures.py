"""An index of the loaded test schema (backfilled, so its content is known) and an app over it."""
from __future__ import annotations

import pytest

from hellohome.search import indexes
from hellohome.search.backfill import backfill
from hellohome.search.service import SearchService

PREFIX = "test-search-"


@pytest.fixture(scope="session")
def search_settings(loaded_db, stack):
    settings = stack.model_copy(update={"index_prefix": PREFIX})
    client = indexes.client(settings)
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
    backfill(settings, progress=False, catch_up=False)
    client.indices.refresh(index=f"{PREFIX}properties")
    yield settings
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)


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
