import json

import pytest

from hellohome.cdc.envelope import EnvelopeError, parse

SOURCE = {"version": "3.5.0.Final", "connector": "mariadb", "name": "hellohome", "ts_ms": 1795611582000,
          "snapshot": "false", "db": "hellohome", "table": "properties", "server_id": 1,
          "gtid": "0-1-42", "file": "mariadb-bin.000012", "pos": 4711, "row": 0}
KEY = json.dumps({"id": 1244635053308459134}).encode()


def _value(op, before=None, after=None, **extra):
    return json.dumps({"before": before, "after": after, "source": SOURCE, "op": op, "ts_ms": 1795611582100,
                       **extra}).encode()


def test_create_update_delete_and_snapshot_read():
    row = {"id": 1244635053308459134, "title": "Loft", "price": "149.50"}
    create = parse("properties", KEY, _value("c", after=row))
    assert create.op == "c" and create.row == row and create.key == {"id": 1244635053308459134}
    assert create.position == (12, 4711) and create.gtid == "0-1-42" and create.source_ts_ms == 1795611582000
    update = parse("properties", KEY, _value("u", before=row, after={**row, "price": "160.00"}))
    assert update.row["price"] == "160.00" and update.before["price"] == "149.50"
    delete = parse("properties", KEY, _value("d", before=row))
    assert delete.after is None and delete.row == row
    assert parse("properties", KEY, _value("r", after=row)).op == "r"


def test_tombstone_and_schema_wrapped_payloads():
    tomb = parse("properties", KEY, None)
    assert tomb.op == "t" and tomb.key["id"] == 1244635053308459134
    wrapped = json.dumps({"schema": {}, "payload": json.loads(_value("c", after={"id": 1}))}).encode()
    assert parse("properties", KEY, wrapped).row == {"id": 1}


@pytest.mark.parametrize("value, message", [
    (b"{not json", "value: not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"op": "x", "source": SOURCE}).encode(), "op: expected"),
    (json.dumps({"op": "c", "source": SOURCE, "after": None}).encode(), "after: missing"),
    (json.dumps({"op": "d", "source": SOURCE, "before": None}).encode(), "before: missing"),
    (json.dumps({"op": "c", "after": {"id": 1}}).encode(), "source: missing"),
])
def test_poison_messages_are_named(value, message):
    with pytest.raises(EnvelopeError, match=message):
        parse("properties", KEY, value)


def test_binlog_positions_order_across_files():
    a = parse("properties", KEY, _value("c", after={"id": 1}))
    later = dict(SOURCE, file="mariadb-bin.000013", pos=4)
    b = parse("properties", KEY, json.dumps({"op": "u", "after": {"id": 1}, "source": later}).encode())
    assert b.position > a.position
