"""Third-party clients against a local HTTP server speaking each API's documented shape (the real
services are paid and unreachable here): 24 h cache, retries, rate limit, circuit breaker."""
from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.enrich.providers import (
    CircuitBreaker,
    CircuitOpen,
    CrimeoMeter,
    GreatSchools,
    RateLimit,
    WalkScore,
    cached_fetch,
    calls_today,
    configured,
    store,
)
from hellohome.enrich.scores import Scorer
from hellohome.search import indexes
from tests.fake_providers import FakeApis
from tests.http_server import serving


@pytest.fixture(scope="module")
def fake_apis():
    with serving(FakeApis) as url:
        yield url


@pytest.fixture(autouse=True)
def reset_server():
    FakeApis.calls.clear()
    FakeApis.failures.clear()


@pytest.fixture
def engine(loaded_db):
    return get_engine(get_settings(), "app")


def somewhere() -> tuple[float, float, str]:
    lat, lon = round(random.uniform(40.5, 40.9), 3), round(random.uniform(-74.2, -73.7), 3)
    return lat, lon, f"{lat:.3f},{lon:.3f}"


def test_a_second_call_within_24h_makes_no_request_and_after_expiry_it_does(fake_apis, engine):
    provider, ttl = WalkScore(fake_apis, "good-key"), dt.timedelta(hours=24)
    lat, lon, key = somewhere()
    first = cached_fetch(engine, provider, key, lat, lon, ttl)
    assert first == ({"walk_score": 98, "transit_score": 100, "bike_score": 71}, None)
    assert cached_fetch(engine, provider, key, lat + 0.0002, lon, ttl) == first  # a neighbour shares it
    assert FakeApis.calls["/score"] == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE provider_cache SET expires_at = :past WHERE geo_key = :k"),
                     {"past": dt.datetime(2020, 1, 1), "k": key})
    cached_fetch(engine, provider, key, lat, lon, ttl)
    assert FakeApis.calls["/score"] == 2


def test_shapes_of_the_other_apis(fake_apis):
    assert GreatSchools(fake_apis, "good-key").fetch(40.7, -74.0) == {"school_rating": 6.5, "schools_nearby": 3}
    assert CrimeoMeter(fake_apis, "good-key").fetch(40.7, -74.0) == {"crime_incidents_1km_year": 412}


def test_retries_with_backoff_then_succeeds(fake_apis):
    FakeApis.failures["/nearby-schools"] = [503, 429]
    assert GreatSchools(fake_apis, "good-key").fetch(40.7, -74.0)["school_rating"] == 6.5
    assert FakeApis.calls["/nearby-schools"] == 3


def test_a_refused_key_is_not_retried_and_is_cached_as_a_failure(fake_apis, engine):
    lat, lon, key = somewhere()
    values, error = cached_fetch(engine, WalkScore(fake_apis, "bad-key"), key, lat, lon, dt.timedelta(hours=24))
    assert values is None and "403" in error and FakeApis.calls["/score"] == 1
    cached_fetch(engine, WalkScore(fake_apis, "bad-key"), key, lat, lon, dt.timedelta(hours=24))
    assert FakeApis.calls["/score"] == 1


