"""The facets every search returns in the same request (16), and how their buckets read back.

Thirteen of them are counted from one field, `facet_keys`, built with each document: one
"facet=value" keyword per facet ("room_type=Private room", "price=100-150"). One terms aggregation
over it costs about what three separate ones do: at 1M listings the 16 facets' OpenSearch P95 went
from 83 to 49 ms (bench/facet_layout.py). Neighbourhood (its vocabulary grows with every city) and
amenities (2,000+ values) keep their own terms aggregation, price stats its stats aggregation.

Multi-select facets (places, room/property type, host role) are filtered through `post_filter`,
and each facet's aggregation applies every selected facet except its own, so a facet keeps
showing counts for the values a user could switch to.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# facet name -> (indexed field, terms size); selecting values of these narrows hits via post_filter
MULTI_SELECT = {
    "city": ("city", 10), "area": ("area", 20), "neighbourhood": ("neighbourhood", 40),
    "room_type": ("room_type", 10), "property_type": ("property_type", 40), "host_role": ("host.role", 5),
}
TERMS = {"bedrooms": ("bedrooms", 12), "bathrooms": ("bathrooms", 12), "accommodates": ("accommodates", 16),
         "amenities": ("amenities", 40), "superhost": ("host.is_superhost", 2)}
NUMERIC = {"bedrooms", "bathrooms", "accommodates"}
BY_TERMS = {**MULTI_SELECT, **TERMS}  # every facet of values (not ranges or stats) -> (field, size)


def _ranges(*edges: float) -> list[dict]:
    """[a, b) buckets between consecutive edges, the last one open-ended."""
    buckets = [{"key": f"{lo:g}-{hi:g}", "from": lo, "to": hi} for lo, hi in zip(edges, edges[1:], strict=False)]
    return [*buckets, {"key": f"{edges[-1]:g}+", "from": edges[-1], "to": None}]


RANGES = {
    "price": ("price", _ranges(0, 50, 100, 150, 250, 500, 1000)),
    "review_score": ("review_score", _ranges(0, 3, 4, 4.5, 4.8)),
    "minimum_nights": ("minimum_nights", _ranges(1, 2, 7, 30)),
    "availability_365": ("availability_365", _ranges(0, 1, 90, 180, 270)),
}
STATS = {"price_stats": "price"}
NAMES = (*MULTI_SELECT, *TERMS, *RANGES, *STATS)

KEYS_FIELD = "facet_keys"
OWN_AGGREGATION = ("neighbourhood", "amenities")  # open-ended vocabularies: a terms aggregation each
KEYED = tuple(n for n in (*MULTI_SELECT, *TERMS, *RANGES) if n not in OWN_AGGREGATION)
# every bucket of `facet_keys` comes back (~160 values here), so each count is exact; read() warns
# if the vocabulary ever outgrows this
KEYS_SIZE = 10_000
SCOPE = "under_selection"  # the facets counted under every selected filter (see aggregations)


def _field_value(doc: dict, path: str):
    for part in path.split("."):
        doc = (doc or {}).get(part)
    return doc


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _range_key(name: str, value: float) -> str | None:
    for bucket in reversed(RANGES[name][1]):
        if value >= bucket["from"]:
            return bucket["key"]
    return None  # below the first edge: in no bucket, as in a range aggregation


def keys(doc: dict) -> list[str]:
    """A document's `facet_keys`: "facet=value" for each keyed facet it has a value for."""
    out = []
    for name in KEYED:
        field = RANGES[name][0] if name in RANGES else BY_TERMS[name][0]
        value = _field_value(doc, field)
        if value is None:
            continue
        key = _range_key(name, value) if name in RANGES else _text(value)
        if key is not None:
            out.append(f"{name}={key}")
    return out


def multi_select_filters(selected: dict[str, list[str]]) -> dict[str, dict]:
    """facet name -> the terms filter of its selected values."""
    return {name: {"terms": {MULTI_SELECT[name][0]: values}} for name, values in selected.items() if values}


def _terms(name: str) -> dict:
    field, size = BY_TERMS[name]
    return {"terms": {"field": field, "size": size}}


def aggregations(selected_filters: dict[str, dict]) -> dict:
    """Every facet is counted under all selected filters except its own. Facets sharing that scope
    (all but the selected multi-select ones) are collected once, at the top level when nothing is
    selected, else under one `filter` (SCOPE); a selected facet gets a filter of the others and a
    terms aggregation on its own field."""
    shared = {KEYS_FIELD: {"terms": {"field": KEYS_FIELD, "size": KEYS_SIZE}},
              **{name: _terms(name) for name in OWN_AGGREGATION if name not in selected_filters},
              **{name: {"stats": {"field": field}} for name, field in STATS.items()}}
    if not selected_filters:
        return shared
    aggs = {SCOPE: {"filter": {"bool": {"filter": list(selected_filters.values())}}, "aggs": shared}}
    for name in selected_filters:
        others = [f for other, f in selected_filters.items() if other != name]
        aggs[name] = {"filter": {"bool": {"filter": others}}, "aggs": {name: _terms(name)}}
    return aggs


def bucket_value(name: str, key):
    """A bucket key as the facet's value: numbers as numbers, superhost as a boolean."""
    if name == "superhost":
        return key == "true"
    if name in NUMERIC:
        number = float(key)
        return int(number) if number.is_integer() else number
    return key


def _keyed_buckets(shared: dict) -> dict[str, dict[str, int]]:
    """The `facet_keys` buckets split by facet: name -> {key text: count}."""
    agg = shared[KEYS_FIELD]
    if agg.get("sum_other_doc_count"):
        log.warning("facet_keys has more than %d values; some facet counts are left out", KEYS_SIZE)
    counts: dict[str, dict[str, int]] = {name: {} for name in KEYED}
    for bucket in agg["buckets"]:
        name, _, key = bucket["key"].partition("=")
        if name in counts:
            counts[name][key] = bucket["doc_count"]
    return counts


def _listed(name: str, counts: dict[str, int]) -> list[dict]:
    """An unselected facet in terms-aggregation order (count desc, then value asc), cut to its size."""
    size = BY_TERMS[name][1]
    values = sorted(((bucket_value(name, k), n) for k, n in counts.items()), key=lambda v: (-v[1], v[0]))
    return [{"value": value, "count": n, "selected": False} for value, n in values[:size]]


def read(raw: dict, selected: dict[str, list[str]]) -> dict:
    """Response aggregations -> {facet: [{value, count, selected}] | [{value, from, to, count}] |
    {min, avg, max, count}}."""
    shared = raw[SCOPE] if SCOPE in raw else raw
    keyed = _keyed_buckets(shared)
    out: dict = {}
    for name in NAMES:
        chosen = set(selected.get(name, []))
        if name in STATS:
            out[name] = {k: shared[name][k] for k in ("count", "min", "avg", "max")}
        elif name in RANGES:
            out[name] = [{"value": b["key"], "from": b["from"], "to": b["to"],
                          "count": keyed[name].get(b["key"], 0)} for b in RANGES[name][1]]
        elif chosen:  # counted on its own, without its own selection
            out[name] = [{"value": bucket_value(name, b["key"]), "count": b["doc_count"],
                          "selected": str(b["key"]) in chosen} for b in raw[name][name]["buckets"]]
        elif name in OWN_AGGREGATION:
            out[name] = _listed(name, {b["key"]: b["doc_count"] for b in shared[name]["buckets"]})
        else:
            out[name] = _listed(name, keyed[name])
    return out
