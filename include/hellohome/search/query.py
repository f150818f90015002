"""SearchRequest -> OpenSearch request body. User values only ever land as values of typed
clauses (match, term, range, geo), never as query syntax."""
from __future__ import annotations

from hellohome.search import facets
from hellohome.search.request import Filters, Mode, SearchRequest, Sort, decode_cursor

# per-field boosts: a word in the title or the place name says more than one in the description
STEMMED_FIELDS = ["title^3", "places^2", "description", "images.caption"]
# typo tolerance on the short, unstemmed fields ("apartmnt" is two edits from "apartment", but the
# stemmed index holds "apart"); fuzzy expansion over descriptions costs more than it finds.
# Words under 5 letters must be exact, 5-7 allow one edit, longer two; the first 2 letters must
# be right. Each choice cut fuzzy cost (P95 53 -> 25 ms at 75k, bench/search.py notes)
FUZZY = {"fuzziness": "AUTO:5,8", "prefix_length": 2, "max_expansions": 10}
FUZZY_FIELDS = ["title.folded^2", "places^2"]
STOPWORDS = frozenset("a an and are as at be but by for if in into is it no not of on or such that the their "
                      "then there these they this to was will with".split())
MAX_WORDS = 32
HIGHLIGHT = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html",
             "fields": {"title": {"number_of_fragments": 0},
                        "description": {"fragment_size": 160, "number_of_fragments": 1}}}
SOURCE = ["id", "title", "price", "currency", "city", "area", "neighbourhood", "room_type", "property_type",
          "bedrooms", "bathrooms", "accommodates", "review_score", "number_of_reviews", "location", "images",
          "host.name", "host.is_superhost", "amenities", "minimum_nights", "availability_365", "enrichment.scores"]
SEARCHABLE = {"term": {"status": "active"}}
TIE_BREAK = {"id": "asc"}  # unique, so every order is total and search_after never skips or repeats
# lucene searches the graph with k as its candidate list (ef_search); asking 100 and keeping the
# page lifts recall@10 from 0.965 to ~1.0 at 8k vectors (bench/results/enrich.json)
KNN_CANDIDATES = 100
TOTAL_HITS_BOUND = 10_000


def words(q: str) -> list[str]:
    return [w for w in q.split() if w.casefold() not in STOPWORDS][:MAX_WORDS]


def text_query(q: str) -> dict:
    """Term-centric: each word must match some field, exactly (stemmed) or within AUTO edits;
    most words must match ("2<75%"), so one typo'd or odd word does not empty the result."""
    terms = words(q)
    if not terms:
        return {"match_all": {}}
    per_word = [{"dis_max": {"queries": [
        {"multi_match": {"query": w, "fields": STEMMED_FIELDS, "boost": 2}},
        {"multi_match": {"query": w, "fields": FUZZY_FIELDS, **FUZZY}}]}} for w in terms]
    return {"bool": {"must": [{"bool": {"should": per_word, "minimum_should_match": "2<75%"}}],
                     "should": [{"match_phrase": {"title": {"query": q, "boost": 2}}}]}}  # phrases outrank scatter


def _range(field: str, gte=None, lte=None) -> dict | None:
    bounds = {k: v for k, v in (("gte", gte), ("lte", lte)) if v is not None}
    return {"range": {field: bounds}} if bounds else None


def filter_clauses(f: Filters) -> list[dict]:
    """Filters applied to hits and every facet alike (multi-select facets go to post_filter)."""
    clauses = [SEARCHABLE, _range("price", f.price_min, f.price_max), _range("bedrooms", f.bedrooms_min),
               _range("bathrooms", f.bathrooms_min), _range("accommodates", f.accommodates_min),
               _range("minimum_nights", lte=f.max_minimum_nights), _range("availability_365", f.availability_min),
               _range("review_score", f.review_score_min)]
    clauses += [{"term": {"amenities": a}} for a in f.amenities]
    if f.superhost is not None:
        clauses.append({"term": {"host.is_superhost": f.superhost}})
    if f.near:
        clauses.append({"geo_distance": {"distance": f"{f.near.radius_km}km",
                                         "location": {"lat": f.near.lat, "lon": f.near.lon}}})
    if f.bbox:
        b = f.bbox
        clauses.append({"geo_bounding_box": {"location": {"top_left": {"lat": b.top, "lon": b.left},
                                                          "bottom_right": {"lat": b.bottom, "lon": b.right}}}})
    return [c for c in clauses if c]


