"""Text vectors on real documents: embedded once (cache), version-safe partial updates, used by
semantic, hybrid and similar search, and kept by a reindex."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from hellohome.cdc.consumer import start_at_end
from hellohome.db.engine import get_engine
from hellohome.enrich.enricher import Enricher, refresh
from hellohome.enrich.text import TextEmbedder, embedding_text, text_hash
from hellohome.search import indexes
from hellohome.search.request import Filters, SearchRequest
from hellohome.sync.backfill import backfill
from tests.integration.cdc_helpers import wait_parity

SAMPLE = 120


@pytest.fixture(scope="module")
def embedder():
    return TextEmbedder("minilm")


@pytest.fixture(scope="module")
def enricher(search_settings, embedder):
    return Enricher(search_settings, embedder=embedder, wait_s=5)


@pytest.fixture(scope="module")
def enriched(enricher, search_settings):
    """Edinburgh listings that mention the castle, plus as many that do not, enriched."""
    c = enricher.search
    alias = indexes.read_alias("properties", search_settings.index_prefix)

    def ids(query):
        body = {"size": SAMPLE // 2, "_source": False, "query": {"bool": {"filter": [{"term": {"city": "Edinburgh"}}],
                                                                           **query}}, "sort": [{"id": "asc"}]}
        return [int(h["_id"]) for h in c.search(index=alias, body=body)["hits"]["hits"]]

    castle = ids({"must": [{"match_phrase": {"description": "castle view"}}]})
    chosen = castle + ids({"must_not": [{"match": {"description": "castle"}}]})
    outcome = enricher.enrich(dict.fromkeys(chosen, (0, 0)))
    c.indices.refresh(index=alias)
    return {"ids": chosen, "castle": castle, "outcome": outcome}


def test_enrich_writes_vectors_then_finds_nothing_to_do(enriched, enricher, search_settings):
    assert enriched["outcome"]["enriched"] == len(enriched["ids"])
    again = enricher.enrich(dict.fromkeys(enriched["ids"], (0, 0)))
    assert again["unchanged"] == len(enriched["ids"]) and again["enriched"] == 0
    doc = enricher.search.get(index=indexes.read_alias("properties", search_settings.index_prefix),
                              id=str(enriched["ids"][0]))["_source"]
    assert len(doc["text_vector"]) == search_settings.text_vector_dim
    assert doc["enrichment"]["text"]["hash"] == text_hash(enricher.embedder.model_id, embedding_text(doc))


def test_cache_means_unchanged_text_is_never_embedded_twice(enriched, enricher, search_settings, monkeypatch):
    with get_engine(search_settings, "readonly").connect() as conn:
        cached = conn.execute(text("SELECT COUNT(*) FROM embedding_cache")).scalar()
    assert cached >= len(enriched["ids"]) - 5  # identical texts share one entry
    monkeypatch.setattr(enricher.embedder, "embed", lambda texts: pytest.fail(f"embedded {len(texts)} texts again"))
    texts = {}
    for pid in enriched["ids"][:10]:
        doc = enricher.search.get(index=indexes.read_alias("properties", search_settings.index_prefix),
                                  id=str(pid))["_source"]
        texts[text_hash(enricher.embedder.model_id, embedding_text(doc))] = embedding_text(doc)
    assert len(enricher.vectors_for(texts)) == len(texts)


def test_a_newer_edit_landing_mid_enrichment_wins(enricher, search_settings, enriched):
    """The indexer writes a newer version between the enricher's read and its update: 409, read
    again, and the vector that lands is the one of the newer text."""
    alias = indexes.read_alias("properties", search_settings.index_prefix)
    client = enricher.search
    bare = {"size": 1, "_source": False, "query": {"bool": {"must_not": [{"exists": {"field": "text_vector"}}]}}}
    client.indices.refresh(index=alias)
    pid = int(client.search(index=alias, body=bare)["hits"]["hits"][0]["_id"])
    original = client.get(index=alias, id=str(pid))
    newer = {**original["_source"], "title": "Completely rewritten title about a boat",
             "source_version": original["_source"]["source_version"] + 1}
    newer.pop("text_vector", None)
    newer.pop("enrichment", None)
    real_vectors_for, raced = enricher.vectors_for, []

    def racing(texts):
        if not raced:  # first pass: the indexer's newer write lands now
            client.index(index=original["_index"], id=str(pid), body=newer, version=original["_version"] + 1,
                         version_type="external_gte")
            raced.append(True)
        return real_vectors_for(texts)

    enricher.vectors_for = racing
    try:
        enricher.enrich({pid: (0, 0)})
    finally:
        enricher.vectors_for = real_vectors_for
    doc = client.get(index=alias, id=str(pid))["_source"]
    assert raced and doc["title"] == newer["title"]
    assert doc["enrichment"]["text"]["hash"] == text_hash(enricher.embedder.model_id, embedding_text(newer))


def test_semantic_search_ranks_castle_views_first(enriched, search_service, embedder, monkeypatch):
    monkeypatch.setattr(search_service, "embed", lambda texts: embedder.embed(texts).tolist())
    r = search_service.search(SearchRequest(q="quiet flat near the castle with a view", mode="semantic", size=10,
                                            filters=Filters(city=["Edinburgh"]), facets=False))
    top = [h for h in r["hits"]][:5]
    assert sum("castle" in (h["title"] + " " + " ".join(h["highlight"].get("description", []))).lower()
               or int(h["id"]) in enriched["castle"] for h in top) >= 4


def test_hybrid_and_similar_with_filters(enriched, search_service, embedder, monkeypatch):
    monkeypatch.setattr(search_service, "embed", lambda texts: embedder.embed(texts).tolist())
    hybrid = search_service.search(SearchRequest(q="castle view flat", mode="hybrid", size=10,
                                                 filters=Filters(price_max=200)))
    assert hybrid["hits"] and all(h["price"] <= 200 for h in hybrid["hits"])
    pid = enriched["ids"][0]
    similar = search_service.similar(pid, 5, Filters(city=["Edinburgh"]))
    assert len(similar["hits"]) == 5 and str(pid) not in {h["id"] for h in similar["hits"]}
    assert all(h["city"] == "Edinburgh" for h in similar["hits"])


def test_api_similar_without_vector_is_409(client, search_settings, enriched):
    alias = indexes.read_alias("properties", search_settings.index_prefix)
    body = {"size": 1, "_source": False, "query": {"bool": {"must_not": [{"exists": {"field": "text_vector"}}]}}}
    indexes.client(search_settings).indices.refresh(index=alias)
    bare = indexes.client(search_settings).search(index=alias, body=body)["hits"]["hits"][0]["_id"]
    r = client.get(f"/api/v1/properties/{bare}/similar")
    assert r.status_code == 409 and "no text vector" in r.get_json()["error"]["message"]


def test_reindex_keeps_vectors_from_the_cache(enriched, search_settings):
    settings = search_settings.model_copy(update={"index_prefix": "test-reindex-"})
    client = indexes.client(settings)
    client.indices.delete(index="test-reindex-*", ignore_unavailable=True)
    try:
        report = backfill(settings, progress=False, catch_up=False)
        client.indices.refresh(index=report.index)
        docs = client.mget(index=report.index, body={"ids": [str(i) for i in enriched["ids"]]})["docs"]
        assert all(d["found"] and d["_source"].get("text_vector") for d in docs)  # 100% cache hits
    finally:
        client.indices.delete(index="test-reindex-*", ignore_unavailable=True)


def test_refresh_enriches_what_is_missing_or_stale_only(enricher, search_settings, enriched, monkeypatch):
    client = enricher.search
    alias = indexes.read_alias("properties", search_settings.index_prefix)
    stale = enriched["ids"][0]  # a vector made by another model (or runtime) is stale
    doc = client.get(index=alias, id=str(stale))["_source"]["enrichment"]
    client.update(index=alias, id=str(stale), body={"doc": {"enrichment": {
        **doc, "text": {**doc["text"], "model": "minilm@an-older-package"}}}}, params={"refresh": "true"})
    calls = []
    monkeypatch.setattr(enricher, "enrich", lambda wanted: calls.append(set(wanted)) or {"enriched": len(wanted)})
    totals = refresh(search_settings, enricher, progress=False)
    without = client.count(index=alias, body={"query": {"bool": {"must_not": [{"exists": {"field": "text_vector"}}]}}})
    picked = set().union(*calls)
    assert stale in picked and not picked & (set(enriched["ids"]) - {stale})
    assert totals["enriched"] == without["count"] + 1 == len(picked)
    client.update(index=alias, id=str(stale), body={"doc": {"enrichment": doc}}, params={"refresh": "true"})


@pytest.mark.usefixtures("leaves_loaded_data_as_found")
def test_the_enricher_follows_the_change_feed(stack, loaded_db, embedder):
    """Enricher.run end to end: a listing written to MariaDB reaches the stack's indexer, then the
    enricher (its own consumer group on the change topics) embeds its text into that document."""
    import threading
    import time
    import uuid

    from hellohome.api import writes

    settings = stack.model_copy(update={"enrich_images": False})  # photo URLs cannot be fetched here
    group = f"test-enricher-{uuid.uuid4().hex[:8]}"

    enricher = Enricher(settings, embedder=embedder, group_id=group, wait_s=60)
    # the change feed of the loaded data first reaches its end (seen: run first in a session, the
    # enricher started behind tens of thousands of load events), then the new group starts there
    assert wait_parity(settings, timeout_s=600).clean
    start_at_end(settings, group, enricher.topics())
    thread = threading.Thread(target=enricher.run, daemon=True)
    thread.start()
    alias = indexes.read_alias("properties", settings.index_prefix)
    try:
        engine = get_engine(settings, "app")
        host = writes.create_user(engine, writes.UserCreate(email="feed@example.com", name="Feed", role="host"))
        pid = writes.create_property(engine, writes.PropertyCreate(
            host_id=int(host["id"]), title="Quiet flat with a sea view", room_type="Entire home/apt", currency="GBP",
            city="Edinburgh", neighbourhood="Portobello", latitude=55.95, longitude=-3.11,
            description="Wake up to the waves."))["id"]
        deadline, doc = time.monotonic() + 120, {}
        while time.monotonic() < deadline:
            found = enricher.search.get(index=alias, id=pid, ignore=404)
            doc = found.get("_source") or {}
            done = (doc.get("enrichment") or {}).get("text") or {}
            if doc and done.get("hash") == text_hash(embedder.model_id, embedding_text(doc)):
                break
            time.sleep(0.5)
        assert doc.get("title") == "Quiet flat with a sea view"
        assert doc["enrichment"]["text"]["hash"] == text_hash(embedder.model_id, embedding_text(doc))
        assert len(doc["text_vector"]) == settings.text_vector_dim
    finally:
        enricher.stop()
        thread.join(30)
    assert not thread.is_alive()
