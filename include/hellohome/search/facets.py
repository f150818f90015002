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


def aggregations(selected_filters: dict[str, dict]) -> dict:
    def scoped(own: str | None, agg: dict) -> dict:
        others = [f for name, f in selected_filters.items() if name != own]
        return {"filter": {"bool": {"filter": others}}, "aggs": {"values": agg}}

    aggs = {name: scoped(name, {"terms": {"field": field, "size": size}})
            for name, (field, size) in MULTI_SELECT.items()}
    aggs |= {name: scoped(None, {"terms": {"field": field, "size": size}}) for name, (field, size) in TERMS.items()}
    aggs |= {name: scoped(None, {"range": {"field": field, "ranges": buckets}}) for name, (field, buckets) in RANGES.items()}
    aggs |= {name: scoped(None, {"stats": {"field": field}}) for name, field in STATS.items()}
    return aggs


def _key(bucket: dict):
    if "key_as_string" in bucket and bucket["key_as_string"] in ("true", "false"):
        return bucket["key_as_string"] == "true"
    key = bucket["key"]
    return int(key) if isinstance(key, float) and key.is_integer() else key


def read(raw: dict, selected: dict[str, list[str]]) -> dict:
    """Response aggregations -> {facet: [{value, count, selected}] | {min, avg, max, count}}."""
    out: dict = {}
    for name in NAMES:
        agg = raw[name]["values"]
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