def selected_facets(f: Filters) -> dict[str, list[str]]:
    return {name: getattr(f, name) for name in facets.MULTI_SELECT if getattr(f, name)}


def sort_clause(req: SearchRequest) -> list:
    by = {
        Sort.relevance: [{"_score": "desc"}],
        Sort.price_asc: [{"price": {"order": "asc", "missing": "_last"}}],
        Sort.price_desc: [{"price": {"order": "desc", "missing": "_last"}}],
        Sort.newest: [{"created_at": "desc"}],
        Sort.rating: [{"review_score": {"order": "desc", "missing": "_last"}},
                      {"number_of_reviews": {"order": "desc", "missing": "_last"}}],
    }
    if req.sort is Sort.distance:
        near = req.filters.near
        return [{"_geo_distance": {"location": {"lat": near.lat, "lon": near.lon}, "order": "asc", "unit": "km"}},
                TIE_BREAK]
    return [*by[req.sort], TIE_BREAK]


def knn_clause(vector: list[float], k: int, filters: list[dict], field: str = "text_vector") -> dict:
    # lucene's filtered HNSW: the filter is applied during graph search, so k hits survive it
    return {"knn": {field: {"vector": vector, "k": k, "filter": {"bool": {"filter": filters}}}}}


def build(req: SearchRequest, query_vector: list[float] | None = None) -> dict:
    """The _search body; `query_vector` is the embedded q for semantic and hybrid modes."""
    filters = filter_clauses(req.filters)
    selected = facets.multi_select_filters(selected_facets(req.filters))
    window = req.page * req.size
    if req.mode is Mode.bm25:
        query = {"bool": {"must": [text_query(req.q)], "filter": filters}}
    else:
        k = max(window, KNN_CANDIDATES)
        # the k candidates must pass every filter, selected facets too: a post_filter alone would
        # keep only the few of the k nearest that happen to pass (semantic nDCG 0.39 -> 0.22 once
        # New York had vectors and the query asked for Edinburgh)
        knn = knn_clause(query_vector, k, [*filters, *selected.values()])
        query = knn if req.mode is Mode.semantic else {"hybrid": {"queries": [
            {"bool": {"must": [text_query(req.q)], "filter": filters}}, knn]}}
    # exact totals cost a full count; facets count every hit anyway, plain result lists stop at 10k
    body: dict = {"query": query, "size": req.size, "_source": SOURCE,
                  "track_total_hits": True if req.facets else TOTAL_HITS_BOUND}
    if req.mode is not Mode.hybrid:  # hybrid scores come from the pipeline; order is by them
        body["sort"] = sort_clause(req)
    if selected:
        body["post_filter"] = {"bool": {"filter": list(selected.values())}}
    if req.facets:
        body["aggs"] = facets.aggregations(selected)
    if req.highlight and req.q:
        body["highlight"] = HIGHLIGHT
    if req.cursor is not None and req.mode is not Mode.hybrid:
        body["search_after"] = decode_cursor(req.cursor)
    else:
        body["from"] = (req.page - 1) * req.size
    return body


def similar(vector: list[float], exclude_id: int, size: int, f: Filters) -> dict:
    filters = [*filter_clauses(f), *facets.multi_select_filters(selected_facets(f)).values()]
    knn = knn_clause(vector, max(size + 1, KNN_CANDIDATES), filters)
    return {"query": {"bool": {"must": [knn], "must_not": [{"ids": {"values": [str(exclude_id)]}}]}},
            "size": size, "_source": SOURCE}
