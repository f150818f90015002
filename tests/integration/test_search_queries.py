"""The query layer against real OpenSearch over the loaded NYC + Edinburgh data, checked against MariaDB."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import text

from hellohome.db.engine import get_engine
from hellohome.search import facets
from hellohome.search.request import Filters, Near, SearchRequest, Sort


def run(service, **kw):
    return service.search(SearchRequest(**kw))


def db_scalar(settings, sql, **params):
    with get_engine(settings, "readonly").connect() as conn:
        return conn.execute(text(sql), params).scalar()


@pytest.mark.parametrize(("typo", "field", "expected"), [
    ("brookln", "area", "Brooklyn"), ("willamsburg", "neighbourhood", "Williamsburg")])
def test_typos_in_place_names_are_tolerated(search_service, typo, field, expected):
    r = run(search_service, q=typo, interpret=False, size=20)
    assert r["total"] > 100
    assert sum(expected in (h[field] or "") for h in r["hits"]) >= 12


def test_typo_in_a_title_word_finds_it(search_service):
    r = run(search_service, q="apartmnt", interpret=False, size=10)
    assert r["total"] > 1000
    assert all("apart" in h["title"].lower() or "apt" in h["title"].lower() for h in r["hits"][:5])


def test_filters_hold_for_every_hit(search_service):
    f = Filters(price_min=50, price_max=150, room_type=["Entire home/apt"], accommodates_min=3,
                amenities=["wifi", "kitchen"], city=["Edinburgh"])
    r = run(search_service, filters=f, size=100)
    assert r["total"] > 10
    for h in r["hits"]:
        assert 50 <= h["price"] <= 150 and h["room_type"] == "Entire home/apt" and h["accommodates"] >= 3
        assert {"wifi", "kitchen"} <= {a.lower() for a in h["amenities"]}


def test_geo_radius_and_distance_sort(search_service):
    centre = Near(lat=40.7829, lon=-73.9654, radius_km=1.0)  # Central Park
    r = run(search_service, filters=Filters(near=centre), sort=Sort.distance, size=50)
    distances = [h["distance_km"] for h in r["hits"]]
    assert r["total"] > 50 and distances == sorted(distances) and distances[-1] <= 1.0
    for h in r["hits"]:
        dlat = math.radians(h["location"]["lat"] - centre.lat)
        dlon = math.radians(h["location"]["lon"] - centre.lon) * math.cos(math.radians(centre.lat))
        assert 6371 * math.hypot(dlat, dlon) <= 1.01


@pytest.mark.parametrize(("sort", "key", "descending"), [
    (Sort.price_asc, "price", False), (Sort.price_desc, "price", True), (Sort.rating, "review_score", True)])
def test_sorts_order_hits(search_service, sort, key, descending):
    values = [h[key] for h in run(search_service, sort=sort, size=100, filters=Filters(city=["Edinburgh"]))["hits"]]
    values = [v for v in values if v is not None]
    assert len(values) > 50 and values == sorted(values, reverse=descending)


def test_newest_sort(search_service, search_settings):
    hits = run(search_service, sort=Sort.newest, size=5)["hits"]
    newest = db_scalar(search_settings, "SELECT MAX(created_at) FROM properties WHERE status = 'active'")
    assert hits[0]["id"] in {str(i) for i in [db_scalar(
        search_settings, "SELECT id FROM properties WHERE created_at = :t AND status = 'active' ORDER BY id LIMIT 1",
        t=newest)]}


@pytest.mark.parametrize("sort", [Sort.relevance, Sort.price_asc, Sort.rating])
def test_cursor_pagination_has_no_duplicates_or_gaps(search_service, sort):
    base = dict(q="cozy room", interpret=False, sort=sort, size=50, facets=False)
    first_100 = [h["id"] for h in run(search_service, **{**base, "size": 100})["hits"]]
    seen, cursor = [], None
    for _ in range(2):
        page = run(search_service, **base, cursor=cursor)
        seen += [h["id"] for h in page["hits"]]
        cursor = page["next_cursor"]
    assert seen == first_100 and len(set(seen)) == 100


def test_page_numbers_match_the_cursor(search_service):
    pages = [h["id"] for p in (1, 2) for h in run(search_service, q="loft", interpret=False, page=p, size=20)["hits"]]
    assert pages == [h["id"] for h in run(search_service, q="loft", interpret=False, size=40)["hits"]]


def test_facet_counts_equal_mariadb_group_by(search_service, search_settings):
    r = run(search_service, filters=Filters(area=["Brooklyn"], price_max=200), size=1)
    with get_engine(search_settings, "readonly").connect() as conn:
        rows = conn.execute(text(
            "SELECT room_type, COUNT(*) FROM properties WHERE status = 'active' AND price <= 200 "
            "AND area = 'Brooklyn' GROUP BY room_type")).all()
        by_area = dict(conn.execute(text(
            "SELECT area, COUNT(*) FROM properties WHERE status = 'active' AND price <= 200 AND area IS NOT NULL "
            "GROUP BY area")).all())
        total = conn.execute(text("SELECT COUNT(*) FROM properties WHERE status = 'active' AND price <= 200 "
                                  "AND area = 'Brooklyn'")).scalar()
    assert {b["value"]: b["count"] for b in r["facets"]["room_type"]} == dict(rows)
    # area is the selected multi-select facet: its own counts ignore the selection
    assert {b["value"]: b["count"] for b in r["facets"]["area"]} == by_area
    assert r["total"] == total
    assert len(r["facets"]) >= 15


FACET_COLUMNS = {"city": "p.city", "area": "p.area", "property_type": "p.property_type",
                 "host_role": "u.role", "bedrooms": "p.bedrooms", "bathrooms": "p.bathrooms",
                 "accommodates": "p.accommodates", "superhost": "pr.is_superhost"}


def _bucket_sql(name: str) -> str:
    """A range facet's bucket key for a row, as SQL (NULL below the first edge)."""
    cases = " ".join(f"WHEN p.{name} >= {b['from']} THEN '{b['key']}'" for b in reversed(facets.RANGES[name][1]))
    return f"CASE {cases} END"


