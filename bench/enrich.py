"""Enrichment figures on the demo data (Edinburgh listings enriched first: `hellohome enrich refresh`
or the enricher service), written to bench/results/enrich.json:

    .venv/bin/python -m bench.enrich [--texts 512] [--writes 20] [--seconds 30] [--only text|knn]

- texts/s and one-query latency of each text model on each runtime (torch, ONNX fp32, ONNX int8) on
  real listing texts, and the cosine of each runtime's vectors to torch's;
- images/s (decode + EfficientNet-Lite0) on drawn JPEGs and on real photographs scikit-image ships;
- embedding-cache hit rate when the whole index is rebuilt (backfill into a new index);
- commit -> enriched for description edits through the real path (MariaDB -> Debezium -> Kafka ->
  indexer -> enricher), and whether price-only edits keep their vectors;
- kNN recall@10 against exact brute force on the same vectors, with its latency;
- relevance of BM25, semantic and hybrid on queries judged by the listings' amenities (which
  neither BM25 nor the embeddings see): nDCG@10, precision@10, recall@10 (capped at 10 relevant).
"""
from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from opensearchpy import helpers
from sqlalchemy import bindparam, text

from bench.common import Conditions, pct, save
from bench.knn_scale import real_vectors, recall_at_10, text_queries
from hellohome.cdc.consumer import start_at_end
from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.enrich.enricher import Enricher
from hellohome.enrich.onnx_text import BACKENDS
from hellohome.enrich.text import TextEmbedder, embedding_text, text_hash
from hellohome.search import indexes
from hellohome.search.request import Filters, SearchRequest
from hellohome.search.service import SearchService
from hellohome.sync.backfill import backfill

# query -> amenities (folded) any of which makes a listing relevant
JUDGED = {
    "place where I can bring my dog": {"pets allowed"},
    "relax in a hot tub": {"hot tub"},
    "somewhere to work remotely with a desk": {"dedicated workspace"},
    "park the car for free": {"free parking on premises", "free street parking"},
    "flat with a dishwasher and washing machine": {"dishwasher"},
    "a garden to sit outside in summer": {"private backyard", "shared backyard", "private garden", "garden view"},
    "cook meals in a full kitchen with an oven": {"oven"},
    "step-free accessible entrance": {"step-free guest entrance"},
    "travelling with a baby": {"crib", "high chair"},
    "gym in the building": {"gym", "shared gym in building"},
}
# short queries beside the judged ones, for the cosine of each runtime to torch
QUERIES = ["quiet flat near the castle with a view", "studio in Leith", "loft", "sea view", "family home with parking",
           "cheap private room near the station", "3 bed house with garden under 200", "cosy cottage", "penthouse"]


def _measure_runtime(model: str, backend: str, texts: list[str], queries: list[str]) -> dict:
    """One runtime in a process of its own (two runtimes' thread pools in one process slow each other)."""
    embedder = TextEmbedder(model, backend)
    started = time.perf_counter()
    embedder.model()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    per_s = len(texts) / (time.perf_counter() - started)
    single = []
    for q in queries * 3:
        t = time.perf_counter()
        embedder.embed([q])
        single.append((time.perf_counter() - t) * 1000)
    return {"model_id": embedder.model_id, "load_s": load_s, "per_s": per_s, "single": single,
            "vectors": vectors, "query_vectors": embedder.embed(queries)}


def text_backends(n: int, models: list[str]) -> list[dict]:
    """texts/s and one-query latency of each runtime, and how close its vectors are to torch's
    (cosine) on real listing texts and on short queries."""
    with get_engine(get_settings(), "readonly").connect() as conn:
        rows = conn.execute(text("SELECT title, description, neighbourhood, area, city FROM properties "
                                 "WHERE city = 'Edinburgh' ORDER BY id LIMIT :n"), {"n": n}).mappings().all()
    texts, queries = [embedding_text(dict(r)) for r in rows], [*JUDGED, *QUERIES]
    results = []
    for model in models:
        reference = None
        for backend in BACKENDS:
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                m = pool.submit(_measure_runtime, model, backend, texts, queries).result()
            reference = reference or (m["vectors"], m["query_vectors"])
            docs_cos = (m["vectors"] * reference[0]).sum(1)
            query_cos = (m["query_vectors"] * reference[1]).sum(1)
            results.append({"case": f"text model {model} on {backend}", "model": m["model_id"],
                            "load_s": round(m["load_s"], 1), "texts": len(texts),
                            "mean_chars": round(sum(map(len, texts)) / len(texts)), "texts_per_s": round(m["per_s"], 1),
                            "query_embed_p50_ms": pct(m["single"], 50), "query_embed_p95_ms": pct(m["single"], 95),
                            "cosine_to_torch_docs_min": round(float(docs_cos.min()), 4),
                            "cosine_to_torch_docs_mean": round(float(docs_cos.mean()), 4),
                            "cosine_to_torch_queries_min": round(float(query_cos.min()), 4)})
            print(results[-1], flush=True)
    return results


