"""Facet aggregation layout: each facet counted under every selected filter except its own, the
shared scope collected once, and every facet found again by read()."""
from __future__ import annotations

from hellohome.search import facets


def _fake_response(aggs: dict) -> dict:
    """An OpenSearch-shaped response for these aggregations: one bucket or stats per facet."""
    out = {}
    for name, agg in aggs.items():
        if "filter" in agg:
            out[name] = {"doc_count": 1, **_fake_response(agg["aggs"])}
        elif "stats" in agg:
            out[name] = {"count": 1, "min": 1.0, "avg": 1.0, "max": 1.0, "sum": 1.0}
        else:
            out[name] = {"buckets": [{"key": name, "doc_count": 7}]}
    return out


def _scope_filters(aggs: dict, name: str) -> str:
    """The filters a facet is counted under, as text."""
    if name in aggs and "filter" in aggs[name]:
        return str(aggs[name]["filter"])
    if name in aggs:
        return "top level"
    return str(aggs[facets.SCOPE]["filter"])


def test_nothing_selected_every_facet_is_counted_unfiltered_and_read_back():
    aggs = facets.aggregations({})
    assert {n for n in facets.NAMES if n in aggs} == {*facets.MULTI_SELECT, *facets.TERMS}
    # ranges and stats never at the top level (OpenSearch 2.19's filter-rewrite bug)
    assert set(aggs[facets.SCOPE]["aggs"]) == {*facets.RANGES, *facets.STATS}
    read = facets.read(_fake_response(aggs), {})
    assert set(read) == set(facets.NAMES)
    assert read["city"] == [{"value": "city", "count": 7, "selected": False}]


def test_a_selected_facet_is_counted_without_its_own_selection():
    selected = {"city": ["Edinburgh"], "room_type": ["Private room"]}
    aggs = facets.aggregations(facets.multi_select_filters(selected))
    assert "Private room" in _scope_filters(aggs, "city") and "Edinburgh" not in _scope_filters(aggs, "city")
    assert "Edinburgh" in _scope_filters(aggs, "room_type") and "Private room" not in _scope_filters(aggs, "room_type")
    for other in ("area", "amenities", "price", "price_stats"):
        assert "Edinburgh" in _scope_filters(aggs, other) and "Private room" in _scope_filters(aggs, other)
    assert set(facets.read(_fake_response(aggs), selected)) == set(facets.NAMES)
