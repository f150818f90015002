"""kNN recall and latency at scale: N vectors in an HNSW index built with the production method.

    HH_ENRICHER_AUTOSTART=false HH_OPENSEARCH_HEAP_MB=10240 .venv/bin/python -m bench.knn_scale \
        [--n 1000000] [--queries 200] [--ks 10,100,200] [--max-segments N] [--reuse] [--label L]

Restart OpenSearch with that heap first. Every segment holds an HNSW graph of its own, searched on
its own, so search time grows with the number of segments. A shard writes a segment when its
indexing buffer (10% of the heap) fills or its translog asks for a flush (the benchmark index
lifts that threshold): at a million vectors, the stack's 1.5 GB heap and the default threshold left
~44 segments per shard, a 10 GB heap 6-7 (bench/results/knn_scale_big_buffer.json). Delete the
index afterwards: it holds 8 GB that slow the node's start.

Embedding a million listing texts takes hours on two cores, so the N vectors are generated from the
real MiniLM vectors of the demo index: each one is a random mix of two real vectors (weights 1 and
0..0.5) plus Gaussian noise, renormalised, so the set keeps the real vectors' directions and spread
rather than being uniform noise (which HNSW finds much harder and no text model produces).

Queries are held out: real listing vectors that neither the index nor the generator saw (--queries
of them) and the embeddings of real query strings (QUERY_TEXTS, embedded with the stack's model);
a separate held-out set warms the graphs and is never measured. Each query is measured cold (the
first pass, before the warm-up) and warm (after it). Recall@10 is measured against numpy's exact top
10 over the same N vectors, asking each k of --ks (100 is what the API asks) and keeping 10. Each
run is kept: bench/results/knn_scale[_<label>]/<time>-<commit>.json.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import orjson
from opensearchpy import helpers
from tqdm import tqdm

from bench.common import Conditions, pct, save
from hellohome.config import get_settings
from hellohome.search import indexes, mappings

INDEX = "bench-knn-vectors"


def real_vectors(client, alias: str) -> tuple[list[str], np.ndarray]:
    """(document ids, their text vectors unit-normalised) of every document that has one."""
    ids, vectors = [], []
    for hit in helpers.scan(client, index=alias, query={"query": {"exists": {"field": "text_vector"}}},
                            _source=["text_vector"], size=2000):
        ids.append(hit["_id"])
        vectors.append(hit["_source"]["text_vector"])
    # in id order, not scan order, so the same index always generates the same synthetic set
    order = sorted(range(len(ids)), key=lambda i: int(ids[i]))
    ids, matrix = [ids[i] for i in order], np.asarray([vectors[i] for i in order], dtype=np.float32)
    return ids, matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def synthetic(real: np.ndarray, n: int, seed: int = 11, noise: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        mixed = (real[rng.integers(0, len(real), m)]
                 + rng.uniform(0, 0.5, (m, 1)).astype(np.float32) * real[rng.integers(0, len(real), m)]
                 + rng.normal(0, noise, (m, real.shape[1])).astype(np.float32))
        out[start:start + m] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def _bulk_body(start: int, chunk: np.ndarray) -> bytes:
    lines = []
    for i, v in enumerate(chunk, start):
        lines += [orjson.dumps({"index": {"_index": INDEX, "_id": str(i)}}),
                  orjson.dumps({"text_vector": v}, option=orjson.OPT_SERIALIZE_NUMPY)]
    return b"\n".join(lines) + b"\n"


def _segments_per_shard(client) -> list[int]:
    shards = client.indices.segments(index=INDEX)["indices"][INDEX]["shards"]
    return [copy["num_search_segments"] for copies in shards.values() for copy in copies]


def build(client, vectors: np.ndarray, shards: int, chunk: int = 500) -> dict:
    """Load the vectors; each shard builds its graphs in its indexing buffer (heap) and writes a
    segment when the buffer is full or the translog asks for a flush: the bigger the buffer, the
    fewer segments (and graphs) there are to search and to merge."""
    client.indices.delete(index=INDEX, ignore_unavailable=True)
    client.indices.create(index=INDEX, body={
        "settings": {"index": {"number_of_shards": shards, "number_of_replicas": 0, "refresh_interval": "-1",
                               "knn": True, "translog.durability": "async",
                               "translog.flush_threshold_size": "32gb"}},  # flush on buffer size only
        "mappings": {"dynamic": "strict", "properties": {
            "text_vector": {"type": "knn_vector", "dimension": vectors.shape[1], "method": mappings.HNSW}}}})
    started = time.perf_counter()
    with tqdm(total=len(vectors), desc="indexing vectors", unit="vec") as bar, ThreadPoolExecutor(2) as pool:
        # two requests in flight: each shard's HNSW insertions run on a write thread of their own;
        # the NDJSON body straight from the numpy rows (orjson), no lists of Python floats
        def send(start: int) -> int:
            items = client.bulk(body=_bulk_body(start, vectors[start:start + chunk]), request_timeout=600)["items"]
            failed = [item for item in items if item["index"]["status"] not in (200, 201)]
            if failed:
                raise RuntimeError(f"indexing a vector failed: {failed[0]}")
            return len(items)

        for done in pool.map(send, range(0, len(vectors), chunk)):
            bar.update(done)
    indexed_s = time.perf_counter() - started
    client.indices.refresh(index=INDEX, request_timeout=3600)
    # commit: otherwise a node restart would replay the whole load from the translog
    client.indices.flush(index=INDEX, request_timeout=3600)
    client.indices.put_settings(index=INDEX, body={"index": {"refresh_interval": "1s"}})
    return {"vectors": len(vectors), "shards": shards, "index_s": round(indexed_s, 1),
            "vectors_per_s": round(len(vectors) / (time.perf_counter() - started)),
            "segments_per_shard": _segments_per_shard(client)}


def merge(client, max_segments: int) -> dict:
    """Force-merge to max_segments per shard (each merge rebuilds the merged graphs)."""
    started = time.perf_counter()
    client.indices.forcemerge(index=INDEX, max_num_segments=max_segments, request_timeout=4 * 3600)
    client.indices.refresh(index=INDEX)  # the merged segment is searched from the next refresh on
    return {"max_segments": max_segments, "merge_s": round(time.perf_counter() - started, 1),
            "segments_per_shard": _segments_per_shard(client)}


def top_10(vector: np.ndarray, k: int) -> dict:
    """The 10 nearest ids by HNSW, searching with a candidate list of k (the lucene engine's ef_search)."""
    return {"size": 10, "_source": False, "query": {"knn": {"text_vector": {"vector": vector.tolist(), "k": k}}}}


def recall_at_10(client, index: str, matrix: np.ndarray, probes: np.ndarray, ids: list[str] | None = None,
                 ks: tuple[int, ...] = (10, 100)) -> list[dict]:
    """Recall@10 of the index's HNSW search against the exact top 10 of `matrix` (row i is the
    document ids[i], or str(i)), with the latency of each search as the client sees it."""
    exact = []
    for q in probes:  # one probe at a time: a 200 x 1M score matrix would take 800 MB
        scores = matrix @ q
        top = np.argpartition(-scores, 10)[:10]
        exact.append(top[np.argsort(-scores[top])])
    rows = []
    for k in ks:
        recalls, took = [], []
        for q, want in zip(probes, exact, strict=True):
            started = time.perf_counter()
            r = client.search(index=index, body=top_10(q, k))
            took.append((time.perf_counter() - started) * 1000)
            wanted = {ids[i] if ids else str(i) for i in want}
            recalls.append(len(wanted & {h["_id"] for h in r["hits"]["hits"]}) / 10)
        rows.append({"case": f"kNN recall@10 vs brute force, k={k}", "vectors": len(matrix), "queries": len(probes),
                     "recall_at_10": round(sum(recalls) / len(recalls), 4), "p50_ms": pct(took, 50),
                     "p95_ms": pct(took, 95), "p99_ms": pct(took, 99)})
    return rows


QUERY_TEXTS = ["quiet flat near the castle with a view", "cosy place for a family with kids",
               "modern studio close to the university", "room with a garden and parking",
               "romantic weekend in the old town", "loft in williamsburg with a rooftop", "cheap private room near the "
               "subway", "sunny apartment with a balcony", "two bedroom house near the beach", "penthouse with city views",
               "studio for a long stay with a desk", "pet friendly home with a yard", "brownstone in harlem",
               "minimalist room for a solo traveller", "spacious place for a group of friends", "cottage by the sea",
               "apartment near central park", "shared room for backpackers", "quiet bedroom away from the nightlife",
               "luxury suite with a hot tub"]


def held_out(real: np.ndarray, queries: int, warmup: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the real vectors the generator may use, held-out query vectors, held-out warm-up vectors):
    neither held-out set, nor any mix made from it, is in the index."""
    order = np.random.default_rng(seed).permutation(len(real))
    return real[order[queries + warmup:]], real[order[:queries]], real[order[queries:queries + warmup]]


def text_queries(settings) -> np.ndarray:
    from hellohome.enrich.text import TextEmbedder

    return TextEmbedder.from_settings(settings).embed(QUERY_TEXTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="held-out listing vectors measured (plus "
                        f"{len(QUERY_TEXTS)} real query strings)")
    parser.add_argument("--warmup", type=int, default=50, help="held-out vectors that only warm the graphs")
    parser.add_argument("--shards", type=int, default=get_settings().index_shards)
    parser.add_argument("--reuse", action="store_true", help="measure the index a previous run built")
    parser.add_argument("--label", default="", help="save as knn_scale_<label>.json")
    parser.add_argument("--max-segments", type=int, default=0, help="force-merge to this many segments per shard "
                        "before measuring (0: as built)")
    parser.add_argument("--ks", default="10,100", help="the candidate list sizes k to measure, comma-separated")
    args = parser.parse_args()
    conditions = Conditions.begin(force_merged=bool(args.max_segments), reused_index=args.reuse)
    settings = get_settings()
    client = indexes.client(settings)
    _, real = real_vectors(client, indexes.read_alias("properties", settings.index_prefix))
    source, held, warm = held_out(real, args.queries, args.warmup)
    vectors = synthetic(source, args.n)
    if args.reuse:
        client.indices.refresh(index=INDEX, request_timeout=3600)
        if (count := client.count(index=INDEX)["count"]) != args.n:
            raise SystemExit(f"--reuse: {INDEX} holds {count:,} vectors, not --n {args.n:,}: build it again")
        check = [0, args.n // 2, args.n - 1]  # the regenerated vectors must be the ones indexed
        stored = client.mget(index=INDEX, body={"ids": [str(i) for i in check]}, _source=["text_vector"])["docs"]
        if not all(d["found"] and np.allclose(d["_source"]["text_vector"], vectors[i], atol=1e-6)
                   for d, i in zip(stored, check, strict=True)):
            raise SystemExit(f"--reuse: {INDEX} holds other vectors than this run generates: build it again")
        built = {"vectors": args.n, "shards": args.shards, "reused": True,
                 "segments_per_shard": _segments_per_shard(client)}
    else:
        built = build(client, vectors, args.shards)
    print(built)
    merged = merge(client, args.max_segments) if args.max_segments else None
    if merged:
        print(merged)
    probes = np.vstack([held, text_queries(settings)])
    ks = tuple(int(k) for k in args.ks.split(","))
    cold = recall_at_10(client, INDEX, vectors, probes, ks=ks)
    for q in warm:  # warm the graphs into the page cache with queries that are never measured
        client.search(index=INDEX, body=top_10(q, 100))
    warmed = recall_at_10(client, INDEX, vectors, probes, ks=ks)
    rows = [{"case": "build", **built}, *([{"case": "force merge", **merged}] if merged else []),
            *({**row, "case": row["case"] + ", cold"} for row in cold),
            *({**row, "case": row["case"] + ", warm"} for row in warmed)]
    save("knn_scale" + (f"_{args.label}" if args.label else ""), {"n": args.n, "real_vectors": len(real),
                       "held_out_queries": len(held), "query_texts": len(QUERY_TEXTS), "warmup": len(warm),
                       "shards": args.shards,
                       "opensearch_heap_mb": settings.opensearch_heap_mb,
                       "method": mappings.HNSW, "ef_search_setting": "k (lucene engine)",
                       "generator": "two real MiniLM vectors mixed (1, U(0, 0.5)) + N(0, 0.02) noise, renormalised"},
         rows, conditions)


if __name__ == "__main__":
    main()
