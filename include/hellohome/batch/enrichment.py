"""The `enrichment_refresh` DAG's work: re-fetch third-party neighbourhood scores whose cached
answer is past its TTL (24 h), oldest first, for places where listings still are.

Each provider's requests count against its daily quota (`provider_calls`, shared with the
enricher): a fetch is only started when even its retries fit in what is left today. An open
circuit breaker skips the provider's remaining places. A failed refresh keeps the previous answer
(stale scores beat none) and is tried again on the next run. Documents of refreshed places get
the new scores at once, unless they moved elsewhere meanwhile.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict

from opensearchpy import OpenSearch, helpers
from sqlalchemy import bindparam, text

from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.enrich.providers import CircuitOpen, HttpProvider, ProviderError, QuotaSpent, store, utc_now
from hellohome.enrich.scores import FIELDS, DensityEstimate, Scorer
from hellohome.search import indexes

log = logging.getLogger("hellohome.enrichment_refresh")
PLACES = text("SELECT id, latitude, longitude FROM properties WHERE status <> 'deleted'")
EXPIRED = text("SELECT provider, geo_key FROM provider_cache WHERE provider IN :names AND expires_at <= :now "
               "ORDER BY expires_at").bindparams(bindparam("names", expanding=True))
# only where the document still shows this place's scores: one that moved is the enricher's
SET_SCORES = """if (ctx._source.enrichment != null && ctx._source.enrichment.scores != null
                    && ctx._source.enrichment.scores.geo_key == params.scores.geo_key) {
                  ctx._source.enrichment.scores = params.scores } else { ctx.op = 'noop' }"""
OUTCOMES = ("refreshed", "failed", "skipped_quota", "skipped_breaker", "skipped_unconfigured")


def places(scorer: Scorer) -> dict[str, list[int]]:
    """Cache key of each place with listings -> their ids."""
    out: dict[str, list[int]] = defaultdict(list)
    with scorer.engine.connect() as conn:
        for pid, lat, lon in conn.execution_options(stream_results=True).execute(PLACES):
            out[scorer.key(float(lat), float(lon))].append(pid)
    return out


def refresh_place(provider: HttpProvider, key: str, scorer: Scorer) -> str:
    lat, lon = (float(x) for x in key.split(","))
    try:
        fields = provider.fetch(lat, lon)  # estimates from local data never ask a third party: no quota
    except QuotaSpent:
        return "skipped_quota"
    except CircuitOpen:
        return "skipped_breaker"
    except ProviderError as exc:
        log.warning("score refresh failed; the previous answer stays",
                    extra={"fields": {"provider": provider.name, "geo_key": key, "error": str(exc)[:200]}})
        return "failed"
    store(scorer.engine, provider.name, key, fields, None, scorer.ttl)
    return "refreshed"


def update_documents(scorer: Scorer, client: OpenSearch, alias: str, refreshed: set[str],
                     ids_by_key: dict[str, list[int]]) -> int:
    """Write the places' current scores into their documents; returns how many changed."""
    with scorer.engine.connect() as conn:
        scores = scorer.cached(conn, refreshed, fresh_only=False)
    actions = ({"_op_type": "update", "_index": alias, "_id": str(pid),
                "script": {"source": SET_SCORES, "lang": "painless", "params": {"scores": scores[key]}}}
               for key in sorted(scores) for pid in ids_by_key[key])
    updated = 0
    for ok, item in helpers.streaming_bulk(client, actions, raise_on_error=False, max_retries=3):
        result = item["update"]
        updated += ok and result.get("result") == "updated"
        if not ok and result.get("status") != 404:  # 404: deleted since, nothing to refresh
            log.warning("score update of a document failed", extra={"fields": {"id": result["_id"],
                                                                             "error": result.get("error")}})
    return updated


def refresh_scores(settings: Settings, per_day: int | None = None, limit: int | None = None,
                   providers: dict[str, HttpProvider | None] | None = None) -> dict:
    """Refresh expired scores of places in use (at most `limit` of them, `per_day` requests per
    provider, default the settings'); returns counts per provider and outcome, and the documents
    updated. `providers` replaces the configured clients (tests)."""
    engine, client = get_engine(settings, "app"), indexes.client(settings)
    alias = indexes.write_alias("properties", settings.index_prefix)
    scorer = Scorer(settings, engine, client, indexes.read_alias("properties", settings.index_prefix), providers)
    per_day = settings.provider_daily_quota if per_day is None else per_day
    sources = {p.name: p for p in scorer.sources()}
    for provider in sources.values():
        provider.daily_quota = per_day  # this run's own clients
    known = sorted(set(sources) | set(FIELDS) | {DensityEstimate.name})  # every provider that may have cached
    ids_by_key = places(scorer)
    with scorer.engine.connect() as conn:
        expired = [(name, key) for name, key in conn.execute(EXPIRED, {"names": known, "now": utc_now()})
                   if key in ids_by_key]
    counts: dict[str, Counter] = {name: Counter(dict.fromkeys(OUTCOMES, 0)) for name in known}
    refreshed: set[str] = set()
    for name, key in expired[:limit]:
        provider = sources.get(name)
        outcome = refresh_place(provider, key, scorer) if provider else "skipped_unconfigured"
        counts[name][outcome] += 1
        if outcome == "refreshed":
            refreshed.add(key)
    report = {"providers": {name: dict(c) for name, c in counts.items() if sum(c.values())},
              "places_expired": len(expired), "places_refreshed": len(refreshed),
              "documents_updated": update_documents(scorer, client, alias, refreshed, ids_by_key)}
    log.info("scores refreshed", extra={"fields": report})
    return report
