"""kNN recall and latency at scale: N vectors in an HNSW index built with the production method.

    HH_ENRICHER_AUTOSTART=false .venv/bin/python -m bench.knn_scale [--n 1000000] [--queries 200]

Embedding a million listing texts takes hours on two cores, so the N vectors are generated from the
real MiniLM vectors of the demo index: each one is a random mix of two real vectors (weights 1 and
0..0.5) plus Gaussian noise, renormalised, so the set keeps the real vectors' directions and spread
rather than being uniform noise (which HNSW finds much harder and no text model produces). Queries
are real vectors perturbed the same way as in bench.enrich. Recall@10 is measured against numpy's
exact top 10 over the same N vectors, asking k=10 and k=100 (what the API asks) and keeping 10.
Writes bench/results/knn_scale.json.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from opensearchpy import helpers
from tqdm import tqdm

from bench.common import pct, save
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
    matrix = np.asarray(vectors, dtype=np.float32)
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


def build(client, vectors: np.ndarray, shards: int) -> dict:
    client.indices.delete(index=INDEX, ignore_unavailable=True)
    client.indices.create(index=INDEX, body={
        "settings": {"index": {"number_of_shards": shards, "number_of_replicas": 0, "refresh_interval": "-1",
                               "knn": True}},
        "mappings": {"dynamic": "strict", "properties": {
            "text_vector": {"type": "knn_vector", "dimension": vectors.shape[1], "method": mappings.HNSW}}}})

    def actions():
        for i, v in enumerate(vectors):
            yield {"_index": INDEX, "_id": str(i), "_source": {"text_vector": np.round(v, 6).tolist()}}

    started = time.perf_counter()
    with tqdm(total=len(vectors), desc="indexing vectors", unit="vec") as bar:
        # two requests in flight: each shard's HNSW insertions run on a write thread of their own
        for ok, item in helpers.parallel_bulk(client, actions(), thread_count=2, chunk_size=500, queue_size=2,
                                              request_timeout=600, raise_on_error=True):
            if not ok:
                raise RuntimeError(f"indexing a vector failed: {item}")
            bar.update(1)
    indexed_s = time.perf_counter() - started
    client.indices.refresh(index=INDEX, request_timeout=3600)
    client.indices.put_settings(index=INDEX, body={"index": {"refresh_interval": "1s"}})
    segments = client.cat.segments(index=INDEX, format="json")
    return {"vectors": len(vectors), "shards": shards, "index_s": round(indexed_s, 1),
            "vectors_per_s": round(len(vectors) / (time.perf_counter() - started)),
            "segments": len(segments)}


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


def probes_near(matrix: np.ndarray, queries: int, seed: int = 3) -> np.ndarray:
    """Queries near vectors of the set but not on them (perturbed, renormalised), like real query texts."""
    rng = np.random.default_rng(seed)
    picked = matrix[rng.choice(len(matrix), min(queries, len(matrix)), replace=False)]
    noisy = picked + rng.normal(0, 0.02, picked.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--shards", type=int, default=get_settings().index_shards)
    parser.add_argument("--reuse", action="store_true", help="measure the index a previous run built")
    parser.add_argument("--label", default="", help="save as knn_scale_<label>.json")
    args = parser.parse_args()
    settings = get_settings()
    client = indexes.client(settings)
    _, real = real_vectors(client, indexes.read_alias("properties", settings.index_prefix))
    vectors = synthetic(real, args.n)
    if args.reuse:
        client.indices.refresh(index=INDEX, request_timeout=3600)
        if (count := client.count(index=INDEX)["count"]) != args.n:
            raise SystemExit(f"--reuse: {INDEX} holds {count:,} vectors, not --n {args.n:,}: build it again")
        built = {"vectors": args.n, "shards": args.shards, "reused": True}
    else:
        built = build(client, vectors, args.shards)
    print(built)
    probes = probes_near(vectors, args.queries)
    for q in probes[:20]:  # warm the graphs into the page cache
        client.search(index=INDEX, body=top_10(q, 100))
    rows = [{"case": "build", **built}, *recall_at_10(client, INDEX, vectors, probes)]
    save("knn_scale" + (f"_{args.label}" if args.label else ""), {"n": args.n, "real_vectors": len(real), "queries": args.queries, "shards": args.shards,
                       "method": mappings.HNSW, "ef_search_setting": "k (lucene engine)",
                       "generator": "two real MiniLM vectors mixed (1, U(0, 0.5)) + N(0, 0.02) noise, renormalised"},
         rows)


if __name__ == "__main__":
    main()