# real photographs scikit-image ships (the listings' own photo URLs are not reachable from here)
SAMPLE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                 "motorcycle_right.png", "retina.jpg", "hubble_deep_field.jpg", "coins.png", "camera.png")


def _jpeg(image, quality: int = 85) -> bytes:
    import io

    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def drawn_photos(n: int) -> list[bytes]:
    """1024x683 JPEGs of random rectangles."""
    from PIL import Image, ImageDraw

    rng, bodies = random.Random(5), []
    for _ in range(n):
        image = Image.new("RGB", (1024, 683), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(30):
            x, y = rng.randrange(1024), rng.randrange(683)
            draw.rectangle((x, y, x + rng.randrange(300), y + rng.randrange(200)),
                           fill=tuple(rng.randrange(256) for _ in range(3)))
        bodies.append(_jpeg(image))
    return bodies


def real_photos(n: int) -> list[bytes]:
    """scikit-image's sample photographs scaled to 1024 px wide like a listing photo (every other
    round through them mirrored), as JPEGs."""
    from importlib.util import find_spec

    from PIL import Image, ImageOps

    data = Path(find_spec("skimage").submodule_search_locations[0]) / "data"
    bodies = []
    for i in range(n):
        image = Image.open(data / SAMPLE_PHOTOS[i % len(SAMPLE_PHOTOS)])
        image = image.resize((1024, round(1024 * image.height / image.width)))
        bodies.append(_jpeg(ImageOps.mirror(image) if (i // len(SAMPLE_PHOTOS)) % 2 else image))
    return bodies


def image_throughput(kind: str, n: int = 64) -> dict:
    """Decode + embed photo-sized JPEGs, batches of 16."""
    from hellohome.enrich.image import ImageEmbedder

    bodies = real_photos(n) if kind == "real" else drawn_photos(n)
    embedder = ImageEmbedder()
    embedder.model()
    started = time.perf_counter()
    decoded = [embedder.decode(b) for b in bodies]
    decode_s = time.perf_counter() - started
    for i in range(0, n, 16):
        embedder.embed(decoded[i:i + 16])
    total = time.perf_counter() - started
    return {"case": f"image model, {kind} photos", "model": "efficientnet-lite0", "images": n,
            "mean_kb": round(sum(map(len, bodies)) / n / 1024), "images_per_s": round(n / total, 1),
            "decode_ms_per_image": round(decode_s / n * 1000, 1)}


def reindex_hits(settings) -> dict:
    case = settings.model_copy(update={"index_prefix": "bench-enrich-"})
    client = indexes.client(case)
    client.indices.delete(index="bench-enrich-*", ignore_unavailable=True)
    alias = indexes.read_alias("properties", settings.index_prefix)
    had = client.count(index=alias, body={"query": {"exists": {"field": "text_vector"}}})["count"]
    report = backfill(case, progress=False, catch_up=False)
    client.indices.refresh(index=report.index)
    kept = client.count(index=report.index, body={"query": {"exists": {"field": "text_vector"}}})["count"]
    client.indices.delete(index="bench-enrich-*", ignore_unavailable=True)
    return {"case": "reindex from MariaDB", "docs": report.docs, "docs_per_s": round(report.docs_per_s),
            "vectors_before": had, "vectors_after": kept, "cache_hit_rate": round(kept / had, 4) if had else None}


def lag(settings, writes_per_s: float, seconds: float) -> dict:
    """Description edits at a steady rate through the real CDC path; an in-process enricher
    (own group, from the end of the topics) adds the vectors; poll until each edit is enriched."""
    client, alias = indexes.client(settings), indexes.read_alias("properties", settings.index_prefix)
    enricher = Enricher(settings, group_id=f"bench-enricher-{int(time.time())}", wait_s=60)
    with get_engine(settings, "readonly").connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM properties WHERE city = 'Edinburgh' AND status = 'active' "
                                     "ORDER BY RAND(7) LIMIT :n"), {"n": int(writes_per_s * seconds)}).scalars())
        originals = dict(conn.execute(text("SELECT id, description FROM properties WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": ids or [0]}).all())
    start_at_end(settings, enricher.group_id, enricher.topics())  # the new group reads only what comes next
    runner = threading.Thread(target=enricher.run, daemon=True)
    runner.start()
    engine, committed, expected, seen = get_engine(settings, "app"), {}, {}, {}
    writing = threading.Event()
    writing.set()

    def poll() -> None:  # runs while the edits are made: each edit's lag is measured as it lands
        deadline = None
        while deadline is None or (len(seen) < len(ids) and time.monotonic() < deadline):
            if deadline is None and not writing.is_set():
                deadline = time.monotonic() + 300
            pending = [i for i in list(expected) if i not in seen]
            if pending:
                for d in client.mget(index=alias, body={"ids": [str(i) for i in pending]},
                                     params={"_source_includes": "enrichment.text"})["docs"]:
                    got = ((d.get("_source") or {}).get("enrichment") or {}).get("text", {}).get("hash")
                    if got == expected[int(d["_id"])]:
                        seen[int(d["_id"])] = time.time()
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    for n, pid in enumerate(ids):
        time.sleep(max(0.0, started + n / writes_per_s - time.monotonic()))
        note = f" Edited {time.time():.3f}."
        with engine.begin() as conn:
            conn.execute(text("UPDATE properties SET description = CONCAT(COALESCE(description, ''), :note) "
                              "WHERE id = :id"), {"note": note, "id": pid})
            row = conn.execute(text("SELECT title, description, neighbourhood, area, city FROM properties "
                                    "WHERE id = :id"), {"id": pid}).mappings().one()
        committed[pid] = time.time()
        expected[pid] = text_hash(enricher.embedder.model_id, embedding_text(dict(row)))
    writing.clear()
    poller.join()
    enricher.stop()
    runner.join(30)
    with engine.begin() as conn:  # the demo data as it was (the cache still has those texts' vectors)
        conn.execute(text("UPDATE properties SET description = :d WHERE id = :id"),
                     [{"d": d, "id": pid} for pid, d in originals.items()])
    lags = [(seen[i] - committed[i]) * 1000 for i in seen] or [float("nan")]
    return {"case": f"description edits at {writes_per_s}/s for {seconds:.0f} s", "edits": len(ids),
            "enriched": len(seen), "p50_ms": pct(lags, 50), "p95_ms": pct(lags, 95), "max_ms": round(max(lags))}


def knn_recall(settings) -> list[dict]:
    """Recall@10 of OpenSearch's HNSW against numpy's exact top 10 over the real vectors of the
    index, asking k=10 and k=100 (lucene uses k as the size of its candidate list). The queries are
    real query strings, embedded: every listing vector is in the index, so none could be held out
    (bench.knn_scale holds listing vectors out of its generated index)."""
    client, alias = indexes.client(settings), indexes.read_alias("properties", settings.index_prefix)
    ids, matrix = real_vectors(client, alias)
    return recall_at_10(client, alias, matrix, text_queries(settings), ids)


def relevance(settings) -> list[dict]:
    embedder = TextEmbedder.from_settings(settings)
    service = SearchService(settings, embed=lambda t: embedder.embed(t).tolist())
    client, alias = service.client, service.alias
    amenities = {}
    for hit in helpers.scan(client, index=alias, query={"query": {"bool": {"filter": [
            {"term": {"city": "Edinburgh"}}, {"exists": {"field": "text_vector"}}]}}}, _source=["amenities"]):
        amenities[hit["_id"]] = {a.lower() for a in hit["_source"].get("amenities") or []}
    rows = []
    for mode in ("bm25", "semantic", "hybrid"):
        ndcg, prec, rec = [], [], []
        for q, wanted in JUDGED.items():
            relevant = {i for i, a in amenities.items() if a & wanted}
            r = service.search(SearchRequest(q=q, mode=mode, size=10, interpret=False, facets=False,
                                             filters=Filters(city=["Edinburgh"])))
            got = [h["id"] for h in r["hits"]]
            gains = [1 if i in relevant else 0 for i in got]
            dcg = sum(g / math.log2(k + 2) for k, g in enumerate(gains))
            ideal = sum(1 / math.log2(k + 2) for k in range(min(10, len(relevant))))
            ndcg.append(dcg / ideal if ideal else 0)
            prec.append(sum(gains) / 10)
            rec.append(sum(gains) / min(10, len(relevant)) if relevant else 0)
        rows.append({"case": f"relevance {mode}", "queries": len(JUDGED), "ndcg_at_10": round(sum(ndcg) / len(ndcg), 3),
                     "precision_at_10": round(sum(prec) / len(prec), 3), "recall_at_10": round(sum(rec) / len(rec), 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--writes", default="5,20,200", help="description edits per second, one run each")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--models", default="minilm,mpnet", help="text models whose runtimes are compared")
    parser.add_argument("--only", choices=["text", "knn"], help="print one measurement, save nothing")
    args = parser.parse_args()
    conditions = Conditions.begin(warm=True)
    settings = get_settings()
    models = args.models.split(",")
    if args.only == "text":
        text_backends(args.texts, models)  # prints each row as it is measured
        return
    if args.only == "knn":
        for row in knn_recall(settings):
            print(row)
        return
    results = [*text_backends(args.texts, models), image_throughput("drawn"), image_throughput("real"), *knn_recall(settings), *relevance(settings), reindex_hits(settings),
               *(lag(settings, float(rate), args.seconds) for rate in args.writes.split(","))]
    save("enrich", {"texts": args.texts, "writes_per_s": args.writes, "seconds": args.seconds,
                    "judged_queries": list(JUDGED)}, results, conditions)


if __name__ == "__main__":
    main()
