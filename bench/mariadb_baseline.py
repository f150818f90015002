"""The brief's "MySQL" side of bench.search, like for like: the same query types as plain SQL, the
same 16 facet definitions as the API (generated from hellohome.search.facets: the amenity facet counts
each amenity, the price facet uses the API's buckets), and the indexes a competent DBA would add for
these queries (created in the benchmark's schema only: the product serves them from OpenSearch).

What MariaDB cannot do stays missing: no typo tolerance (FULLTEXT natural-language mode), no vectors.
"""
from __future__ import annotations

from sqlalchemy import text

from hellohome.db.engine import get_engine
from hellohome.search import facets

COLS = "p.id, p.title, p.price, p.area, p.neighbourhood"
JOINS = "FROM properties p JOIN users u ON u.id = p.host_id LEFT JOIN user_profiles pr ON pr.user_id = u.id"
FROM = f"{JOINS} WHERE p.status = 'active'"
MATCH = "MATCH(p.title, p.description) AGAINST (:q IN NATURAL LANGUAGE MODE)"
# (name, column) for the DBA's indexes: geo box scans and prefix lookups
DBA_INDEXES = {"bench_geo": "(latitude, longitude)", "bench_title_prefix": "(title(32))",
               "bench_neighbourhood": "(neighbourhood)"}
COLUMNS = {"city": "p.city", "area": "p.area", "neighbourhood": "p.neighbourhood", "room_type": "p.room_type",
           "property_type": "p.property_type", "host.role": "u.role", "bedrooms": "p.bedrooms",
           "bathrooms": "p.bathrooms", "accommodates": "p.accommodates", "host.is_superhost": "pr.is_superhost",
           "price": "p.price", "review_score": "p.review_score", "minimum_nights": "p.minimum_nights",
           "availability_365": "p.availability_365"}


def _range_case(column: str, buckets: list[dict]) -> str:
    """The API's [from, to) buckets as one CASE: the same edges, the same keys."""
    whens = " ".join(f"WHEN {column} >= {b['from']} THEN '{b['key']}'" for b in reversed(buckets))
    return f"CASE {whens} END"


def facet_sql(where: str) -> list[str]:
    """One statement per facet, as the API defines them (16)."""
    sql = []
    for name, (field, size) in facets.BY_TERMS.items():
        if name == "amenities":  # each amenity of the JSON array is a value, as in the index
            sql.append(f"SELECT a.amenity, COUNT(*) {JOINS} CROSS JOIN JSON_TABLE(p.amenities, '$[*]' COLUMNS "
                       f"(amenity VARCHAR(200) PATH '$')) a WHERE p.status = 'active' AND {where} "
                       f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {size}")
        else:
            column = COLUMNS[field]
            sql.append(f"SELECT {column}, COUNT(*) {FROM} AND {where} AND {column} IS NOT NULL "
                       f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {size}")
    for field, buckets in facets.RANGES.values():
        sql.append(f"SELECT {_range_case(COLUMNS[field], buckets)} AS bucket, COUNT(*) {FROM} AND {where} "
                   f"GROUP BY 1")
    for field in facets.STATS.values():
        sql.append(f"SELECT COUNT({COLUMNS[field]}), MIN({COLUMNS[field]}), AVG({COLUMNS[field]}), "
                   f"MAX({COLUMNS[field]}) {FROM} AND {where}")
    assert len(sql) == len(facets.NAMES), "one statement per facet"
    return sql


FACETS = facet_sql(f"{MATCH} AND p.price <= :pmax")
GEO = (f"SELECT p.id, ST_Distance_Sphere(POINT(p.longitude, p.latitude), POINT(:lon, :lat)) AS d {FROM} "
       "AND p.latitude BETWEEN :lat - 0.018 AND :lat + 0.018 AND p.longitude BETWEEN :lon - 0.03 AND :lon + 0.03 "
       "HAVING d <= 2000 ORDER BY d, p.id LIMIT 20")


def statements(qtype: str, case: dict) -> list[tuple[str, dict]]:
    """The SQL for one query of `qtype` with the same parameters the API query got; the first
    statement's first column is the listing id (or title, for autocomplete) compared for overlap."""
    if qtype == "fuzzy_bm25":
        return [(f"SELECT {COLS} {FROM} AND {MATCH} LIMIT 20", {"q": case["q"]})]
    if qtype == "filtered":
        return [(f"SELECT {COLS} {FROM} AND {MATCH} AND p.price <= :pmax AND p.room_type = 'Private room' "
                 "AND p.availability_365 >= 30 LIMIT 20", {"q": case["q"], "pmax": case["pmax"]})]
    if qtype == "facets_16":
        params = {"q": case["q"], "pmax": case["pmax"]}
        return [(f"SELECT {COLS} {FROM} AND {MATCH} AND p.price <= :pmax LIMIT 20", params),
                *((sql, params) for sql in FACETS)]
    if qtype == "autocomplete":
        prefix = {"p": case["prefix"] + "%"}
        return [(f"SELECT p.title {FROM} AND p.title LIKE :p LIMIT 5", prefix),
                ("SELECT DISTINCT neighbourhood FROM properties WHERE neighbourhood LIKE :p LIMIT 5", prefix)]
    if qtype == "geo":
        return [(GEO, {"lat": case["point"][0], "lon": case["point"][1]})]
    return []  # semantic, hybrid: MariaDB has no vectors


def ensure_dba_indexes(settings, schema: str) -> list[str]:
    """Add the indexes a DBA would for these queries (idempotent); returns those created."""
    owner = get_engine(settings, "owner", schema)
    with owner.begin() as conn:
        existing = {r[2] for r in conn.execute(text("SHOW INDEX FROM properties"))}
        created = [name for name in DBA_INDEXES if name not in existing]
        for name in created:
            conn.execute(text(f"CREATE INDEX {name} ON properties {DBA_INDEXES[name]}"))
    return created
