"""16 facets, laid out three ways on the same index, same queries, same run, against none at all:

- `per_facet`: one request, a terms, range or stats aggregation per facet (the layout before);
- `facet_keys`: what the API sends: one request, 13 facets from the one `facet_keys` field
  (search/facets.py), the others on their own;
- `split`: tried, not adopted: the hits (total bounded, so Lucene may skip blocks) beside a
  size-0 request for the facets and total with the query in filter context (one msearch);
- `no_facets`: the hits alone, total bounded.

    HH_DB_NAME=hellohome_bench HH_INDEX_PREFIX=bench-1m- .venv/bin/python -m bench.facet_layout [--rounds 5] [--cold]

Latency is OpenSearch's own `took` (request cache off). The queries repeat, so OpenSearch's query
cache soon holds the text queries `split` runs in filter context; `--cold` clears the caches
before every timed request instead (the price filter's too: colder than live traffic). Every
query's facets and total are also compared between `per_facet` and `facet_keys`: the benchmark
fails if any count differs. Writes bench/results/facet_layout[-<label>].json.
"""
from __future__ import annotations

import argparse
import statistics

from opensearchpy import OpenSearch
from tqdm import tqdm

from bench.common import Conditions, pct, save
from bench.search import WORDS
from hellohome.config import get_settings
from hellohome.search import facets, indexes, query
from hellohome.search.request import Filters, SearchRequest

PRICE_MAX = (150, 300, 1000)  # as bench.search's facet queries


def per_facet_aggregations() -> dict:
    """The layout before facet_keys: a terms, range or stats aggregation for each facet."""
    aggs = {}
    for name in facets.NAMES:
        if name in facets.STATS:
            aggs[name] = {"stats": {"field": facets.STATS[name]}}
        elif name in facets.RANGES:
            field, buckets = facets.RANGES[name]
            aggs[name] = {"range": {"field": field, "ranges": [{k: v for k, v in b.items() if v is not None}
                                                                for b in buckets]}}
        else:
            field, size = facets.BY_TERMS[name]
            aggs[name] = {"terms": {"field": field, "size": size}}
    # ranges and stats under a match-all filter: at the top level OpenSearch 2.19's filter-rewrite
    # path fails on half_float fields (ArrayIndexOutOfBoundsException in Ranges.compareByteValue)
    scoped = {n: aggs.pop(n) for n in (*facets.RANGES, *facets.STATS)}
    return {**aggs, "scoped": {"filter": {"match_all": {}}, "aggs": scoped}}


def per_facet_read(raw: dict) -> dict:
    """Per-facet buckets in the API's shape, to compare with facets.read."""
    raw = {**raw, **raw["scoped"]}
    out = {}
    for name in facets.NAMES:
        if name in facets.STATS:
            out[name] = {k: raw[name][k] for k in ("count", "min", "avg", "max")}
        elif name in facets.RANGES:
            out[name] = [(b["key"], b["doc_count"]) for b in raw[name]["buckets"]]
        else:
            out[name] = [(facets.bucket_value(name, b.get("key_as_string", b["key"])), b["doc_count"])
                         for b in raw[name]["buckets"]]
    return out


def as_pairs(read: dict) -> dict:
    return {name: value if isinstance(value, dict) else [(b["value"], b["count"]) for b in value]
            for name, value in read.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each query and layout")
    parser.add_argument("--label", default="", help="suffix of the results file")
    parser.add_argument("--cold", action="store_true", help="clear the query and request caches before each request")
    args = parser.parse_args()
    conditions = Conditions.begin(warm=not args.cold)
    settings = get_settings()
    client = OpenSearch(settings.opensearch_url, timeout=120)
    index = indexes.read_alias("properties", settings.index_prefix)
    queries = [(q, p) for q in WORDS for p in PRICE_MAX]
    took: dict[str, list[float]] = {"per_facet": [], "facet_keys": [], "split": [], "no_facets": []}
    by_query, hits = [], []

    def run(layout) -> dict:
        if args.cold:
            client.indices.clear_cache(index=index, query=True, request=True)
        if isinstance(layout, list):
            return client.msearch(index=index, body=[p for b in layout for p in ({"request_cache": False}, b)])
        return client.search(index=index, body=layout, request_cache=False)

    for q, price_max in tqdm(queries, desc="queries"):
        body = query.build(SearchRequest(q=q, interpret=False, filters=Filters(price_max=price_max)))
        hits_only = {**{k: v for k, v in body.items() if k != "aggs"}, "track_total_hits": query.TOTAL_HITS_BOUND}
        counting = {"query": {"bool": {"filter": [body["query"]]}}, "size": 0, "track_total_hits": True,
                    "aggs": body["aggs"]}
        layouts = {"per_facet": {**body, "aggs": per_facet_aggregations()}, "facet_keys": body,
                   "split": [hits_only, counting], "no_facets": hits_only}
        separate, keyed = run(layouts["per_facet"]), run(body)
        if (as_pairs(facets.read(keyed["aggregations"], {})) != per_facet_read(separate["aggregations"])
                or keyed["hits"]["total"] != separate["hits"]["total"]):
            raise SystemExit(f"facet counts differ between the layouts for {q!r}, price <= {price_max}")
        row = {"q": q, "price_max": price_max, "hits": separate["hits"]["total"]["value"]}
        for name, layout in layouts.items():  # interleaved, so drifts in machine load hit every layout alike
            times = [run(layout)["took"] for _ in range(args.rounds)]
            took[name] += times
            row[f"{name}_p50_ms"] = statistics.median(times)
        by_query.append(row)
        hits.append(row["hits"])
    results = [{"case": name, "p50_ms": pct(t, 50), "p95_ms": pct(t, 95), "p99_ms": pct(t, 99),
                "mean_ms": round(statistics.mean(t), 1)} for name, t in took.items()]
    save(f"facet_layout-{args.label}" if args.label else "facet_layout",
         {"index": index, "docs": client.count(index=index)["count"], "rounds": args.rounds, "cold": args.cold,
          "queries": len(queries), "max_hits": max(hits), "facets": len(facets.NAMES), "by_query": by_query},
         results, conditions)


if __name__ == "__main__":
    main()
