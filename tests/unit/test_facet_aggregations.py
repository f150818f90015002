"""Facet aggregation layout: each facet counted under every selected filter except its own, the
shared scope collected once, the keyed facets read back from `facet_keys` in terms-aggregation
order, and every facet found again by read()."""
from __future__ import annotations

from hellohome.search import facets

DOC = {"city": "New York", "area": "Brooklyn", "room_type": "Private room", "property_type": None,
       "bedrooms": 2, "bathrooms": 1.5, "accommodates": 3, "price": 100.0, "review_score": 4.79,
       "minimum_nights": 30, "availability_365": 0, "host": {"role": "host", "is_superhost": False}}


def _fake_response(aggs: dict, keys: list[str]) -> dict:
    """An OpenSearch-shaped response for these aggregations: `keys` as facet_keys buckets, one
    bucket per other terms facet, stats for stats."""
    out = {}
    for name, agg in aggs.items():
        if "filter" in agg:
            out[name] = {"doc_count": 1, **_fake_response(agg["aggs"], keys)}
        elif "stats" in agg:
            out[name] = {"count": 1, "min": 1.0, "avg": 1.0, "max": 1.0, "sum": 1.0}
        elif name == facets.KEYS_FIELD:
            out[name] = {"sum_other_doc_count": 0, "buckets": [{"key": k, "doc_count": 7} for k in keys]}
        else:
            out[name] = {"buckets": [{"key": name, "doc_count": 7}]}
    return out


def _scope_filters(aggs: dict, name: str) -> str:
    """The filters a facet is counted under, as text."""
    if name in aggs and "filter" in aggs[name]:
        return str(aggs[name]["filter"])
    if name in aggs or facets.SCOPE not in aggs:
        return "top level"
    return str(aggs[facets.SCOPE]["filter"])


def test_a_document_has_one_key_per_keyed_facet_it_has_a_value_for():
    assert facets.keys(DOC) == [
        "city=New York", "area=Brooklyn", "room_type=Private room", "host_role=host", "bedrooms=2",
        "bathrooms=1.5", "accommodates=3", "superhost=false", "price=100-150", "review_score=4.5-4.8",
        "minimum_nights=30+", "availability_365=0-1"]
    assert facets.keys({"price": -1, "minimum_nights": 0}) == []  # below every bucket, like a range agg


def test_nothing_selected_every_facet_is_counted_at_the_top_level_and_read_back():
    aggs = facets.aggregations({})
    assert set(aggs) == {facets.KEYS_FIELD, *facets.OWN_AGGREGATION, *facets.STATS}
    read = facets.read(_fake_response(aggs, facets.keys(DOC)), {})
    assert set(read) == set(facets.NAMES)
    assert read["city"] == [{"value": "New York", "count": 7, "selected": False}]
    assert read["bathrooms"][0]["value"] == 1.5 and read["bedrooms"][0]["value"] == 2
    assert read["superhost"] == [{"value": False, "count": 7, "selected": False}]
    assert read["property_type"] == []
    assert [b["count"] for b in read["price"]] == [0, 0, 7, 0, 0, 0, 0]
    assert read["price"][-1] == {"value": "1000+", "from": 1000, "to": None, "count": 0}


def test_keyed_buckets_read_in_terms_order_and_cut_to_the_facet_size():
    keys = {f"bedrooms={n}": 100 - n for n in range(20)} | {"room_type=b": 5, "room_type=a": 5, "room_type=c": 9}
    raw = {facets.KEYS_FIELD: {"sum_other_doc_count": 0,
                               "buckets": [{"key": k, "doc_count": n} for k, n in keys.items()]},
           "neighbourhood": {"buckets": []}, "amenities": {"buckets": []},
           "price_stats": {"count": 0, "min": None, "avg": None, "max": None}}
    read = facets.read(raw, {})
    assert [b["value"] for b in read["bedrooms"]] == list(range(facets.TERMS["bedrooms"][1]))
    assert [(b["value"], b["count"]) for b in read["room_type"]] == [("c", 9), ("a", 5), ("b", 5)]


def test_a_selected_facet_is_counted_without_its_own_selection():
    selected = {"city": ["Edinburgh"], "room_type": ["Private room"]}
    aggs = facets.aggregations(facets.multi_select_filters(selected))
    assert "Private room" in _scope_filters(aggs, "city") and "Edinburgh" not in _scope_filters(aggs, "city")
    assert "Edinburgh" in _scope_filters(aggs, "room_type") and "Private room" not in _scope_filters(aggs, "room_type")
    shared = aggs[facets.SCOPE]
    assert "Edinburgh" in str(shared["filter"]) and "Private room" in str(shared["filter"])
    assert set(shared["aggs"]) == {facets.KEYS_FIELD, *facets.OWN_AGGREGATION, *facets.STATS}
    read = facets.read(_fake_response(aggs, ["area=Leith", "city=New York"]), selected)
    assert set(read) == set(facets.NAMES)
    assert read["city"] == [{"value": "city", "count": 7, "selected": False}]  # from its own aggregation
    assert read["area"] == [{"value": "Leith", "count": 7, "selected": False}]
