"""Bad files fail clearly and write nothing; bad rows are rejected and the rest loads."""
import pytest
from sqlalchemy import text

from hellohome.errors import DatasetError
from hellohome.loaders.run import DATASETS, load_file

HEADER = ("id,name,host_id,host_name,neighbourhood_group,neighbourhood,latitude,longitude,room_type,price,"
          "minimum_nights,number_of_reviews,last_review,reviews_per_month,calculated_host_listings_count,availability_365")
GOOD = [
    "2539,Clean & quiet apt home by the park,2787,John,Brooklyn,Kensington,40.64749,-73.97237,Private room,149,1,9,2018-10-19,0.21,6,365",
    "2595,Skylit Midtown Castle,2845,Jennifer,Manhattan,Midtown,40.75362,-73.98377,Entire home/apt,225,1,45,2019-05-21,0.38,2,355",
    '3647,"THE VILLAGE OF HARLEM, NEW YORK !",4632,Elisabeth,Manhattan,Harlem,40.80902,-73.9419,Private room,150,3,0,,,1,365',
]
DEFAULTS = DATASETS["nyc"][1]


def _load(engine, path, tmp_path):
    return load_file(engine, path, "nyc", DEFAULTS, batch_size=2, rejects_dir=tmp_path / "rejects", progress=False)


def _counts(engine):
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                for t in ("users", "user_profiles", "properties", "property_images")}


def _write(tmp_path, lines, name="listings.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def test_missing_required_column_fails_at_once_and_writes_nothing(scratch_db, tmp_path):
    header = HEADER.replace(",latitude", "")
    rows = [",".join(r.split(",")[:6] + r.split(",")[7:]) for r in GOOD[:2]]
    with pytest.raises(DatasetError, match=r"missing required column\(s\): latitude"):
        _load(scratch_db, _write(tmp_path, [header, *rows]), tmp_path)
    assert set(_counts(scratch_db).values()) == {0}


def test_non_numeric_price_is_rejected_and_the_rest_loads(scratch_db, tmp_path):
    bad = GOOD[1].replace(",225,", ",two hundred,")
    report = _load(scratch_db, _write(tmp_path, [HEADER, GOOD[0], bad, GOOD[2]]), tmp_path)
    assert report.rows_loaded == 2
    assert [(r.row, r.line, r.source_id, r.column) for r in report.rejects] == [(2, 3, "2595", "price")]
    assert "not a number: 'two hundred'" in report.rejects[0].reason
    assert open(report.rejects_file).read().splitlines()[1].startswith("2,3,2595,price,")
    assert _counts(scratch_db) == {"users": 2, "user_profiles": 2, "properties": 2, "property_images": 0}


def test_truncated_file_loads_complete_rows_and_rejects_the_cut_one(scratch_db, tmp_path):
    content = "\n".join([HEADER, *GOOD]) + "\n"
    path = tmp_path / "cut.csv"
    path.write_text(content[: content.index("Elisabeth") + 4])  # cut in the middle of the last row
    report = _load(scratch_db, path, tmp_path)
    assert report.rows_loaded == 2
    assert len(report.rejects) == 1 and "truncated record" in report.rejects[0].reason
    assert _counts(scratch_db)["properties"] == 2


def test_truncated_inside_a_quoted_field_is_rejected(scratch_db, tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text("\n".join([HEADER, GOOD[0], '3647,"THE VILLAGE OF HAR']))
    report = _load(scratch_db, path, tmp_path)
    assert report.rows_loaded == 1 and report.rejects[0].column == "(record)"


def test_non_utf8_file_fails_clearly_and_writes_nothing(scratch_db, tmp_path):
    path = _write(tmp_path, [HEADER, GOOD[0], GOOD[1].replace("Jennifer", "Jénnifer")], encoding="latin-1")
    with pytest.raises(DatasetError, match=r"not UTF-8: byte 0xe9 .* \(line 3\)"):
        _load(scratch_db, path, tmp_path)
    assert set(_counts(scratch_db).values()) == {0}


def test_empty_file_fails_clearly(scratch_db, tmp_path):
    with pytest.raises(DatasetError, match="empty"):
        _load(scratch_db, _write(tmp_path, []), tmp_path)
    assert set(_counts(scratch_db).values()) == {0}


def test_a_row_the_database_refuses_is_isolated_from_its_batch(scratch_db, tmp_path):
    from hellohome.loaders.writer import host_email

    # a different user already owns the e-mail host 2845 would get: the unique key refuses that row only
    with scratch_db.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, name) VALUES (1, :e, 'Someone')"),
                     {"e": host_email(2845, DEFAULTS.source)})
    report = _load(scratch_db, _write(tmp_path, [HEADER, *GOOD]), tmp_path)
    assert report.rows_loaded == 2
    assert [(r.source_id, r.column) for r in report.rejects] == [("2595", "(database)")]
    assert "Column 'email' cannot be null" in report.rejects[0].reason
    assert _counts(scratch_db)["properties"] == 2
    with scratch_db.connect() as conn:  # the other user was not touched
        assert conn.execute(text("SELECT name FROM users WHERE id = 1")).scalar() == "Someone"
