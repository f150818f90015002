"""Third-party neighbourhood scores: Walk Score, GreatSchools and CrimeoMeter over HTTP, each behind
timeouts, retries with backoff, a rate limit and a circuit breaker; answers cached 24 h in
MariaDB per rounded location, so neighbours share one call. Without a key a provider is replaced
by an offline estimate from local data, marked `source: "estimated"`.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field

import requests
from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, text

from hellohome.config import Settings
from hellohome.retry import retrying

# one read gives the fresh answer, or the expired one a spent quota falls back on
GET = text("SELECT payload, error, expires_at > :now AS fresh FROM provider_cache WHERE provider = :p AND geo_key = :k")
PUT = text("""INSERT INTO provider_cache (provider, geo_key, payload, error, fetched_at, expires_at)
              VALUES (:p, :k, :payload, :error, :now, :expires)
              ON DUPLICATE KEY UPDATE payload = VALUES(payload), error = VALUES(error),
                                      fetched_at = VALUES(fetched_at), expires_at = VALUES(expires_at)""")
CALLED = text("""INSERT INTO provider_calls (provider, day, calls) VALUES (:p, :day, 1)
                 ON DUPLICATE KEY UPDATE calls = calls + 1""")
CALLS = text("SELECT calls FROM provider_calls WHERE provider = :p AND day = :day")
FAILURE_TTL = dt.timedelta(hours=1)  # a failed call is retried after an hour, not a day
MAX_REQUESTS = 3  # per fetch: the first try and two retries
CALL_OUTCOMES = ("ok", "retryable", "error")
CACHE_RESULTS = ("fresh", "miss", "circuit_open", "quota_spent")
CALLS_MADE = Counter("hellohome_provider_calls_total", "HTTP calls to a score provider, by outcome",
                     ["provider", "outcome"])
CACHE_LOOKUPS = Counter("hellohome_provider_cache_total", "Score lookups: answered by the 24 h cache, or not",
                        ["provider", "result"])
BREAKER_STATE = Gauge("hellohome_provider_breaker_state",
                      "Circuit breaker: -1 no key (offline estimate), 0 closed, 1 half-open, 2 open", ["provider"])
BREAKER_CODES = {"closed": 0, "half-open": 1, "open": 2}


class ProviderError(Exception):
    pass


class Retryable(ProviderError):
    """Timeouts, connection errors, 429 and 5xx: worth another attempt."""


class CircuitOpen(ProviderError):
    pass


class QuotaSpent(ProviderError):
    """Today's requests to this provider are used up (until 00:00 UTC)."""


def geo_key(lat: float, lon: float, precision: int) -> str:
    return f"{round(lat, precision):.{precision}f},{round(lon, precision):.{precision}f}"


@dataclass
class CircuitBreaker:
    """Open after `threshold` consecutive failures; after `cooldown_s` one trial call (half-open)
    decides whether to close again."""
    threshold: int = 5
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if time.monotonic() - self.opened_at >= self.cooldown_s else "open"

    def before(self) -> None:
        with self._lock:
            if self.state == "open":
                raise CircuitOpen("circuit open after repeated failures")

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.failures, self.opened_at = 0, None
            else:
                self.failures += 1
                if self.failures >= self.threshold or self.opened_at is not None:
                    self.opened_at = time.monotonic()


class RateLimit:
    """At most `per_s` calls a second from this process (spaced evenly)."""

    def __init__(self, per_s: float):
        self.interval, self.next_at, self.lock = 1.0 / per_s, 0.0, threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay, self.next_at = max(0.0, self.next_at - now), max(now, self.next_at) + self.interval
        if delay:
            time.sleep(delay)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def calls_today(engine: Engine, provider: str) -> int:
    """Requests made to this provider since 00:00 UTC (the quota's day), by every process."""
    with engine.connect() as conn:
        return conn.execute(CALLS, {"p": provider, "day": utc_now().date()}).scalar() or 0