def test_every_request_counts_against_the_daily_quota_retries_included(fake_apis, engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM provider_calls WHERE provider = 'greatschools'"))
    FakeApis.failures["/nearby-schools"] = [503, 503]
    GreatSchools(fake_apis, "good-key", ledger=engine).fetch(40.7, -74.0)
    GreatSchools(fake_apis, "good-key").fetch(40.7, -74.0)  # no ledger: not counted
    assert calls_today(engine, "greatschools") == 3 and FakeApis.calls["/nearby-schools"] == 4


def test_the_enricher_stops_asking_when_the_daily_quota_is_spent(fake_apis, engine):
    """Spent = fewer requests left than a fetch may make (3). A stale answer is then served as it is
    and stays expired (for enrichment_refresh); a place never asked gets a cached failure."""
    today, ttl = dt.datetime.now(dt.UTC).date(), dt.timedelta(hours=24)
    settings = get_settings().model_copy(update={"provider_daily_quota": 10, "walkscore_key": SecretStr("good-key"),
                                                 "walkscore_url": fake_apis})
    provider = configured(settings, ledger=engine)["walkscore"]
    assert provider.daily_quota == 10
    (lat, lon, fresh_key), (lat2, lon2, stale_key) = somewhere(), somewhere()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM provider_calls WHERE provider = 'walkscore'"))
        conn.execute(text("INSERT INTO provider_calls (provider, day, calls) VALUES ('walkscore', :d, 7)"), {"d": today})
    assert cached_fetch(engine, provider, fresh_key, lat, lon, ttl)[1] is None  # 7 + 3 <= 10: asked
    assert FakeApis.calls["/score"] == 1 and calls_today(engine, "walkscore") == 8
    old = {"walk_score": 12, "transit_score": 3, "bike_score": 4}
    store(engine, "walkscore", stale_key, old, None, dt.timedelta(hours=-1))  # expired an hour ago
    assert cached_fetch(engine, provider, stale_key, lat2, lon2, ttl) == (old, None)  # 8 + 3 > 10
    lat3, lon3, never_key = somewhere()
    assert cached_fetch(engine, provider, never_key, lat3, lon3, ttl) == (None, "daily quota of 10 requests spent")
    assert FakeApis.calls["/score"] == 1 and calls_today(engine, "walkscore") == 8
    assert provider.breaker.state == "closed"  # a spent quota is not a provider failure
    with engine.connect() as conn:
        expired = dict(conn.execute(text("SELECT geo_key, expires_at < UTC_TIMESTAMP() FROM provider_cache "
                                         "WHERE provider = 'walkscore' AND geo_key IN (:a, :b)"),
                                    {"a": stale_key, "b": never_key}).all())
    assert expired == {stale_key: 1, never_key: 0}  # the failure is cached for an hour


def test_circuit_breaker_opens_and_closes(fake_apis):
    provider = CrimeoMeter(fake_apis, "good-key", breaker=CircuitBreaker(threshold=2, cooldown_s=0.5))
    FakeApis.failures["/v1/incidents/stats"] = [500] * 6
    for _ in range(2):
        with pytest.raises(Exception, match="HTTP 500"):
            provider.fetch(40.7, -74.0)
    assert provider.breaker.state == "open"
    calls = FakeApis.calls["/v1/incidents/stats"]
    with pytest.raises(CircuitOpen):
        provider.fetch(40.7, -74.0)
    assert FakeApis.calls["/v1/incidents/stats"] == calls  # no request while open
    time.sleep(0.6)
    assert provider.breaker.state == "half-open"
    assert provider.fetch(40.7, -74.0) == {"crime_incidents_1km_year": 412}
    assert provider.breaker.state == "closed"


def test_rate_limit_spaces_calls():
    limit, started = RateLimit(per_s=20), time.monotonic()
    for _ in range(6):
        limit.wait()
    assert time.monotonic() - started >= 0.24


def test_scores_with_keys_and_a_failing_provider(fake_apis, engine, stack):
    FakeApis.failures["/nearby-schools"] = [500] * 3
    providers = {"walkscore": WalkScore(fake_apis, "good-key"), "greatschools": GreatSchools(fake_apis, "good-key"),
                 "crimeometer": CrimeoMeter(fake_apis, "good-key")}
    scorer = Scorer(stack, engine, indexes.client(stack), "unused", providers)
    lat, lon, _ = somewhere()
    scores = scorer.scores(lat, lon)
    assert scores["walk_score"] == 98 and scores["crime_incidents_1km_year"] == 412
    assert scores["school_rating"] is None and "HTTP 500" in scores["reason"]["greatschools"]
    assert scores["source"] == {"walkscore": "api", "greatschools": "unavailable", "crimeometer": "api"}


def test_without_keys_walkability_is_estimated_from_listing_density(search_settings, engine):
    scorer = Scorer(search_settings, engine, indexes.client(search_settings),
                    indexes.read_alias("properties", search_settings.index_prefix),
                    {"walkscore": None, "greatschools": None, "crimeometer": None})
    midtown, staten = scorer.scores(40.7549, -73.9840), scorer.scores(40.5795, -74.1502)
    assert midtown["source"]["walkscore"] == "estimated" and midtown["walk_score"] > staten["walk_score"]
    assert midtown["school_rating"] is None and "no greatschools key" in midtown["reason"]["greatschools"]
