import json

import pytest

from hellohome.cdc.envelope import ChangeEvent, EnvelopeError
from hellohome.search.bulk import position_version
from hellohome.sync.plan import commit_ms as _commit_ms
from hellohome.sync.plan import plan
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


class FakeMessage:
    """The parts of a confluent_kafka.Message that plan() reads."""

    def __init__(self, table, value, key=b'{"id": 1}', error=None, kafka_ms=1_795_611_582_300, offset=0):
        self._topic, self._value, self._key, self._error = f"db.db.{table}", value, key, error
        self._ts, self._offset = kafka_ms, offset

    def error(self):
        return self._error

    def topic(self):
        return self._topic

    def key(self):
        return self._key

    def value(self):
        return self._value

    def timestamp(self):
        return (1, self._ts)

    def offset(self):
        return self._offset


def _envelope(op, before=None, after=None, pos=400, file="mariadb-bin.000003", ts=1_795_611_582_000):
    return json.dumps({"op": op, "before": before, "after": after, "ts_ms": ts + 5,
                       "source": {"ts_ms": ts, "file": file, "pos": pos, "gtid": None}}).encode()


def test_plan_keeps_the_newest_version_and_commit_per_listing():
    batch = plan([FakeMessage("properties", _envelope("u", after={"id": 5}, pos=100)),
                  FakeMessage("properties", _envelope("u", after={"id": 5}, pos=900, ts=1_795_611_583_000)),
                  FakeMessage("property_images", _envelope("c", after={"property_id": 6}, pos=500))])
    assert batch.versions == {5: position_version(3, 900), 6: position_version(3, 500)}
    assert batch.commit_ms == {5: 1_795_611_583_000, 6: 1_795_611_582_000}
    assert batch.poison == [] and batch.consumed == {"db.db.properties": 2, "db.db.property_images": 1}
    assert len(batch.commit_to_kafka_s) == 3 and not batch.empty


def test_plan_hands_poison_back_instead_of_sending_it():
    bad_json = FakeMessage("properties", b"{not json", offset=7)
    no_key = FakeMessage("properties", _envelope("u", after={"id": "five"}), offset=8)
    bad_file = FakeMessage("properties", _envelope("u", after={"id": 5}, file="nonsense"), offset=9)
    good = FakeMessage("properties", _envelope("u", after={"id": 6}), offset=10)
    batch = plan([bad_json, no_key, bad_file, good])
    assert [(msg.offset(), why.split(":")[0]) for msg, why in batch.poison] == [
        (7, "value"), (8, "properties.id"), (9, "source.file")]
    assert batch.versions == {6: position_version(3, 400)}  # the good one still counts


def test_plan_routes_hosts_and_profiles_and_skips_child_snapshot_reads():
    batch = plan([FakeMessage("users", _envelope("u", after={"id": 9}, pos=300)),
                  FakeMessage("user_profiles", _envelope("r", after={"user_id": 10}, pos=301)),
                  FakeMessage("property_images", _envelope("r", after={"property_id": 6}, pos=302)),
                  FakeMessage("properties", _envelope("r", after={"id": 7}, pos=303)),
                  FakeMessage("properties", None, key=b'{"id": 7}')])  # a tombstone
    assert batch.hosts == {9: (position_version(3, 300), 1_795_611_582_000)}
    assert batch.profiles == {9: position_version(3, 300), 10: position_version(3, 301)}
    assert batch.versions == {7: position_version(3, 303)}  # a listing's snapshot read is indexed...
    assert batch.commit_ms == {}  # ...but has no commit to time
    assert batch.commit_to_kafka_s == [pytest.approx(0.3)]  # only the users update


def test_consumer_errors_are_reported_not_planned():
    batch = plan([FakeMessage("properties", None, error="broker transport failure")])
    assert batch.consumer_errors == ["broker transport failure"] and batch.empty and not batch.consumed
