"""INSERT, UPDATE and DELETE in MariaDB arrive in Kafka as Debezium envelopes, field by field."""
import json
import time

import pytest
from confluent_kafka.admin import ConfigResource
from sqlalchemy import text

from hellohome.cdc import connector
from hellohome.cdc.topics import admin, change_topic
from hellohome.db.engine import get_engine
from hellohome.stack.schemas import fresh_schema
from tests.integration.cdc_helpers import consume_since


@pytest.fixture(scope="module")
def cdc_schema(stack):
    name = fresh_schema(stack, f"{stack.db_name}_cdc")
    connector.forget(stack, name)  # offsets an interrupted earlier run left: this schema is new
    connector_name = connector.register(stack, name)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = connector.status(stack, connector_name)
        if state.get("tasks") and state["tasks"][0]["state"] == "RUNNING":
            break
        time.sleep(1)
    else:
        pytest.fail(f"connector did not start: {state}")
    yield name
    connector.forget(stack, name)  # offsets too: a rerun snapshots afresh


def test_change_topics_have_6_partitions_and_7_day_retention(stack, cdc_schema):
    client = admin(stack)
    topic = change_topic(cdc_schema, "properties")
    assert len(client.list_topics(topic, timeout=10).topics[topic].partitions) == 6
    config = client.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    resource = next(iter(config.values())).result()
    assert resource["retention.ms"].value == str(7 * 24 * 3600 * 1000)


def test_insert_update_delete_arrive_as_debezium_envelopes(stack, cdc_schema):
    engine = get_engine(stack, "app", cdc_schema)
    started_ms = int(time.time() * 1000) - 1000
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, name, role) VALUES (7, 'h7@x.invalid', 'Ana', 'host')"))
        conn.execute(text(
            "INSERT INTO properties (id, host_id, title, room_type, price, currency, city, neighbourhood, latitude, "
            "longitude, amenities) VALUES (1244635053308459134, 7, 'Loft', 'Entire home/apt', 149.50, 'USD', "
            "'New York', 'Harlem', 40.8090200, -73.9419000, '[\"Wifi\"]')"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE properties SET price = 160.00 WHERE id = 1244635053308459134"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM properties WHERE id = 1244635053308459134"))

    messages = consume_since(stack, change_topic(cdc_schema, "properties"), want=4, since_ms=started_ms)
    assert len(messages) == 4, [m.value() for m in messages]
    keys = {json.loads(m.key())["id"] for m in messages}
    assert keys == {1244635053308459134}  # BIGINT key survives exactly (JSON integer, not float)
    assert len({m.partition() for m in messages}) == 1  # one key, one partition: order is kept
    create, update, delete = (json.loads(m.value()) for m in messages[:3])
    assert messages[3].value() is None  # the tombstone after the delete

    assert create["op"] == "c" and create["before"] is None
    after = create["after"]
    assert after["id"] == 1244635053308459134 and after["title"] == "Loft" and after["price"] == "149.50"
    assert after["latitude"] == "40.8090200" and json.loads(after["amenities"]) == ["Wifi"]
    assert after["version"] == 1 and isinstance(after["updated_at"], int)  # epoch millis (time.precision.mode=connect)
    source = create["source"]
    assert source["db"] == cdc_schema and source["table"] == "properties" and source["snapshot"] in ("false", False)
    assert source["file"].startswith("mariadb-bin") and source["pos"] > 0 and source["server_id"] == stack.mariadb_server_id
    assert abs(create["ts_ms"] - time.time() * 1000) < 120_000 and source["ts_ms"] <= create["ts_ms"]

    assert update["op"] == "u" and update["before"]["price"] == "149.50" and update["after"]["price"] == "160.00"
    assert update["after"]["version"] == 2  # the trigger's bump travels with the row
    assert (update["source"]["file"], update["source"]["pos"]) > (source["file"], source["pos"])

    assert delete["op"] == "d" and delete["after"] is None and delete["before"]["id"] == 1244635053308459134
