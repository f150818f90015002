"""The kNN part of semantic and hybrid queries filters its candidates by every filter, selected
facets included (a post_filter alone would drop most of the k nearest and leave too few hits)."""
from __future__ import annotations

import pytest

from hellohome.search.query import build
from hellohome.search.request import Filters, Mode, SearchRequest


def _knn(body: dict) -> dict:
    query = body["query"]
    if "hybrid" in query:
        query = query["hybrid"]["queries"][1]
    return query["knn"]["text_vector"]


@pytest.mark.parametrize("mode", [Mode.semantic, Mode.hybrid])
def test_knn_candidates_pass_selected_facets_and_filters(mode):
    request = SearchRequest(q="quiet flat", mode=mode, filters=Filters(city=["Edinburgh"], room_type=["Private room"],
                                                                       price_max=100))
    body = build(request, query_vector=[0.1] * 384)
    knn_filters = str(_knn(body)["filter"])
    for wanted in ("Edinburgh", "Private room", "'lte': 100"):
        assert wanted in knn_filters
    assert _knn(body)["k"] >= request.size
    # facet counts keep their multi-select behaviour through the post_filter
    assert "Edinburgh" in str(body["post_filter"])


def test_bm25_keeps_selected_facets_in_the_post_filter_only():
    body = build(SearchRequest(q="quiet flat", filters=Filters(city=["Edinburgh"])))
    assert "Edinburgh" not in str(body["query"]) and "Edinburgh" in str(body["post_filter"])


HOSTILE = ["'; DROP TABLE properties; --", '{"query": {"match_all": {}}}', "*:* OR title:*", "title:(a OR b)^99",
           "<script>alert(1)</script>", "name:/joh?n(ath[oa]n)/", "\\u0000 AND NOT x"]
SYNTAX_QUERIES = {"query_string", "simple_query_string", "wrapper", "script", "script_score", "regexp", "wildcard",
                  "prefix", "fuzzy", "terms_set", "intervals"}


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), key, value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, path)


@pytest.mark.parametrize("q", HOSTILE)
def test_user_text_is_only_ever_a_value_to_match(q):
    body = build(SearchRequest(q=q))
    keys = {key for _, key, _ in _walk(body)}
    assert not keys & SYNTAX_QUERIES
    carrying = [path for path, _, value in _walk(body) if isinstance(value, str) and value and value in q]
    assert carrying, "the text is searched"
    for path in carrying:  # every piece of user text sits as the "query" of a match-type clause
        assert path[-1] == "query" and path[-2] in ("title", "multi_match"), path
