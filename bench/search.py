"""Search latency through the real API (gunicorn) against the MariaDB baseline, same queries, same run.

    .venv/bin/python -m bench.search [--schema hellohome_bench --prefix bench-1m-] [--n 100] [--seconds 15]

Per query type: P50/P95/P99 sequentially (client-side, through HTTP, and OpenSearch's own `took`),
the same queries as the brief's "MySQL" would run them (FULLTEXT, one GROUP BY per facet, LIKE
'prefix%'), and closed-loop load with 8 and 32 clients. The API is restarted with its rate limit
lifted for the run (measured once its workers are idle: each loads the text model after starting)
and restored afterwards. Writes bench/results/search.json.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import requests
from sqlalchemy import text

from bench.common import pct, save
from hellohome.config import reload_settings
from hellohome.db.engine import get_engine
from hellohome.search import facets
from hellohome.stack import api

WORDS = ["loft", "brookln", "apartmnt", "cozy studio", "sunny room", "garden", "manhatan view", "quiet",
         "spacious bedroom", "williamsburg", "harlem brownstone", "park slope", "castle view", "old town flat"]
PREFIXES = ["wil", "brook", "harl", "chel", "old t", "lei", "cozy", "sunn", "manh", "bushw"]
SEMANTIC = ["quiet flat near the castle with a view", "cosy place for a family with kids", "modern studio close to "
            "the university", "room with a garden and parking", "romantic weekend in the old town"]
POINTS = [(40.7829, -73.9654), (40.7081, -73.9571), (40.6782, -73.9442), (55.9486, -3.1999), (40.7306, -73.9866)]



def summary(ms: list[float]) -> dict:
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "p99_ms": pct(ms, 99), "mean_ms": round(statistics.mean(ms), 1)}


def api_queries(rng: random.Random) -> dict:
    """query type -> a function giving (method, path, json) for one random query."""
    return {
        "fuzzy_bm25": lambda: ("POST", "/api/v1/search", {"q": rng.choice(WORDS), "interpret": False, "facets": False}),
        "filtered": lambda: ("POST", "/api/v1/search", {"q": rng.choice(WORDS), "interpret": False, "facets": False,
                                                        "filters": {"price_max": rng.choice([80, 150, 300]),
                                                                    "room_type": ["Private room"],
                                                                    "availability_min": 30}}),
        "facets_16": lambda: ("POST", "/api/v1/search", {"q": rng.choice(WORDS), "interpret": False, "facets": True,
                                                         "filters": {"price_max": rng.choice([150, 300, 1000])}}),
        "autocomplete": lambda: ("GET", f"/api/v1/autocomplete?q={rng.choice(PREFIXES)}", None),
        "geo": lambda: ("POST", "/api/v1/search", (lambda p: {"facets": False, "sort": "distance", "filters": {
            "near": {"lat": p[0], "lon": p[1], "radius_km": 2}}})(rng.choice(POINTS))),
        # semantic and hybrid run where listings have vectors (the enriched Edinburgh ones)
        "semantic": lambda: ("POST", "/api/v1/search", {"q": rng.choice(SEMANTIC), "mode": "semantic", "facets": False,
                                                        "interpret": False, "filters": {"city": ["Edinburgh"]}}),
        "hybrid": lambda: ("POST", "/api/v1/search", {"q": rng.choice(SEMANTIC), "mode": "hybrid", "facets": False,
                                                      "interpret": False, "filters": {"city": ["Edinburgh"]}}),
    }


def baseline_queries(rng: random.Random) -> dict:
    """The same query types as plain SQL on MariaDB (no fuzziness, no vectors: what it can do)."""
    cols = "id, title, price, area, neighbourhood"
    match = "MATCH(title, description) AGAINST (:q IN NATURAL LANGUAGE MODE)"
    facet_sql = [f"SELECT {field}, COUNT(*) FROM properties WHERE status = 'active' AND {match} AND price <= :pmax "
                 f"GROUP BY {field} ORDER BY COUNT(*) DESC LIMIT 40"
                 for field in ("city", "area", "neighbourhood", "room_type", "property_type", "bedrooms", "bathrooms",
                               "accommodates", "minimum_nights", "availability_365", "review_score")]
    facet_sql += [f"SELECT JSON_LENGTH(amenities), COUNT(*) FROM properties WHERE status = 'active' AND {match} "
                  f"AND price <= :pmax GROUP BY 1",
                  f"SELECT FLOOR(price / 50), COUNT(*) FROM properties WHERE status = 'active' AND {match} "
                  f"AND price <= :pmax GROUP BY 1",
                  f"SELECT MIN(price), AVG(price), MAX(price) FROM properties WHERE status = 'active' AND {match} "
                  f"AND price <= :pmax",
                  "SELECT u.role, COUNT(*) FROM properties p JOIN users u ON u.id = p.host_id WHERE p.status = 'active' "
                  "AND MATCH(p.title, p.description) AGAINST (:q IN NATURAL LANGUAGE MODE) AND p.price <= :pmax GROUP BY 1",
                  f"SELECT COUNT(*) FROM properties WHERE status = 'active' AND {match} AND price <= :pmax"]
    geo = ("SELECT id, ST_Distance_Sphere(POINT(longitude, latitude), POINT(:lon, :lat)) AS d FROM properties "
           "WHERE status = 'active' AND latitude BETWEEN :lat - 0.02 AND :lat + 0.02 "
           "AND longitude BETWEEN :lon - 0.03 AND :lon + 0.03 HAVING d <= 2000 ORDER BY d, id LIMIT 20")
    return {
        "fuzzy_bm25": lambda: [(f"SELECT {cols} FROM properties WHERE status = 'active' AND {match} LIMIT 20",
                                {"q": rng.choice(WORDS)})],
        "filtered": lambda: [(f"SELECT {cols} FROM properties WHERE status = 'active' AND {match} AND price <= :pmax "
                              "AND room_type = 'Private room' AND availability_365 >= 30 LIMIT 20",
                              {"q": rng.choice(WORDS), "pmax": rng.choice([80, 150, 300])})],
        "facets_16": lambda: (lambda q, p: [(f"SELECT {cols} FROM properties WHERE status = 'active' AND {match} "
                                             "AND price <= :pmax LIMIT 20", {"q": q, "pmax": p})]
                              + [(sql, {"q": q, "pmax": p}) for sql in facet_sql])(rng.choice(WORDS),
                                                                                    rng.choice([150, 300, 1000])),
        "autocomplete": lambda: (lambda pre: [
            ("SELECT id, title FROM properties WHERE status = 'active' AND title LIKE :p LIMIT 5", {"p": pre + "%"}),
            ("SELECT DISTINCT neighbourhood FROM properties WHERE neighbourhood LIKE :p LIMIT 5", {"p": pre + "%"})])(
            rng.choice(PREFIXES)),
        "geo": lambda: (lambda p: [(geo, {"lat": p[0], "lon": p[1]})])(rng.choice(POINTS)),
    }


def timed_api(session: requests.Session, base: str, query) -> tuple[float, float | None]:
    method, path, body = query
    started = time.perf_counter()
    r = session.request(method, base + path, json=body, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    r.raise_for_status()
    took = r.json().get("took_ms")
    return elapsed, (took["opensearch"] if isinstance(took, dict) else None)


def closed_loop(base: str, makers: dict, clients: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds

    def worker(seed: int) -> list[float]:
        rng, session, out = random.Random(seed), requests.Session(), []
        types = list(makers)
        while time.monotonic() < deadline:
            out.append(timed_api(session, base, makers[rng.choice(types)]())[0])
        return out

    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for part in pool.map(worker, range(clients)) for ms in part]
    return {"clients": clients, "requests": len(latencies), "qps": round(len(latencies) / seconds), **summary(latencies)}


def settle(pid: int, timeout_s: float = 120, idle_percent: float = 10) -> float:
    """Wait until the API's processes are idle; the seconds waited. Each gunicorn worker loads the
    text model in the background once started: measured right away, the first ~200 requests had an
    autocomplete P95 of 50-70 ms instead of ~10."""
    def cpu_percent(procs) -> float:  # since the previous call, summed
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.cpu_percent()
        return total

    root, started = psutil.Process(pid), time.monotonic()
    while time.monotonic() - started < timeout_s:
        procs = [root, *root.children(recursive=True)]
        cpu_percent(procs)
        time.sleep(1)
        if cpu_percent(procs) < idle_percent:
            break
    return round(time.monotonic() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", default=None, help="MariaDB schema of the baseline (default: HH_DB_NAME)")
    parser.add_argument("--prefix", default=None, help="index prefix the API searches during the run "
                        "(default: HH_INDEX_PREFIX); the API serves the stack's own index again afterwards")
    parser.add_argument("--n", type=int, default=100, help="sequential queries per type")
    parser.add_argument("--seconds", type=float, default=15, help="closed-loop duration per client count")
    parser.add_argument("--types", default=None, help="comma-separated query types (default: all)")
    parser.add_argument("--label", default="", help="suffix of the results file (search-<label>.json)")
    args = parser.parse_args()
    overrides = {"HH_API_SEARCH_LIMIT": "1000000 per second"}
    if args.prefix is not None:
        overrides["HH_INDEX_PREFIX"] = args.prefix
    before = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    settings = reload_settings()
    api.SERVICE.stop(settings)
    api.SERVICE.start(settings)
    settled_s = settle(api.SERVICE.pid(settings))
    base, rng = api.url(settings), random.Random(7)
    engine = get_engine(settings, "readonly", args.schema or settings.db_name)
    with engine.connect() as conn:
        listings = conn.execute(text("SELECT COUNT(*) FROM properties WHERE status = 'active'")).scalar()
    results, session = [], requests.Session()
    makers, baseline = api_queries(rng), baseline_queries(rng)
    if args.types:
        makers = {t: makers[t] for t in args.types.split(",")}
    try:
        for _ in range(20):  # warm both sides
            for warm in makers.values():
                timed_api(session, base, warm())
        for qtype in makers:
            client_ms, os_ms = [], []
            for _ in range(args.n):
                c, o = timed_api(session, base, makers[qtype]())
                client_ms.append(c)
                if o is not None:
                    os_ms.append(o)
            db_ms = []
            with engine.connect() as conn:
                for _ in range(max(10, args.n // 4) if qtype in baseline else 0):
                    started = time.perf_counter()
                    for sql, params in baseline[qtype]():
                        conn.execute(text(sql), params).all()
                    db_ms.append((time.perf_counter() - started) * 1000)
            api_s = summary(client_ms)
            row = {"case": f"sequential {qtype}", **{f"api_{k}": v for k, v in api_s.items()},
                   "opensearch_p95_ms": pct(os_ms, 95) if os_ms else None}
            if db_ms:  # MariaDB has no vectors: nothing to compare semantic and hybrid with
                db_s = summary(db_ms)
                row |= {"mariadb_p50_ms": db_s["p50_ms"], "mariadb_p95_ms": db_s["p95_ms"],
                        "mariadb_over_api_p95": round(db_s["p95_ms"] / api_s["p95_ms"], 1)}
            results.append(row)
        for clients in (8, 32):
            results.append({"case": f"closed loop, mixed, {clients} clients",
                            **{f"api_{k}": v for k, v in closed_loop(base, makers, clients, args.seconds).items()}})
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value
        restored = reload_settings()
        api.SERVICE.stop(restored)
        api.SERVICE.start(restored)
    save(f"search-{args.label}" if args.label else "search", {"listings": listings, "schema": args.schema or settings.db_name, "n": args.n,
                    "seconds": args.seconds, "api_workers": settings.api_workers, "api_threads": settings.api_threads,
                    "index_shards": settings.index_shards, "facets": len(facets.NAMES), "api_settled_s": settled_s,
                    "semantic_and_hybrid": "over the listings with vectors (Edinburgh after bench.enrich)"}, results)


if __name__ == "__main__":
    main()
