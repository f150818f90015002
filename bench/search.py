"""Search latency through the real API (gunicorn) against the MariaDB baseline, same queries, same run.

    .venv/bin/python -m bench.search [--schema hellohome_bench --prefix bench-1m-] [--n 100] [--seconds 15]

Per query type: P50/P95/P99 sequentially (client-side, through HTTP, and OpenSearch's own `took`)
and the brief's "MySQL" side like for like (bench/mariadb_baseline.py): the very same query
parameters, the same number of samples and the same warm-up on both sides (alternating which goes
first), the API's 16 facet definitions, the indexes a DBA would add, and how much the two answers
overlap; then closed-loop load with 8 and 32 clients. The API is restarted with its rate limit
lifted for the run (measured once its workers are idle: each loads the text model after starting)
and restored afterwards. Each run is kept: bench/results/search[-label]/<time>-<commit>.json.
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
from tqdm import tqdm

from bench import mariadb_baseline
from bench.common import Conditions, latency, pct, save
from hellohome.config import reload_settings
from hellohome.db.engine import get_engine
from hellohome.search import facets, indexes
from hellohome.stack import api

WORDS = ["loft", "brookln", "apartmnt", "cozy studio", "sunny room", "garden", "manhatan view", "quiet",
         "spacious bedroom", "williamsburg", "harlem brownstone", "park slope", "castle view", "old town flat"]
PREFIXES = ["wil", "brook", "harl", "chel", "old t", "lei", "cozy", "sunn", "manh", "bushw"]
SEMANTIC = ["quiet flat near the castle with a view", "cosy place for a family with kids", "modern studio close to "
            "the university", "room with a garden and parking", "romantic weekend in the old town"]
POINTS = [(40.7829, -73.9654), (40.7081, -73.9571), (40.6782, -73.9442), (55.9486, -3.1999), (40.7306, -73.9866)]



def make_case(qtype: str, rng: random.Random) -> dict:
    """One query's parameters: the API and MariaDB get the very same ones."""
    return {"q": rng.choice(SEMANTIC if qtype in ("semantic", "hybrid") else WORDS),
            "pmax": rng.choice([80, 150, 300] if qtype == "filtered" else [150, 300, 1000]),
            "prefix": rng.choice(PREFIXES), "point": rng.choice(POINTS)}


def api_request(qtype: str, case: dict) -> tuple[str, str, dict | None]:
    """(method, path, json) of the API query of `qtype` with these parameters."""
    text_only = {"q": case["q"], "interpret": False, "facets": False}
    return {
        "fuzzy_bm25": lambda: ("POST", "/api/v1/search", text_only),
        "filtered": lambda: ("POST", "/api/v1/search", {**text_only, "filters": {
            "price_max": case["pmax"], "room_type": ["Private room"], "availability_min": 30}}),
        "facets_16": lambda: ("POST", "/api/v1/search", {**text_only, "facets": True,
                                                         "filters": {"price_max": case["pmax"]}}),
        "autocomplete": lambda: ("GET", f"/api/v1/autocomplete?q={case['prefix']}", None),
        "geo": lambda: ("POST", "/api/v1/search", {"facets": False, "sort": "distance", "filters": {
            "near": {"lat": case["point"][0], "lon": case["point"][1], "radius_km": 2}}}),
        # over every listing with a text vector (the run records how many have one)
        "semantic": lambda: ("POST", "/api/v1/search", {**text_only, "mode": "semantic"}),
        "hybrid": lambda: ("POST", "/api/v1/search", {**text_only, "mode": "hybrid"}),
    }[qtype]()


TYPES = ("fuzzy_bm25", "filtered", "facets_16", "autocomplete", "geo", "semantic", "hybrid")


def _returned(body: dict) -> list[str]:
    """What a response returned, comparable with the SQL's first column: ids, or titles for autocomplete."""
    if "listings" in body:
        return [h["title"].lower() for h in body["listings"]]
    return [h["id"] for h in body.get("hits", [])]


def overlap(api: list[str], sql: list[str]) -> float | None:
    """Share of the smaller answer found in the other (None when both are empty)."""
    if not api and not sql:
        return None
    return len(set(api) & set(sql)) / max(1, min(len(api), len(sql)))


def timed_api(session: requests.Session, base: str, query) -> tuple[float, float | None, list[str]]:
    """(ms through HTTP, OpenSearch's own ms, what it returned)."""
    method, path, body = query
    started = time.perf_counter()
    r = session.request(method, base + path, json=body, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    r.raise_for_status()
    answer = r.json()
    took = answer.get("took_ms")
    return elapsed, (took["opensearch"] if isinstance(took, dict) else None), _returned(answer)


def timed_sql(conn, statements: list[tuple[str, dict]]) -> tuple[float, list[str]]:
    """(ms for every statement of one query, the first statement's first column)."""
    started = time.perf_counter()
    rows = [conn.execute(text(sql), params).all() for sql, params in statements]
    return (time.perf_counter() - started) * 1000, [str(r[0]).lower() for r in rows[0]]


def closed_loop(base: str, types: list[str], clients: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds

    def worker(seed: int) -> list[float]:
        rng, session, out = random.Random(seed), requests.Session(), []
        while time.monotonic() < deadline:
            qtype = rng.choice(types)
            out.append(timed_api(session, base, api_request(qtype, make_case(qtype, rng)))[0])
        return out

    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for part in pool.map(worker, range(clients)) for ms in part]
    return {"clients": clients, "requests": len(latencies), "qps": round(len(latencies) / seconds), **latency(latencies)}


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


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 1) if ours is not None and theirs else None


