import pytest

from hellohome.cdc.envelope import ChangeEvent, EnvelopeError
from hellohome.search.bulk import position_version
from hellohome.sync.plan import commit_ms as _commit_ms
from hellohome.sync.plan import touched as _touched


def _event(table, op="u", before=None, after=None, ts=1_795_611_582_000):
    return ChangeEvent(table, op, {}, before, after, ts, ts + 5, "mariadb-bin.000003", 400, None)


def test_each_table_reaches_the_right_documents():
    assert _touched(_event("properties", after={"id": 5})) == ({5}, set())
    # an image moved from one listing to another touches both
    moved = _event("property_images", before={"property_id": 1}, after={"property_id": 2})
    assert _touched(moved) == ({1, 2}, set())
    assert _touched(_event("users", after={"id": 9})) == (set(), {9})
    assert _touched(_event("user_profiles", op="d", before={"user_id": 9})) == (set(), {9})
    assert _touched(_event("inquiries", after={"id": 1, "property_id": 5})) == (set(), set())


def test_a_row_without_its_key_is_a_schema_violation():
    with pytest.raises(EnvelopeError, match="properties.id: expected an integer"):
        _touched(_event("properties", after={"id": "5"}))
    with pytest.raises(EnvelopeError, match="property_images.property_id"):
        _touched(_event("property_images", after={"url": "x"}))


def test_versions_grow_with_the_binlog_across_files():
    assert position_version(3, 10) > position_version(2, 4_000_000_000)
    assert position_version(3, 11) > position_version(3, 10)


def test_commit_time_prefers_the_listings_millisecond_updated_at():
    event = _event("properties", after={"id": 1, "updated_at": 1_795_611_582_437})
    assert _commit_ms(event) == 1_795_611_582_437
    stale = _event("properties", after={"id": 1, "updated_at": 1_795_611_000_000})
    assert _commit_ms(stale) == 1_795_611_582_000  # an older updated_at: the row did not change it
    assert _commit_ms(_event("users", after={"id": 1, "updated_at": 1_795_611_582_437})) == 1_795_611_582_000
