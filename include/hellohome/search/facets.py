"""The facets every search returns in the same request (16), and how their buckets read back.

Multi-select facets (places, room/property type, host role) are filtered through `post_filter`,
and each facet's aggregation applies every selected facet except its own, so a facet keeps
showing counts for the values a user could switch to.
"""
from __future__ import annotations

# facet name -> (indexed field, terms size); selecting values of these narrows hits via post_filter
MULTI_SELECT = {
    "city": ("city", 10), "area": ("area", 20), "neighbourhood": ("neighbourhood", 40),
    "room_type": ("room_type", 10), "property_type": ("property_type", 40), "host_role": ("host.role", 5),
}
TERMS = {"bedrooms": ("bedrooms", 12), "bathrooms": ("bathrooms", 12), "accommodates": ("accommodates", 16),
         "amenities": ("amenities", 40), "superhost": ("host.is_superhost", 2)}


def _ranges(*edges: float) -> list[dict]:
    """[a, b) buckets between consecutive edges, the last one open-ended."""
    buckets = [{"key": f"{lo:g}-{hi:g}", "from": lo, "to": hi} for lo, hi in zip(edges, edges[1:], strict=False)]
    return [*buckets, {"key": f"{edges[-1]:g}+", "from": edges[-1]}]


RANGES = {
    "price": ("price", _ranges(0, 50, 100, 150, 250, 500, 1000)),
    "review_score": ("review_score", _ranges(0, 3, 4, 4.5, 4.8)),
    "minimum_nights": ("minimum_nights", _ranges(1, 2, 7, 30)),
    "availability_365": ("availability_365", _ranges(0, 1, 90, 180, 270)),
}
STATS = {"price_stats": "price"}
NAMES = (*MULTI_SELECT, *TERMS, *RANGES, *STATS)


def multi_select_filters(selected: dict[str, list[str]]) -> dict[str, dict]:
    """facet name -> the terms filter of its selected values."""
    return {name: {"terms": {MULTI_SELECT[name][0]: values}} for name, values in selected.items() if values}


SCOPE = "under_selection"  # the facets counted under every selected filter (see aggregations)


def _facet(name: str) -> dict:
    if name in MULTI_SELECT or name in TERMS:
        field, size = MULTI_SELECT.get(name) or TERMS[name]
        return {"terms": {"field": field, "size": size}}
    if name in RANGES:
        field, buckets = RANGES[name]
        return {"range": {"field": field, "ranges": buckets}}
    return {"stats": {"field": STATS[name]}}


def aggregations(selected_filters: dict[str, dict]) -> dict:
    """Every facet is counted under all selected filters except its own. Facets sharing that scope
    (all but the selected multi-select ones) are collected under one `filter` (SCOPE): one per
    facet cost ~20% of a 16-facet request at 1M. With nothing selected the terms facets run at the
    top level (faster still), but ranges and stats stay under the scope: at the top level OpenSearch
    2.19 takes its filter-rewrite path for them, which fails on half_float fields
    (ArrayIndexOutOfBoundsException in Ranges.compareByteValue)."""
    own = {name: _facet(name) for name in NAMES}
    if not selected_filters:
        top = {name: agg for name, agg in own.items() if "terms" in agg}
        return {**top, SCOPE: {"filter": {"bool": {"filter": []}},
                               "aggs": {name: agg for name, agg in own.items() if name not in top}}}
    aggs = {SCOPE: {"filter": {"bool": {"filter": list(selected_filters.values())}},
                    "aggs": {name: agg for name, agg in own.items() if name not in selected_filters}}}
    for name in selected_filters:
        others = [f for other, f in selected_filters.items() if other != name]
        aggs[name] = {"filter": {"bool": {"filter": others}}, "aggs": {name: own[name]}}
    return aggs


def _located(raw: dict, name: str, selected: dict[str, list[str]]) -> dict:
    """Where aggregations() put a facet's result."""
    if selected.get(name):
        return raw[name][name]
    return raw[SCOPE][name] if name in raw[SCOPE] else raw[name]


def _key(bucket: dict):
    if "key_as_string" in bucket and bucket["key_as_string"] in ("true", "false"):
        return bucket["key_as_string"] == "true"
    key = bucket["key"]
    return int(key) if isinstance(key, float) and key.is_integer() else key


def read(raw: dict, selected: dict[str, list[str]]) -> dict:
    """Response aggregations -> {facet: [{value, count, selected}] | {min, avg, max, count}}."""
    out: dict = {}
    for name in NAMES:
        agg = _located(raw, name, selected)
        if name in STATS:
            out[name] = {k: agg[k] for k in ("count", "min", "avg", "max")}
        elif name in RANGES:
            out[name] = [{"value": b["key"], "from": b.get("from"), "to": b.get("to"), "count": b["doc_count"]}
                         for b in agg["buckets"]]
        else:
            chosen = set(selected.get(name, []))
            out[name] = [{"value": _key(b), "count": b["doc_count"], "selected": str(b["key"]) in chosen}
                         for b in agg["buckets"]]
    return out
