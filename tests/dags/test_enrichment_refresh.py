"""The enrichment refresh re-fetches expired third-party scores within each provider's daily
quota (retries counted), keeps the previous answer where a refresh fails, and writes the new
scores into the documents of those places, except a document that moved elsewhere."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from opensearchpy import helpers
from sqlalchemy import bindparam, text

from hellohome.batch import enrichment
from hellohome.batch.enrichment import refresh_scores
from hellohome.db.engine import get_engine
from hellohome.enrich.providers import calls_today
from hellohome.enrich.scores import Scorer
from hellohome.search import indexes
from tests.dags.conftest import run_dag
from tests.fake_providers import FakeApis
from tests.http_server import serving
from tests.integration.search_fixtures import backfilled

PREFIX = "test-enrich-refresh-"
SCORE_PROVIDERS = ("walkscore", "greatschools", "crimeometer", "walkscore-estimate")
OLD = {"walkscore": {"walk_score": 10, "transit_score": 1, "bike_score": 1},
       "greatschools": {"school_rating": 1.0, "schools_nearby": 1},
       "crimeometer": {"crime_incidents_1km_year": 7}}


def five_places(client, alias: str, scorer: Scorer) -> dict[str, list[str]]:
    """Five places of the index -> ids of every listing there."""
    hits = client.search(index=alias, body={"size": 100, "sort": [{"id": "asc"}], "_source": ["location"]})
    keys = {scorer.key(h["_source"]["location"]["lat"], h["_source"]["location"]["lon"]) for h in hits["hits"]["hits"]}
    every = enrichment.places(scorer)
    return {k: [str(pid) for pid in every[k]] for k in sorted(keys)[:5]}


def seed(engine, places: list[str]) -> None:
    """Every score provider's answer for each place, expired on consecutive days (refresh order)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM provider_cache WHERE provider IN :p").bindparams(bindparam("p", expanding=True)),
                     {"p": list(SCORE_PROVIDERS)})
        conn.execute(text("DELETE FROM provider_calls"))
        conn.execute(text("INSERT INTO provider_cache (provider, geo_key, payload, error, fetched_at, expires_at) "
                          "VALUES (:p, :k, :payload, NULL, '2019-12-31', :expires)"),
                     [{"p": p, "k": k, "payload": json.dumps(payload), "expires": dt.datetime(2020, 1, 1 + i)}
                      for i, k in enumerate(places) for p, payload in OLD.items()])


def scores_of(client, alias: str, ids: list[str]) -> dict[str, dict]:
    client.indices.refresh(index=alias)
    docs = client.mget(index=alias, body={"ids": ids}, params={"_source_includes": "enrichment.scores"})["docs"]
    return {d["_id"]: d["_source"]["enrichment"]["scores"] for d in docs}


def cached(engine, provider: str, key: str) -> tuple[dict, bool]:
    with engine.connect() as conn:
        payload, expires = conn.execute(text("SELECT payload, expires_at FROM provider_cache "
                                             "WHERE provider = :p AND geo_key = :k"), {"p": provider, "k": key}).one()
    return json.loads(payload), expires > dt.datetime.now(dt.UTC).replace(tzinfo=None)


