"""Neighbourhood scores of a location: each provider's fields, or null with the reason, and where
each came from ("api", "estimated", "unavailable")."""
from __future__ import annotations

import datetime as dt
import math

from opensearchpy import OpenSearch
from sqlalchemy import Connection, Engine, bindparam, text

from hellohome.config import Settings
from hellohome.enrich.providers import HttpProvider, cached_fetch, configured, decoded, geo_key, utc_now

FIELDS = {"walkscore": ("walk_score", "transit_score", "bike_score"),
          "greatschools": ("school_rating", "schools_nearby"),
          "crimeometer": ("crime_incidents_1km_year",)}
DENSE = 300  # listings within 500 m at which the offline walkability estimate reaches 100
CACHED = text("SELECT provider, geo_key, payload, error FROM provider_cache "
              "WHERE geo_key IN :keys AND expires_at > :now").bindparams(bindparam("keys", expanding=True))
NEVER = dt.datetime(1970, 1, 1)


class DensityEstimate(HttpProvider):
    """Offline walkability: listings within 500 m of the point, on a log scale to 0-100 (dense
    neighbourhoods are walkable ones). Same interface and cache as the real providers."""
    name = "walkscore-estimate"

    def __init__(self, client: OpenSearch, alias: str):
        self.client, self.alias = client, alias

    def fetch(self, lat: float, lon: float) -> dict:
        n = self.client.count(index=self.alias, body={"query": {"bool": {"filter": [
            {"term": {"status": "active"}},
            {"geo_distance": {"distance": "500m", "location": {"lat": lat, "lon": lon}}}]}}})["count"]
        return {"walk_score": min(100, round(100 * math.log1p(n) / math.log1p(DENSE))), "listings_500m": n}


class Scorer:
    def __init__(self, settings: Settings, engine: Engine, client: OpenSearch, alias: str,
                 providers: dict[str, HttpProvider | None] | None = None):
        self.settings, self.engine = settings, engine
        self.providers = configured(settings, ledger=engine) if providers is None else providers
        self.estimate = DensityEstimate(client, alias)
        self.ttl = dt.timedelta(hours=settings.provider_ttl_h)

    def key(self, lat: float, lon: float) -> str:
        return geo_key(lat, lon, self.settings.provider_geo_precision)

    def _source(self, name: str) -> tuple[HttpProvider | None, str]:
        provider = self.providers.get(name)
        if provider is not None:
            return provider, "api"
        if name == "walkscore":
            return self.estimate, "estimated"
        return None, "unavailable"

    def _assemble(self, key: str, results: dict[str, tuple[dict | None, str | None]]) -> dict:
        out: dict = {"geo_key": key, "source": {}, "reason": {}}
        for name, fields in FIELDS.items():
            values, error = results[name]
            for f in fields:
                out[f] = (values or {}).get(f)
            out["source"][name] = self._source(name)[1] if values is not None else "unavailable"
            if values is None:
                out["reason"][name] = error or f"no {name} key configured and no local data to estimate from"
        return out

    def scores(self, lat: float, lon: float) -> dict:
        key, results = self.key(lat, lon), {}
        for name in FIELDS:
            provider, _ = self._source(name)
            results[name] = cached_fetch(self.engine, provider, key, lat, lon, self.ttl) if provider else (None, None)
        return self._assemble(key, results)

    def sources(self) -> list[HttpProvider]:
        """What answers for each score now: the provider's API, or the offline estimate."""
        return [p for p in (self._source(name)[0] for name in FIELDS) if p is not None]

    def cached(self, conn: Connection, keys: set[str], fresh_only: bool = True) -> dict[str, dict]:
        """Scores of these locations that the cache holds in full (nothing is fetched); with
        `fresh_only` off, expired answers count too (a refresh that failed keeps the previous one)."""
        if not keys:
            return {}
        now = utc_now() if fresh_only else NEVER
        rows: dict[str, dict[str, tuple]] = {}
        for provider, key, payload, error in conn.execute(CACHED, {"keys": sorted(keys), "now": now}):
            rows.setdefault(key, {})[provider] = (decoded(payload), error)
        out = {}
        for key, by_provider in rows.items():
            results = {}
            for name in FIELDS:
                provider, _ = self._source(name)
                if provider is None:
                    results[name] = (None, None)
                elif provider.name in by_provider:
                    results[name] = by_provider[provider.name]
            if len(results) == len(FIELDS):
                out[key] = self._assemble(key, results)
        return out
