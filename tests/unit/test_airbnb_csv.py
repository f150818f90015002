import decimal
import gzip

import pytest

from hellohome.errors import DatasetError
from hellohome.loaders import airbnb_csv as ac
from hellohome.loaders.records import ListingRecord, check_listing

DEFAULTS = ac.DatasetDefaults("New York", "USD", "test")
NYC_HEADER = ("id,name,host_id,host_name,neighbourhood_group,neighbourhood,latitude,longitude,room_type,price,"
              "minimum_nights,number_of_reviews,last_review,reviews_per_month,calculated_host_listings_count,"
              "availability_365").split(",")


def test_price_accepts_currency_formatting_and_rejects_words():
    assert ac._decimal("$1,145.00") == decimal.Decimal("1145.00")
    assert ac._decimal("") is None
    with pytest.raises(ValueError, match="not a number"):
        ac._decimal("call me")
    with pytest.raises(ValueError, match="finite"):
        ac._decimal("NaN")


def test_bathrooms_from_number_or_text():
    assert ac._bathrooms("", "1.5 shared baths") == decimal.Decimal("1.5")
    assert ac._bathrooms("", "Half-bath") == decimal.Decimal("0.5")
    assert ac._bathrooms("2", "1 bath") == 2
    assert ac._bathrooms("", "") is None
    with pytest.raises(ValueError):
        ac._bathrooms("", "a bath")


def test_amenities_in_both_release_formats_sorted_and_deduplicated():
    assert ac._amenities('["Wifi", "Kitchen", "Wifi"]') == ["Kitchen", "Wifi"]
    assert ac._amenities('{TV,"Air conditioning",Wifi}') == ["Air conditioning", "TV", "Wifi"]
    with pytest.raises(ValueError):
        ac._amenities("TV; Wifi")


def test_old_hundred_point_review_scores_are_rescaled():
    assert ac._review_score("4.87") == decimal.Decimal("4.87")
    assert ac._review_score("95") == decimal.Decimal("4.75")


def test_whole_numbers_only_for_counts():
    assert ac._int("2.0") == 2
    with pytest.raises(ValueError, match="whole"):
        ac._int("2.5")


def test_missing_required_column_is_named(tmp_path):
    header = [c for c in NYC_HEADER if c != "price"]
    with pytest.raises(DatasetError, match=r"price \(one of: price, price_per_night\)"):
        ac.map_columns(header, tmp_path / "x.csv")


def test_renamed_and_extra_optional_columns_map_by_name(tmp_path):
    header = ["listing_id", "title", "host_id", "borough", "neighbourhood_cleansed", "lat", "lng", "room_type",
              "price", "something_new"]
    mapping = ac.map_columns(header, tmp_path / "x.csv")
    assert mapping["id"] == 0 and mapping["area"] == 3 and mapping["latitude"] == 5
    assert "description" not in mapping


def test_parse_record_builds_property_host_profile(tmp_path):
    row = "2539,Clean & quiet apt,2787,John,Brooklyn,Kensington,40.64749,-73.97237,Private room,149,1,9,2018-10-19,0.21,6,365"
    fields = row.split(",")
    rec = ac.parse_record(fields, ac.map_columns(NYC_HEADER, tmp_path / "x"), DEFAULTS)
    assert rec.property["id"] == 2539 and rec.property["area"] == "Brooklyn"
    assert rec.property["price"] == 149 and rec.host == {"id": 2787, "name": "John", "source": "test"}
    assert check_listing(rec) == []


def test_parse_record_names_the_bad_column(tmp_path):
    fields = "1,T,2,H,B,N,40.1,-73.9,Private room,cheap,1,0,,,1,10".split(",")
    with pytest.raises(ValueError, match="^price: not a number"):
        ac.parse_record(fields, ac.map_columns(NYC_HEADER, tmp_path / "x"), DEFAULTS)


def test_read_text_rejects_non_utf8_with_position(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,name\n1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"not UTF-8: byte 0xe9 at offset 13 \(line 2\)"):
        ac.read_text(path)


def test_read_text_rejects_empty_and_broken_gzip(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DatasetError, match="empty"):
        ac.read_text(tmp_path / "empty.csv")
    data = gzip.compress(b"id,name\n" * 1000)
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="not a complete gzip"):
        ac.read_text(tmp_path / "cut.csv.gz")


def test_iter_rows_tracks_line_numbers_across_embedded_newlines():
    text = 'id,name\n1,"two\nlines"\n2,plain\n3,"unterminated\n'
    rows = list(ac.iter_rows(text))
    assert [(n, line) for n, line, _, _ in rows] == [(1, 2), (2, 4), (3, 5)]
    assert rows[1][2] == ["2", "plain"]
    assert rows[2][2] is None and "malformed" in rows[2][3]


def test_check_listing_reports_every_problem():
    rec = ListingRecord(
        property={"id": 3 * 10**18, "title": "", "room_type": "Private room", "neighbourhood": "N", "city": "C",
                  "currency": "USD", "latitude": 91, "longitude": 0, "price": -1, "bedrooms": 1, "amenities": [1]},
        host={"id": 5, "name": "H"}, images=["ftp://x"],
    )
    columns = {c for c, _ in check_listing(rec)}
    assert columns == {"id", "title", "latitude", "price", "amenities", "picture_url"}
    assert "id" not in {c for c, _ in check_listing(rec, generated=True)}
