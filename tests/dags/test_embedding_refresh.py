"""The embedding refresh embeds what lacks a current vector, one key range at a time, and a rerun
redoes nothing that was finished."""
from __future__ import annotations

from hellohome.batch.embedding import refresh_range, summary
from hellohome.search import indexes
from tests.integration.search_fixtures import backfilled

PREFIX = "test-embed-"


def test_a_range_is_embedded_once_and_a_rerun_finds_it_current(loaded_db, stack, task_settings):
    with backfilled(stack, PREFIX):
        settings = task_settings(HH_INDEX_PREFIX=PREFIX, HH_ENRICH_IMAGES="false")
        client, alias = indexes.client(settings), indexes.read_alias("properties", PREFIX)
        ids = sorted(int(h["_id"]) for h in client.search(index=alias, body={
            "size": 30, "sort": [{"id": "asc"}], "_source": False, "query": {"match_all": {}}})["hits"]["hits"])
        lo, hi = ids[0] - 1, ids[-1]  # the 30 smallest ids

        first = refresh_range(settings, lo, hi, everything=False, batch=8)
        assert first["enriched"] == 30 and first["texts_embedded"] >= 1 and first["texts_per_s"] > 0
        client.indices.refresh(index=alias)
        docs = client.search(index=alias, body={"size": 100, "query": {"range": {"id": {"gt": lo, "lte": hi}}},
                                                "_source": ["enrichment.text.model", "text_vector"]})["hits"]["hits"]
        assert len(docs) == 30
        assert all(len(d["_source"]["text_vector"]) == settings.text_vector_dim for d in docs)
        outside = client.count(index=alias, body={"query": {"exists": {"field": "text_vector"}}})["count"]
        assert outside == 30  # nothing beyond the range was touched

        again = refresh_range(settings, lo, hi, everything=True, batch=8)
        assert again["enriched"] == 0 and again["unchanged"] == 30 and again["texts_embedded"] == 0
        total = summary([first, again])
        assert total["enriched"] == 30 and total["texts_embedded"] == first["texts_embedded"]