class HttpProvider:
    name = "http"

    def __init__(self, base_url: str, key: str, timeout_s: float = 3.0, rate_per_s: float = 5.0,
                 breaker: CircuitBreaker | None = None, ledger: Engine | None = None,
                 daily_quota: int | None = None):
        self.base_url, self.key, self.timeout_s = base_url.rstrip("/"), key, timeout_s
        self.rate, self.breaker = RateLimit(rate_per_s), breaker or CircuitBreaker()
        self.session = requests.Session()
        # each request is counted in the ledger; a fetch starts only if its retries fit in the quota
        self.ledger, self.daily_quota = ledger, daily_quota

    def within_quota(self) -> bool:
        if self.ledger is None or self.daily_quota is None:
            return True
        return calls_today(self.ledger, self.name) + MAX_REQUESTS <= self.daily_quota

    def request(self, lat: float, lon: float) -> requests.Response:
        raise NotImplementedError

    def parse(self, body) -> dict:
        raise NotImplementedError

    def _attempt(self, lat: float, lon: float) -> dict:
        """Up to 3 calls, 0.2 s then 0.4 s apart, while the provider is busy or unreachable."""
        for attempt in retrying(lambda exc: isinstance(exc, Retryable), what=f"{self.name} call", cap_s=2,
                                max_attempts=MAX_REQUESTS, quiet=True):
            with attempt:
                return self._call(lat, lon)
        raise AssertionError("unreachable: retrying re-raises the last error")

    def _call(self, lat: float, lon: float) -> dict:
        self.rate.wait()
        if self.ledger is not None:
            with self.ledger.begin() as conn:
                conn.execute(CALLED, {"p": self.name, "day": utc_now().date()})
        try:
            response = self.request(lat, lon)
        except (requests.ConnectionError, requests.Timeout) as exc:
            CALLS_MADE.labels(self.name, "retryable").inc()
            raise Retryable(f"{exc.__class__.__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            CALLS_MADE.labels(self.name, "retryable").inc()
            raise Retryable(f"HTTP {response.status_code}")
        try:
            if response.status_code != 200:
                raise ProviderError(f"HTTP {response.status_code}")
            try:
                parsed = self.parse(response.json())
            except (ValueError, KeyError, TypeError) as exc:
                raise ProviderError(f"unexpected answer: {exc}") from exc
        except ProviderError:
            CALLS_MADE.labels(self.name, "error").inc()
            raise
        CALLS_MADE.labels(self.name, "ok").inc()
        return parsed

    def fetch(self, lat: float, lon: float) -> dict:
        if not self.within_quota():  # checked first: a spent quota says nothing of the provider's health
            raise QuotaSpent(f"daily quota of {self.daily_quota} requests spent")
        self.breaker.before()
        try:
            result = self._attempt(lat, lon)
        except ProviderError:
            self.breaker.record(False)
            raise
        self.breaker.record(True)
        return result


class WalkScore(HttpProvider):
    """GET /score?format=json&lat&lon&address&transit=1&bike=1&wsapikey (status 1 = success)."""
    name = "walkscore"

    def request(self, lat, lon):
        return self.session.get(f"{self.base_url}/score", timeout=self.timeout_s, params={
            "format": "json", "lat": lat, "lon": lon, "address": "", "transit": 1, "bike": 1, "wsapikey": self.key})

    def parse(self, body) -> dict:
        if body["status"] == 2:
            raise Retryable("score not yet available (status 2)")
        if body["status"] != 1:
            raise ProviderError(f"status {body['status']}")
        return {"walk_score": body.get("walkscore"), "transit_score": (body.get("transit") or {}).get("score"),
                "bike_score": (body.get("bike") or {}).get("score")}


class GreatSchools(HttpProvider):
    """GET /nearby-schools?lat&lon&limit&distance with X-API-Key: {"schools": [{"rating", ...}]}."""
    name = "greatschools"

    def request(self, lat, lon):
        return self.session.get(f"{self.base_url}/nearby-schools", timeout=self.timeout_s, headers={
            "X-API-Key": self.key}, params={"lat": lat, "lon": lon, "limit": 10, "distance": 2})

    def parse(self, body) -> dict:
        ratings = [s["rating"] for s in body["schools"] if isinstance(s.get("rating"), int | float)]
        return {"school_rating": round(sum(ratings) / len(ratings), 1) if ratings else None,
                "schools_nearby": len(body["schools"])}


class CrimeoMeter(HttpProvider):
    """GET /v1/incidents/stats?lat&lon&distance&datetime_ini&datetime_end with x-api-key."""
    name = "crimeometer"

    def request(self, lat, lon):
        end = dt.datetime.now(dt.UTC)
        fmt = "%Y-%m-%dT%H:%M:%S.000Z"
        return self.session.get(f"{self.base_url}/v1/incidents/stats", timeout=self.timeout_s, headers={
            "x-api-key": self.key}, params={"lat": lat, "lon": lon, "distance": "1km",
                                            "datetime_ini": (end - dt.timedelta(days=365)).strftime(fmt),
                                            "datetime_end": end.strftime(fmt)})

    def parse(self, body) -> dict:
        stats = body[0] if isinstance(body, list) else body
        return {"crime_incidents_1km_year": int(stats["total_incidents"])}


def configured(settings: Settings, ledger: Engine | None = None) -> dict[str, HttpProvider | None]:
    """name -> a client, or None where no key is configured (the offline estimate stands in);
    with a `ledger`, every request is counted in provider_calls and the daily quota applies."""
    def make(cls, url, key):
        return cls(url, key.get_secret_value(), settings.provider_timeout_s, settings.provider_rate_per_s,
                   ledger=ledger, daily_quota=settings.provider_daily_quota) if key else None

    clients = {"walkscore": make(WalkScore, settings.walkscore_url, settings.walkscore_key),
               "greatschools": make(GreatSchools, settings.greatschools_url, settings.greatschools_key),
               "crimeometer": make(CrimeoMeter, settings.crimeometer_url, settings.crimeometer_key)}
    for name, client in clients.items():  # every series exists from the start, at 0
        for outcome in CALL_OUTCOMES:
            CALLS_MADE.labels(name, outcome)
        for result in CACHE_RESULTS:
            CACHE_LOOKUPS.labels(name, result)
        breaker = client.breaker if client else None
        BREAKER_STATE.labels(name).set_function(lambda b=breaker: BREAKER_CODES[b.state] if b else -1)
    return clients


def cached_fetch(engine: Engine, provider: HttpProvider, key: str, lat: float, lon: float,
                 ttl: dt.timedelta) -> tuple[dict | None, str | None]:
    """(fields, error): from the cache while fresh, else one call (whose answer or failure is cached).
    With today's quota spent, an expired answer is used as it is (stale beats none; it stays expired,
    so `enrichment_refresh` renews it); with none, the failure is cached like any other."""
    now = utc_now()
    with engine.connect() as conn:
        cached = conn.execute(GET, {"p": provider.name, "k": key, "now": now}).first()
    if cached is not None and cached.fresh:
        CACHE_LOOKUPS.labels(provider.name, "fresh").inc()
        return decoded(cached.payload), cached.error
    try:
        fields, error = provider.fetch(lat, lon), None
        CACHE_LOOKUPS.labels(provider.name, "miss").inc()
    except CircuitOpen as exc:
        CACHE_LOOKUPS.labels(provider.name, "circuit_open").inc()
        return None, str(exc)  # not cached: the breaker decides when to try again
    except QuotaSpent as exc:
        CACHE_LOOKUPS.labels(provider.name, "quota_spent").inc()
        if cached is not None and cached.error is None:
            return decoded(cached.payload), None
        fields, error = None, str(exc)
    except ProviderError as exc:
        CACHE_LOOKUPS.labels(provider.name, "miss").inc()
        fields, error = None, str(exc)[:500]
    store(engine, provider.name, key, fields, error, ttl)
    return fields, error


def decoded(payload) -> dict | None:
    """A cached JSON payload as stored (the driver may return JSON columns as text)."""
    return json.loads(payload) if isinstance(payload, str) else payload


def store(engine: Engine, provider: str, key: str, fields: dict | None, error: str | None, ttl: dt.timedelta) -> None:
    """Cache an answer for `ttl`, or a failure for an hour."""
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(PUT, {"p": provider, "k": key, "payload": None if fields is None else json.dumps(fields),
                           "error": error, "now": now, "expires": now + (ttl if error is None else FAILURE_TTL)})

