"""Both real datasets load completely, exactly and idempotently."""
import csv
import gzip

from sqlalchemy import text

from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.loaders.run import DATASETS, default_path, load_file

NYC_ROWS, EDINBURGH_ROWS = 48_895, 5_780


def _scalar(sql, **params):
    with get_engine(get_settings(), "readonly").connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_nyc_loads_all_rows_but_explained_rejects(loaded_db):
    report = loaded_db["nyc"]
    assert report.rows_read == NYC_ROWS
    assert report.rows_loaded + len(report.rejects) == NYC_ROWS
    # the README of the dataset: 16 empty names; nothing else is unusable
    assert len(report.rejects) == 16
    assert {(r.column, r.reason) for r in report.rejects} == {("title", "is empty")}
    assert all(r.source_id and r.line > r.row for r in report.rejects)
    assert _scalar("SELECT COUNT(*) FROM properties WHERE source = 'nyc_airbnb_2019'") == report.rows_loaded
    assert _scalar("SELECT COUNT(DISTINCT area) FROM properties WHERE city = 'New York'") == 5


def test_edinburgh_loads_descriptions_bedrooms_and_one_image_each(loaded_db):
    report = loaded_db["edinburgh"]
    assert (report.rows_read, report.rows_loaded, report.rejects) == (EDINBURGH_ROWS, EDINBURGH_ROWS, [])
    where = "source = 'edinburgh_airbnb_2024_09'"
    assert _scalar(f"SELECT COUNT(*) FROM properties WHERE {where} AND description IS NOT NULL") == 5_656
    assert _scalar(f"SELECT COUNT(*) FROM properties WHERE {where} AND bedrooms IS NOT NULL") == 5_523
    assert _scalar(f"SELECT COUNT(*) FROM properties p JOIN property_images i ON i.property_id = p.id "
                   f"WHERE {where} AND i.position = 0") == EDINBURGH_ROWS
    assert _scalar(f"SELECT COUNT(*) FROM properties WHERE {where} AND JSON_LENGTH(amenities) > 0") > 5_000


def test_users_profiles_and_images_are_consistent(loaded_db):
    assert _scalar("SELECT COUNT(*) FROM properties p LEFT JOIN users u ON u.id = p.host_id WHERE u.id IS NULL") == 0
    assert _scalar("SELECT COUNT(*) FROM users") == _scalar("SELECT COUNT(*) FROM user_profiles")
    assert _scalar("SELECT COUNT(*) FROM users WHERE role <> 'host'") == 0
    assert _scalar("SELECT COUNT(*) FROM property_images") == EDINBURGH_ROWS
    hosts_in_files = set()
    for dataset in DATASETS:
        path = default_path(get_settings(), dataset)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            hosts_in_files |= {int(r["host_id"]) for r in csv.DictReader(fh) if r["name"].strip()}
    assert _scalar("SELECT COUNT(*) FROM users") == len(hosts_in_files)


def test_ids_above_2_pow_53_survive_exactly(loaded_db):
    with gzip.open(default_path(get_settings(), "edinburgh"), "rt", encoding="utf-8", newline="") as fh:
        big = {int(r["id"]) for r in csv.DictReader(fh) if int(r["id"]) > 2**53}
    assert len(big) > 1000
    with get_engine(get_settings(), "readonly").connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT id FROM properties WHERE id > :limit"), {"limit": 2**53})}
    assert stored == big
    assert 1244635053308459134 in stored  # a float would have turned it into ...459136


def _table_checksums():
    with get_engine(get_settings(), "readonly").connect() as conn:
        return {t: conn.execute(text(f"CHECKSUM TABLE {t}")).one()[1]
                for t in ("users", "user_profiles", "properties", "property_images")}


def test_reloading_is_idempotent(loaded_db):
    before = _table_checksums()
    for dataset, (_, defaults) in DATASETS.items():
        report = load_file(get_engine(get_settings(), "app"), default_path(get_settings(), dataset), dataset, defaults,
                           batch_size=5000, rejects_dir=get_settings().stack_dir / "rejects-test", progress=False)
        assert report.rows_loaded == loaded_db[dataset].rows_loaded
    assert _table_checksums() == before
    assert _scalar("SELECT MAX(version) FROM properties") == 1