def test_every_keyed_facet_equals_its_mariadb_group_by(search_service, search_settings):
    """The facets counted from facet_keys, each against a GROUP BY over the rows themselves."""
    r = run(search_service, filters=Filters(room_type=["Private room"], price_max=200), size=1)
    where = (" FROM properties p JOIN users u ON u.id = p.host_id LEFT JOIN user_profiles pr ON pr.user_id = u.id"
             " WHERE p.status = 'active' AND p.price <= 200 AND p.room_type = 'Private room'")
    with get_engine(search_settings, "readonly").connect() as conn:
        def group_by(expr: str) -> list[tuple]:
            return conn.execute(text(f"SELECT {expr} AS v, COUNT(*){where} AND {expr} IS NOT NULL GROUP BY v")).all()

        for name, column in FACET_COLUMNS.items():
            size = facets.BY_TERMS[name][1]
            expected = sorted(group_by(column), key=lambda row: (-row[1], row[0]))[:size]
            assert [(b["value"], b["count"]) for b in r["facets"][name]] == expected, name
        for name in facets.RANGES:
            counts = dict(group_by(_bucket_sql(name)))
            assert {b["value"]: b["count"] for b in r["facets"][name]} == {
                b["key"]: counts.get(b["key"], 0) for b in facets.RANGES[name][1]}, name
            assert sum(counts.values()) > 0, name


def test_selected_facet_keeps_counts_of_its_other_values(search_service):
    r = run(search_service, filters=Filters(room_type=["Shared room"]), size=5)
    counts = {b["value"]: b for b in r["facets"]["room_type"]}
    assert counts["Shared room"]["selected"] and counts["Private room"]["count"] > counts["Shared room"]["count"]
    assert all(h["room_type"] == "Shared room" for h in r["hits"])
    assert r["total"] == counts["Shared room"]["count"]


def test_autocomplete_places_and_titles_with_a_typo(search_service):
    r = search_service.autocomplete("willi")
    assert r["places"][0]["name"] == "Williamsburg" and r["listings"]
    typo = search_service.autocomplete("brokly")
    assert typo["places"] and typo["places"][0]["name"] == "Brooklyn"


def test_natural_language_query_applies_and_reports_its_interpretation(search_service):
    r = run(search_service, q="private room in brookln under $80", size=50)
    fields = {i["field"] for i in r["interpretation"]}
    assert fields == {"room_type", "area", "price_max"}
    assert r["total"] > 100
    assert all(h["area"] == "Brooklyn" and h["room_type"] == "Private room" and h["price"] <= 80 for h in r["hits"])


def test_semantic_modes_fail_clearly_without_a_model(search_settings):
    from hellohome.search.service import SearchService, SearchUnavailable

    with pytest.raises(SearchUnavailable, match="embedding model"):
        run(SearchService(search_settings, embed=None), q="quiet flat", mode="semantic")
