"""Search, autocomplete and similar listings over the read alias: what the API and the web page call.

Listing ids are returned as strings: generated and API-created ids exceed 2^53, which JavaScript
numbers cannot hold exactly.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from opensearchpy import OpenSearch, TransportError
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import ConnectionTimeout, NotFoundError

from hellohome.config import Settings
from hellohome.errors import Conflict, NotFound, SearchUnavailable
from hellohome.search import facets, gazetteer, indexes, nlq, query
from hellohome.search.request import Filters, Mode, SearchRequest, Sort, encode_cursor

Embed = Callable[[list[str]], list[list[float]]]
GAZETTEER_TTL_S = 300
HYBRID_WEIGHTS = [0.4, 0.6]  # bm25, knn: after min-max normalisation


def _hit(raw: dict) -> dict:
    src = raw["_source"]
    images = src.get("images") or []
    return {**{k: v for k, v in src.items() if k != "images"}, "id": str(src["id"]), "score": raw.get("_score"),
            "image": images[0]["url"] if images else None, "highlight": raw.get("highlight", {})}


class SearchService:
    def __init__(self, settings: Settings, client: OpenSearch | None = None, embed: Embed | None = None):
        self.settings = settings
        self.client = client or OpenSearch(settings.opensearch_url, timeout=5, max_retries=0, pool_maxsize=32)
        self.embed = embed
        self.alias = indexes.read_alias("properties", settings.index_prefix)
        self.pipeline = f"{settings.index_prefix}hybrid-minmax"
        self._gazetteer: tuple[float, gazetteer.Gazetteer] | None = None
        self._pipeline_ready = False
        self._lock = threading.Lock()

    def _call(self, fn, **kwargs) -> dict:
        try:
            return fn(**kwargs)
        except (OSConnectionError, ConnectionTimeout) as exc:
            raise SearchUnavailable(f"search is unavailable: OpenSearch did not answer ({exc.__class__.__name__})") from exc
        except NotFoundError:
            raise
        except TransportError as exc:
            if isinstance(exc.status_code, int) and (exc.status_code >= 500 or exc.status_code == 429):
                raise SearchUnavailable(f"search is unavailable: OpenSearch answered {exc.status_code}") from exc
            raise

    def gazetteer(self) -> gazetteer.Gazetteer:
        with self._lock:
            if self._gazetteer is None or time.monotonic() - self._gazetteer[0] > GAZETTEER_TTL_S:
                loaded = self._call(lambda: gazetteer.load(self.client, self.alias))
                self._gazetteer = (time.monotonic(), loaded)
            return self._gazetteer[1]

    def _vector_of(self, text: str) -> list[float]:
        if self.embed is None:
            raise SearchUnavailable("semantic search is unavailable: no text embedding model is configured")
        return self.embed([text])[0]

    def ensure_pipeline(self) -> None:
        body = {"description": "hybrid search: min-max normalised BM25 and kNN scores, weighted mean",
                "phase_results_processors": [{"normalization-processor": {
                    "normalization": {"technique": "min_max"},
                    "combination": {"technique": "arithmetic_mean", "parameters": {"weights": HYBRID_WEIGHTS}}}}]}
        self._call(self.client.transport.perform_request, method="PUT", url=f"/_search/pipeline/{self.pipeline}",
                   body=body)

    def interpret(self, req: SearchRequest) -> tuple[SearchRequest, list[dict]]:
        """Read filters out of q; explicit filters and an explicit sort win."""
        if not req.interpret or not req.q:
            return req, []
        gaz, f = self.gazetteer(), req.filters
        named = [*f.city, *f.area, *f.neighbourhood]
        cities = {gaz.city_of(n) for n in named}
        parsed = nlq.parse(req.q, gaz, cities.pop() if len(cities) == 1 else None)
        update = {"q": parsed.text, "filters": nlq.merge(req.filters, parsed.filters)}
        explicit = set(req.filters.model_dump(exclude_defaults=True))
        if parsed.sort is not None and req.sort is Sort.relevance:  # a chosen order wins
            update["sort"] = parsed.sort
        else:
            explicit.add("sort")
        # report only what was applied: an explicit filter overrode the rest
        applied = [i for i in parsed.as_json() if not ({i["field"]} | nlq.FIELDS.get(i["field"], set())) & explicit]
        return req.model_copy(update=update), applied

    def search(self, req: SearchRequest) -> dict:
        started = time.perf_counter()
        req, interpretation = self.interpret(req)
        if req.mode is not Mode.bm25 and not req.q:
            req = req.model_copy(update={"mode": Mode.bm25})  # nothing to embed: plain filtered search
        vector = self._vector_of(req.q) if req.mode is not Mode.bm25 else None
        body = query.build(req, vector)
        params = {}
        if req.mode is Mode.hybrid:
            if not self._pipeline_ready:
                self.ensure_pipeline()
                self._pipeline_ready = True
            params = {"search_pipeline": self.pipeline}
        raw = self._call(self.client.search, index=self.alias, body=body, params=params)
        hits = raw["hits"]["hits"]
        next_cursor = None
        if len(hits) == req.size and req.mode is not Mode.hybrid:
            next_cursor = encode_cursor(hits[-1]["sort"])
        distance = req.sort.value == "distance"
        results = []
        for h in hits:
            item = _hit(h)
            item["distance_km"] = round(h["sort"][0], 3) if distance else None
            results.append(item)
        return {
            "total": raw["hits"]["total"]["value"], "total_is_exact": raw["hits"]["total"]["relation"] == "eq",
            "page": req.page, "size": req.size, "mode": req.mode.value,
            "sort": req.sort.value, "query": req.q, "filters": req.filters.model_dump(exclude_defaults=True),
            "interpretation": interpretation, "hits": results, "next_cursor": next_cursor,
            "facets": facets.read(raw["aggregations"], query.selected_facets(req.filters)) if req.facets else None,
            "took_ms": {"opensearch": raw["took"], "total": round((time.perf_counter() - started) * 1000, 1)},
        }

    def autocomplete(self, prefix: str, size: int = 5) -> dict:
        """Place suggestions from the gazetteer and listing titles, both typo-tolerant."""
        places = [{"name": p.name, "kind": p.kind, "city": p.city, "count": p.count}
                  for p in self.gazetteer().suggest(prefix, size)]
        # no total: without one, Lucene can skip blocks that cannot reach the top `size`
        match = {"multi_match": {"query": prefix, "type": "bool_prefix", "fuzziness": "AUTO", "prefix_length": 1,
                                 "fields": ["title.suggest", "title.suggest._2gram", "title.suggest._3gram"]}}
        body = {"size": size, "track_total_hits": False, "_source": ["id", "title", "city", "neighbourhood"],
                "query": {"bool": {"must": [match], "filter": [query.SEARCHABLE]}}}
        raw = self._call(self.client.search, index=self.alias, body=body)
        listings = [{"id": str(h["_source"]["id"]), "title": h["_source"]["title"], "city": h["_source"]["city"],
                     "neighbourhood": h["_source"]["neighbourhood"]} for h in raw["hits"]["hits"]]
        return {"prefix": prefix, "places": places, "listings": listings}

    def get(self, listing_id: int, fields: list[str] | None = None) -> dict:
        try:
            return self._call(self.client.get, index=self.alias, id=str(listing_id),
                              params={"_source_includes": ",".join(fields)} if fields else {})["_source"]
        except NotFoundError as exc:
            raise NotFound(f"listing {listing_id} is not in the search index") from exc

    def similar(self, listing_id: int, size: int = 10, filters: Filters | None = None) -> dict:
        source = self.get(listing_id, ["text_vector"])
        vector = source.get("text_vector")
        if not vector:
            raise Conflict(f"listing {listing_id} has no text vector yet (enrichment has not reached it)")
        raw = self._call(self.client.search, index=self.alias, body=query.similar(vector, listing_id, size,
                                                                                   filters or Filters()))
        return {"id": str(listing_id), "hits": [_hit(h) for h in raw["hits"]["hits"]], "took_ms": raw["took"]}