def test_expired_scores_are_refreshed_within_quota_and_written_to_their_documents(loaded_db, stack, dagbag,
                                                                                  task_settings):
    with serving(FakeApis) as url, backfilled(stack, PREFIX):
        settings = task_settings(HH_INDEX_PREFIX=PREFIX, HH_WALKSCORE_URL=url, HH_WALKSCORE_KEY="good-key",
                                 HH_GREATSCHOOLS_URL=url, HH_GREATSCHOOLS_KEY="good-key")
        engine, client = get_engine(settings, "app"), indexes.client(settings)
        alias = indexes.read_alias("properties", PREFIX)
        scorer = Scorer(settings, engine, client, alias)
        places = five_places(client, alias, scorer)
        keys = list(places)
        assert len(keys) == 5
        seed(engine, keys)
        with engine.connect() as conn:
            old = scorer.cached(conn, set(keys), fresh_only=False)
        moved = places[keys[0]][0]  # its document shows another place's scores: not this refresh's business
        helpers.bulk(client, ({"_op_type": "update", "_index": alias, "_id": pid, "doc": {"enrichment": {"scores": (
            {**old[k], "geo_key": "0.000,0.000"} if pid == moved else old[k])}}} for k in keys for pid in places[k]))
        FakeApis.calls.clear()
        FakeApis.failures.clear()
        FakeApis.failures["/nearby-schools"] = [500, 500, 500]  # the first GreatSchools refresh fails

        # quota 6: a fetch starts only while calls so far + 3 (its retries) <= 6
        state, tasks, _ = run_dag(dagbag, "enrichment_refresh", quota=6)
        assert state == "success", tasks
        assert [cached(engine, "walkscore", k) for k in keys] == [({**OLD["walkscore"], "walk_score": 98,
                                                                    "transit_score": 100, "bike_score": 71}, True)] * 4 + [
            (OLD["walkscore"], False)]
        assert cached(engine, "greatschools", keys[0]) == (OLD["greatschools"], False)  # failed: previous answer kept
        assert cached(engine, "greatschools", keys[1]) == ({"school_rating": 6.5, "schools_nearby": 3}, True)
        assert calls_today(engine, "walkscore") == 4 and calls_today(engine, "greatschools") == 4
        assert FakeApis.calls == {"/score": 4, "/nearby-schools": 4}

        docs = scores_of(client, alias, [pid for k in keys for pid in places[k]])
        for i, k in enumerate(keys):
            for pid in places[k]:
                expected = OLD["walkscore"]["walk_score"] if i == 4 or pid == moved else 98  # 4: over quota
                assert docs[pid]["walk_score"] == expected, (i, pid)
                assert docs[pid]["school_rating"] == (6.5 if i == 1 else 1.0), (i, pid)
        assert docs[moved]["geo_key"] == "0.000,0.000"

        # the quota is spent for today: nothing is asked; crimeometer has no key any more
        again = refresh_scores(settings, per_day=6)
        assert again["providers"] == {
            "walkscore": {"refreshed": 0, "failed": 0, "skipped_quota": 1, "skipped_breaker": 0, "skipped_unconfigured": 0},
            "greatschools": {"refreshed": 0, "failed": 0, "skipped_quota": 4, "skipped_breaker": 0,
                             "skipped_unconfigured": 0},
            "crimeometer": {"refreshed": 0, "failed": 0, "skipped_quota": 0, "skipped_breaker": 0,
                            "skipped_unconfigured": 5}}
        assert again["documents_updated"] == 0 and FakeApis.calls == {"/score": 4, "/nearby-schools": 4}
        cli = subprocess.run([str(Path(sys.executable).with_name("hellohome")), "enrich", "scores", "--quota", "6"],
                             capture_output=True, text=True, timeout=120)  # the same, as ops run it by hand
        printed = cli.stderr  # the CLI's console writes to stderr, as every hellohome command
        assert cli.returncode == 0 and "walkscore: skipped_quota 1" in printed, printed[-2000:]
        assert "crimeometer: skipped_unconfigured 5" in printed and "documents updated 0" in printed

        more = refresh_scores(settings, per_day=100)
        assert more["providers"]["walkscore"]["refreshed"] == 1 and more["providers"]["greatschools"]["refreshed"] == 4
        # scripted updates count as updated even where the value is the same (places 2 and 3: schools)
        assert more["places_refreshed"] == 4  # keys 0, 2, 3, 4
        assert more["documents_updated"] == sum(len(places[k]) for k in keys if k != keys[1]) - 1  # not the moved one
        assert all(s["walk_score"] == 98 and s["school_rating"] == 6.5 for pid, s in scores_of(
            client, alias, [pid for k in keys for pid in places[k] if pid != moved]).items())
