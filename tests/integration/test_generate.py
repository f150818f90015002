"""The generator resamples real rows into valid, deterministic, city-bounded listings."""
import pytest
from sqlalchemy import text

from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.db.models import GENERATED_ID_START
from hellohome.loaders.generate import generate
from hellohome.loaders.records import ListingRecord, check_listing

COUNT = 3000


@pytest.fixture
def generated_db(loaded_db):
    """The loaded test schema; generated rows are removed afterwards so other tests see real data only."""
    yield get_engine(get_settings(), "app")
    with get_engine(get_settings(), "app").begin() as conn:
        conn.execute(text("DELETE FROM properties WHERE source = 'generated'"))
        conn.execute(text("DELETE FROM users WHERE source = 'generated'"))


def _generated_rows(conn):
    return conn.execute(text(
        "SELECT p.*, u.name AS host_name, (SELECT GROUP_CONCAT(url ORDER BY position) FROM property_images i "
        "WHERE i.property_id = p.id) AS urls FROM properties p JOIN users u ON u.id = p.host_id "
        "WHERE p.source = 'generated' ORDER BY p.id")).mappings().all()


def test_generated_rows_pass_the_loader_validation(generated_db):
    import json

    engine = generated_db
    report = generate(engine, COUNT, seed=7, batch_size=1000, progress=False)
    assert report.rows == COUNT
    with engine.connect() as conn:
        rows = _generated_rows(conn)
        assert len(rows) == COUNT
        assert rows[0]["id"] == GENERATED_ID_START and rows[-1]["id"] == GENERATED_ID_START + COUNT - 1
        for row in rows:
            prop = dict(row)
            prop["amenities"] = json.loads(prop["amenities"]) if prop["amenities"] else None
            rec = ListingRecord(property=prop, host={"id": row["host_id"], "name": row["host_name"]},
                                images=row["urls"].split(",") if row["urls"] else [])
            assert check_listing(rec, generated=True) == [], row["id"]
        # realistic: inside each city's real bounding box, same mix of cities, hosts shared
        outside = conn.execute(text("""
            SELECT COUNT(*) FROM properties g JOIN (
              SELECT city, MIN(latitude) a, MAX(latitude) b, MIN(longitude) c, MAX(longitude) d
              FROM properties WHERE source <> 'generated' GROUP BY city) r ON r.city = g.city
            WHERE g.source = 'generated' AND NOT (g.latitude BETWEEN r.a AND r.b AND g.longitude BETWEEN r.c AND r.d)
        """)).scalar()
        assert outside == 0
        cities = dict(conn.execute(text(
            "SELECT city, COUNT(*) FROM properties WHERE source = 'generated' GROUP BY city")).all())
        assert cities["New York"] > cities["Edinburgh"] > 0
        hosts = conn.execute(text("SELECT COUNT(DISTINCT host_id) FROM properties WHERE source = 'generated'")).scalar()
        assert COUNT / 10 < hosts < COUNT / 2
        distinct_titles = conn.execute(text(
            "SELECT COUNT(DISTINCT title) FROM properties WHERE source = 'generated'")).scalar()
        assert distinct_titles > COUNT * 0.8


def test_same_seed_same_rows_and_rerun_is_idempotent(generated_db):
    engine = generated_db
    generate(engine, COUNT, seed=7, batch_size=1000, progress=False)
    with engine.connect() as conn:
        first = conn.execute(text("CHECKSUM TABLE properties")).one()[1]
    generate(engine, COUNT, seed=7, batch_size=500, progress=False)
    with engine.connect() as conn:
        assert conn.execute(text("CHECKSUM TABLE properties")).one()[1] == first
        assert conn.execute(text("SELECT MAX(version) FROM properties WHERE source = 'generated'")).scalar() == 1