def measure(qtype: str, n: int, rng: random.Random, session: requests.Session, base: str, conn) -> dict:
    """n queries of one type on both sides, the same cases, alternating which side goes first."""
    client_ms, os_ms, db_ms, overlaps, db_empty = [], [], [], [], 0
    for i in tqdm(range(n), desc=qtype, unit="case"):  # at 1M, 16 facets on MariaDB take ~half an hour
        case = make_case(qtype, rng)
        sql = mariadb_baseline.statements(qtype, case)
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            if side == 0:
                ms, took, api_ids = timed_api(session, base, api_request(qtype, case))
                client_ms.append(ms)
                if took is not None:
                    os_ms.append(took)
            elif sql:
                ms, db_ids = timed_sql(conn, sql)
                db_ms.append(ms)
        if sql:
            db_empty += not db_ids
            if (o := overlap(api_ids, db_ids)) is not None:
                overlaps.append(o)
    row = {"case": f"sequential {qtype}", **latency(client_ms, "api_"), "opensearch_p95_ms": pct(os_ms, 95)}
    if db_ms:  # MariaDB has no vectors: nothing to compare semantic and hybrid with
        db = latency(db_ms, "mariadb_")
        row |= {**db, "mariadb_over_api_p50": _ratio(db["mariadb_p50_ms"], row["api_p50_ms"]),
                "mariadb_over_api_p95": _ratio(db["mariadb_p95_ms"], row["api_p95_ms"]),
                "result_overlap_ratio": round(statistics.mean(overlaps), 2) if overlaps else None,
                "mariadb_zero_result_ratio": round(db_empty / n, 2)}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", default=None, help="MariaDB schema of the baseline (default: HH_DB_NAME)")
    parser.add_argument("--prefix", default=None, help="index prefix the API searches during the run "
                        "(default: HH_INDEX_PREFIX); the API serves the stack's own index again afterwards")
    parser.add_argument("--n", type=int, default=100, help="sequential queries per type, on each side")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up queries per type, on each side")
    parser.add_argument("--force-merged", action="store_true", help="record that the index was force-merged")
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
    schema = args.schema or settings.db_name
    engine = get_engine(settings, "readonly", schema)
    created = mariadb_baseline.ensure_dba_indexes(settings, schema)
    with engine.connect() as conn:
        listings = conn.execute(text("SELECT COUNT(*) FROM properties WHERE status = 'active'")).scalar()
    vectors = indexes.client(settings).count(index=indexes.read_alias("properties", settings.index_prefix), body={
        "query": {"exists": {"field": "text_vector"}}})["count"]
    results, session = [], requests.Session()
    types = args.types.split(",") if args.types else list(TYPES)
    conditions = Conditions(warm=True, force_merged=args.force_merged, dba_indexes_created_now=created)
    try:
        with conditions, engine.connect() as conn:
            for qtype in types:  # warm both sides the same way, with queries of their own
                for _ in tqdm(range(args.warmup), desc=f"warm-up {qtype}", unit="case"):
                    case = make_case(qtype, rng)
                    timed_api(session, base, api_request(qtype, case))
                    if sql := mariadb_baseline.statements(qtype, case):
                        timed_sql(conn, sql)
            for qtype in types:
                results.append(measure(qtype, args.n, rng, session, base, conn))
            for clients in (8, 32):
                results.append({"case": f"closed loop, mixed, {clients} clients",
                                **{f"api_{k}": v for k, v in closed_loop(base, types, clients, args.seconds).items()}})
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value
        restored = reload_settings()
        api.SERVICE.stop(restored)
        api.SERVICE.start(restored)
    save(f"search-{args.label}" if args.label else "search", {"listings": listings, "schema": schema, "n": args.n,
                    "warmup": args.warmup, "seconds": args.seconds, "api_workers": settings.api_workers, "api_threads": settings.api_threads,
                    "index_shards": settings.index_shards, "facets": len(facets.NAMES), "api_settled_s": settled_s,
                    "documents_with_text_vectors": vectors,
                    "mariadb": "same cases, same sample count, same warm-up, the API's 16 facet definitions, "
                               "DBA indexes " + ", ".join(mariadb_baseline.DBA_INDEXES)}, results, conditions)


if __name__ == "__main__":
    main()
