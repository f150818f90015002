"""Real path: MariaDB → Debezium → Kafka → indexer → OpenSearch; each test ends with a clean parity."""
import json
import signal
import threading
import time

import pytest
import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from opensearchpy import helpers
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from hellohome.cdc import connector
from hellohome.cdc.topics import change_topic, drop_change_topics
from hellohome.db.engine import get_engine
from hellohome.loaders.run import DATASETS, default_path, load_file
from hellohome.search import indexes
from hellohome.stack import opensearch, prometheus
from hellohome.stack.schemas import fresh_schema
from hellohome.sync.backfill import backfill
from hellohome.sync.indexer import Indexer, dlq_topic
from hellohome.sync.plan import BatchPlan
from tests.integration.cdc_helpers import (
    execute,
    free_port,
    new_group,
    scalar,
    start_indexer,
    stop_indexer,
    wait_connector_running,
    wait_parity,
)

PREFIX = "test-cdc-"


@pytest.fixture(scope="module")
def cdc(stack, tmp_path_factory):
    """Edinburgh loaded into a schema of its own, its connector, its index, one running indexer."""
    name = fresh_schema(stack, f"{stack.db_name}_idx")
    settings = stack.model_copy(update={"db_name": name, "index_prefix": PREFIX})
    load_file(get_engine(stack, "app", name), default_path(stack, "edinburgh"), "edinburgh", DATASETS["edinburgh"][1],
              batch_size=2000, rejects_dir=tmp_path_factory.mktemp("rejects"), progress=False)
    client = indexes.client(settings)
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
    indexes.create(client, settings, "properties", PREFIX)
    connector.forget(settings, name)  # offsets an interrupted earlier run left: this schema is new
    drop_change_topics(settings, name)  # and the events of earlier runs
    connector_name = connector.register(settings, name)
    wait_connector_running(settings, connector_name)
    logs = tmp_path_factory.mktemp("indexer")
    group = new_group()
    proc = start_indexer(settings, group, logs / "indexer.log")
    report = wait_parity(settings, timeout_s=180)
    assert report.clean, (report.checked, report.missing[:5], report.stale[:5], report.extra[:5])
    state = {"settings": settings, "group": group, "proc": proc, "logs": logs}
    yield state
    if state["proc"].poll() is None:  # the indexer running now (tests restart it)
        stop_indexer(state["proc"])
    connector.forget(settings, name)  # offsets too: a rerun snapshots afresh
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)


def _doc(settings, pid):
    client = indexes.client(settings)
    client.indices.refresh(index=indexes.read_alias("properties", PREFIX))
    found = client.search(index=indexes.read_alias("properties", PREFIX), body={"query": {"term": {"id": pid}}})
    hits = found["hits"]["hits"]
    return hits[0]["_source"] if hits else None


def _assert_parity(settings):
    report = wait_parity(settings)
    assert report.clean, (report.missing[:5], report.stale[:5], report.extra[:5])


def test_snapshot_indexed_every_listing(cdc):
    settings = cdc["settings"]
    assert scalar(settings, "SELECT COUNT(*) FROM properties") == 5780
    doc = _doc(settings, 1244635053308459134)
    assert doc["id"] == 1244635053308459134 and doc["images"][0]["position"] == 0 and doc["host"]["name"]


def test_insert_update_image_host_and_cascade_delete_propagate(cdc):
    s = cdc["settings"]
    execute(s, "INSERT INTO users (id, email, name, role) VALUES (900001, 'cdc@test.invalid', 'Morag', 'host')")
    execute(s, "INSERT INTO properties (id, host_id, title, room_type, price, currency, city, neighbourhood, "
               "latitude, longitude) VALUES (900001, 900001, 'Castle view flat', 'Entire home/apt', 120, 'GBP', "
               "'Edinburgh', 'Old Town', 55.9486, -3.1999)")
    execute(s, "INSERT INTO properties (id, host_id, title, room_type, price, currency, city, neighbourhood, "
               "latitude, longitude) VALUES (900002, 900001, 'Leith loft', 'Private room', 60, 'GBP', "
               "'Edinburgh', 'Leith', 55.975, -3.17)")
    _assert_parity(s)
    assert _doc(s, 900001)["title"] == "Castle view flat"

    execute(s, "UPDATE properties SET title = 'Castle view flat with terrace', price = 135 WHERE id = 900001")
    execute(s, "INSERT INTO property_images (property_id, url, position) VALUES "
               "(900001, 'http://127.0.0.1/a.jpg', 0), (900001, 'http://127.0.0.1/b.jpg', 1)")
    execute(s, "UPDATE users SET name = 'Morag M.' WHERE id = 900001")
    _assert_parity(s)
    doc = _doc(s, 900001)
    assert doc["title"] == "Castle view flat with terrace" and doc["price"] == 135
    assert [i["url"] for i in doc["images"]] == ["http://127.0.0.1/a.jpg", "http://127.0.0.1/b.jpg"]
    assert doc["source_version"] == 2 and doc["source_commit_ms"] > 0
    assert {_doc(s, pid)["host"]["name"] for pid in (900001, 900002)} == {"Morag M."}
    # the profile is written right after the listings of the same batch: give it a moment
    client, deadline, profile = indexes.client(s), time.monotonic() + 30, None
    while time.monotonic() < deadline and (profile or {}).get("name") != "Morag M.":
        found = client.get(index=indexes.read_alias("user_profiles", PREFIX), id="900001", ignore=404)
        profile = found.get("_source")
        time.sleep(0.2)
    assert profile == {**profile, "user_id": 900001, "name": "Morag M.", "role": "host"}

    execute(s, "DELETE FROM properties WHERE id = 900001")  # its images go by ON DELETE CASCADE
    execute(s, "UPDATE properties SET status = 'deleted' WHERE id = 900002")
    _assert_parity(s)
    assert _doc(s, 900001) is None and _doc(s, 900002) is None


def test_a_reread_waits_for_a_commit_still_holding_its_rows(cdc):
    """The binlog (and so the change event) can come before InnoDB makes the commit visible; the
    indexer's re-read must then return the committed row, not the row as it was before."""
    s = cdc["settings"]
    pid = scalar(s, "SELECT MIN(id) FROM properties WHERE status = 'active'")
    indexer = Indexer(s, group_id=new_group())
    result: dict = {}
    with get_engine(s, "app").connect() as writer:
        writer.execute(text("UPDATE properties SET title = CONCAT(title, ' [held]') WHERE id = :p"), {"p": pid})
        reader = threading.Thread(target=lambda: result.update(indexer._read(BatchPlan(versions={pid: 1}))[0]))
        reader.start()
        reader.join(timeout=1.0)
        assert reader.is_alive()  # a plain read would have returned the old title at once
        writer.commit()
    reader.join(timeout=10)
    indexer.consumer.close()
    assert result[pid]["title"].endswith(" [held]")
    execute(s, "UPDATE properties SET title = REPLACE(title, ' [held]', '') WHERE id = :p", p=pid)
    _assert_parity(s)


def test_a_transaction_left_open_delays_a_reread_only_so_long(cdc, monkeypatch):
    """A lock held by a transaction nobody commits is not a commit in progress: past LOCKED_READ_S
    the re-read goes ahead with what is committed."""
    s = cdc["settings"]
    monkeypatch.setattr("hellohome.sync.indexer.LOCKED_READ_S", 0.5)
    pid = scalar(s, "SELECT MAX(id) FROM properties WHERE status = 'active'")
    title = scalar(s, "SELECT title FROM properties WHERE id = :p", p=pid)
    indexer = Indexer(s, group_id=new_group())
    with get_engine(s, "app").connect() as writer:
        writer.execute(text("UPDATE properties SET title = 'never committed' WHERE id = :p"), {"p": pid})
        started = time.monotonic()
        docs = indexer._read(BatchPlan(versions={pid: 1}))[0]
        waited = time.monotonic() - started
        writer.rollback()
    indexer.consumer.close()
    assert docs[pid]["title"] == title and 0.5 <= waited < 5


def test_a_change_is_searchable_without_the_index_refreshing_by_itself(cdc):
    """HH_INDEXER_REFRESH=after_write (the default): the indexer refreshes what it wrote, so with the
    index's scheduled refresh switched off an insert still turns up in a plain search, and so does
    a deletion."""
    s = cdc["settings"]
    client, alias = indexes.client(s), indexes.read_alias("properties", PREFIX)
    index = next(iter(client.indices.get_alias(name=alias)))

    def ids_matching(word: str, present: bool) -> list[int]:
        deadline = time.monotonic() + 30
        while True:  # a search, never a refresh or a realtime GET
            ids = [h["_source"]["id"] for h in client.search(
                index=alias, body={"query": {"match": {"title": word}}})["hits"]["hits"]]
            if bool(ids) == present or time.monotonic() > deadline:
                return ids
            time.sleep(0.1)

    client.indices.put_settings(index=index, body={"index": {"refresh_interval": "-1"}})
    try:
        execute(s, "INSERT INTO properties (id, host_id, title, room_type, price, currency, city, neighbourhood, "
                   "latitude, longitude) SELECT 900050, host_id, 'Zyxwvut mews house', room_type, 99, currency, "
                   "city, neighbourhood, latitude, longitude FROM properties ORDER BY id LIMIT 1")
        assert ids_matching("zyxwvut", present=True) == [900050]
        execute(s, "DELETE FROM properties WHERE id = 900050")
        assert ids_matching("zyxwvut", present=False) == []
    finally:
        client.indices.put_settings(index=index, body={"index": {"refresh_interval": s.index_refresh_interval}})
    _assert_parity(s)


def test_inquiries_and_schema_changes_do_not_stop_indexing(cdc):
    s = cdc["settings"]
    pid = scalar(s, "SELECT MIN(id) FROM properties")
    host = scalar(s, "SELECT host_id FROM properties WHERE id = :p", p=pid)
    execute(s, "INSERT INTO inquiries (property_id, user_id, message) VALUES (:p, :u, 'Is it free in May?')",
            p=pid, u=host)
    owner = get_engine(s, "owner")
    with owner.begin() as conn:
        conn.execute(text("ALTER TABLE properties ADD COLUMN floor_area_m2 SMALLINT NULL"))
    try:
        execute(s, "UPDATE properties SET title = CONCAT(title, ' (renovated)'), floor_area_m2 = 55 WHERE id = :p", p=pid)
        _assert_parity(s)
        assert _doc(s, pid)["title"].endswith("(renovated)")
    finally:
        with owner.begin() as conn:
            conn.execute(text("ALTER TABLE properties DROP COLUMN floor_area_m2"))
    execute(s, "UPDATE properties SET title = REPLACE(title, ' (renovated)', '') WHERE id = :p", p=pid)
    _assert_parity(s)


def test_poison_message_goes_to_the_dlq_and_the_rest_is_indexed(cdc):
    s = cdc["settings"]
    topic = change_topic(s.db_name, "properties")
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap})
    producer.produce(topic, key=json.dumps({"id": 1}).encode(), value=b'{"op": "c", "after": ')
    producer.flush(10)
    pid = scalar(s, "SELECT MAX(id) FROM properties WHERE status = 'active'")
    execute(s, "UPDATE properties SET price = price + 1 WHERE id = :p", p=pid)
    _assert_parity(s)
    consumer = Consumer({"bootstrap.servers": s.kafka_bootstrap, "group.id": new_group(),
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(dlq_topic(s.db_name), p) for p in range(6)])
    records, deadline = [], time.monotonic() + 30
    while not records and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            records.append(json.loads(msg.value()))
    consumer.close()
    assert records and records[0]["error"].startswith("value: not JSON")
    assert records[0]["topic"] == topic and records[0]["offset"] >= 0 and records[0]["value"] == '{"op": "c", "after": '


def test_indexer_exposes_metrics_and_registers_with_prometheus(cdc, unused_tcp_port):
    import requests

    from hellohome.stack import prometheus

    s = cdc["settings"]
    proc = start_indexer(s, new_group(), cdc["logs"] / "indexer-metrics.log", metrics_port=unused_tcp_port)
    def consumed_properties(body):
        lines = [line for line in body.splitlines()
                 if line.startswith("hellohome_indexer_events_consumed_total{") and ".properties\"" in line]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    try:
        deadline, body = time.monotonic() + 90, ""
        while time.monotonic() < deadline and consumed_properties(body) < 5780:
            time.sleep(1)
            try:
                body = requests.get(f"http://127.0.0.1:{unused_tcp_port}/metrics", timeout=2).text
            except requests.ConnectionError:
                continue
        assert consumed_properties(body) >= 5780
        assert 'hellohome_indexer_documents_written_total{op="index"}' in body
        assert "hellohome_indexer_commit_to_searchable_seconds_bucket" in body
        for histogram in ("bulk", "read", "commit_to_kafka", "commit_to_indexed", "refresh"):
            assert f"hellohome_indexer_{histogram}_seconds_count" in body
        assert (prometheus.targets_dir(s) / f"indexer-{unused_tcp_port}.json").exists()
        deadline = time.monotonic() + 20
        while "hellohome_indexer_consumer_lag{" not in body and time.monotonic() < deadline:
            time.sleep(1)
            body = requests.get(f"http://127.0.0.1:{unused_tcp_port}/metrics", timeout=2).text
        assert "hellohome_indexer_consumer_lag{" in body
    finally:
        stop_indexer(proc)
    assert not (prometheus.targets_dir(s) / f"indexer-{unused_tcp_port}.json").exists()


def test_replay_from_offset_zero_into_a_fresh_index_gives_identical_documents(cdc):
    s = cdc["settings"]
    replay = s.model_copy(update={"index_prefix": f"{PREFIX}replay-"})
    client = indexes.client(s)
    client.indices.delete(index=f"{replay.index_prefix}*", ignore_unavailable=True)
    indexes.create(client, replay, "properties", replay.index_prefix)
    Indexer(replay, group_id=new_group()).run(idle_exit_s=8)
    assert wait_parity(replay, timeout_s=30).clean
    assert _sources(client, replay.index_prefix) == _sources(client, PREFIX)
    client.indices.delete(index=f"{replay.index_prefix}*")


def test_backfill_builds_identical_documents_and_swaps(cdc):
    s = cdc["settings"]
    client = indexes.client(s)
    before = indexes.current(client, "properties", PREFIX)
    report = backfill(s, progress=False)
    assert report.swapped and report.docs == scalar(s, "SELECT COUNT(*) FROM properties WHERE status <> 'deleted'")
    assert indexes.current(client, "properties", PREFIX) == report.index != before
    assert _sources(client, PREFIX, index=report.index) == _sources(client, PREFIX, index=before)
    _assert_parity(s)


def test_writes_landing_during_a_backfill_are_in_the_new_index(cdc):
    """Changes committed while the new version is being built reach only the old one through the
    indexer; the catch-up after the swap replays them into the new one."""
    s = cdc["settings"]
    ids = _active_ids(s, 60)
    stop, written = threading.Event(), []

    def writer():
        i = 0
        while not stop.is_set():
            pid = ids[i % len(ids)]
            execute(s, "UPDATE properties SET title = CONCAT(LEFT(title, 180), ' *') WHERE id = :p", p=pid)
            written.append((time.time(), pid))
            i += 1
            time.sleep(0.05)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        started = time.time()
        report = backfill(s, progress=False)
        ended = time.time()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(10)
    during = [pid for at, pid in written if started <= at <= ended]
    assert report.swapped and len(during) >= 5, (len(during), report.seconds)  # writes really landed meanwhile
    _assert_parity(s)
    for pid in set(during):  # and the new index holds their last version
        assert _doc(s, pid)["title"] == scalar(s, "SELECT title FROM properties WHERE id = :p", p=pid)
    execute(s, "UPDATE properties SET title = TRIM(TRAILING ' *' FROM title) WHERE title LIKE '% *'")
    _assert_parity(s)


def _active_ids(settings, n: int) -> list[int]:
    with get_engine(settings, "readonly").connect() as conn:
        return list(conn.execute(text("SELECT id FROM properties WHERE status = 'active' ORDER BY id LIMIT :n"),
                                 {"n": n}).scalars())


def _sources(client, prefix, index=None):
    """id -> _source without the field only the CDC path knows (commit time of the last change)."""
    index = index or indexes.read_alias("properties", prefix)
    client.indices.refresh(index=index)
    return {hit["_id"]: {k: v for k, v in hit["_source"].items() if k != "source_commit_ms"}
            for hit in helpers.scan(client, index=index, query={"query": {"match_all": {}}})}


def _committed(settings, group: str) -> int:
    """Messages of the properties topic the group has committed past (all partitions)."""
    admin = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        parts = [TopicPartition(change_topic(settings.db_name, "properties"), p) for p in range(6)]
        return sum(max(tp.offset, 0) for tp in admin.committed(parts, timeout=10))
    finally:
        admin.close()


def _wait_assigned(port: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _metric_or_zero(port, "hellohome_consumer_rebalances_total", event="assign"):
            return
        time.sleep(0.3)
    raise AssertionError(f"the consumer with /metrics on {port} was never assigned partitions")


def test_kill_9_mid_batch_then_restart_loses_nothing(cdc):
    """kill -9 while the indexer holds events it has read but not committed (checked: more consumed
    than committed at the moment it died); the restarted indexer re-reads them and loses nothing."""
    s, group = cdc["settings"], cdc["group"]
    topic = change_topic(s.db_name, "properties")
    stop_indexer(cdc["proc"])
    in_flight, offset = 0, 0
    for _attempt in range(5):  # an attempt that happened to die between batches proves nothing: again
        port = free_port()
        committed_at_start = _committed(s, group)  # no member runs: nothing can commit meanwhile
        proc = start_indexer(s, group, cdc["logs"] / "indexer.log", metrics_port=port)
        _wait_assigned(port)
        for round_ in range(40):
            execute(s, "UPDATE properties SET price = price + 1 WHERE id IN (SELECT id FROM "
                       "(SELECT id FROM properties WHERE status = 'active' ORDER BY id LIMIT 300 OFFSET :o) t)",
                    o=(offset % 40) * 100)
            offset += 1
            consumed = _consumer_metric(port, "hellohome_indexer_events_consumed_total", topic=topic)
            if round_ >= 3 and consumed:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                prometheus.unregister_target(s, f"indexer-{port}")  # what its own exit would have done
                in_flight = consumed - (_committed(s, group) - committed_at_start)
                break
        if in_flight > 0:
            break
    assert in_flight > 0, "never killed with a batch in flight"
    for round_ in range(10):  # more changes while it is down
        execute(s, "UPDATE properties SET price = price - 1 WHERE id IN (SELECT id FROM "
                   "(SELECT id FROM properties WHERE status = 'active' ORDER BY id LIMIT 300 OFFSET :o) t)",
                o=round_ * 100)
    cdc["proc"] = start_indexer(s, group, cdc["logs"] / "indexer.log")
    _assert_parity(s)


def test_rebalance_with_a_third_consumer_joining_loses_nothing(cdc):
    """A third indexer joins the group mid-stream: the partitions are revoked and reassigned (checked
    on the members' rebalance counters) and every change still ends up indexed."""
    s = cdc["settings"]
    group = cdc["group"]
    ports, rebalances = (free_port(), free_port()), "hellohome_consumer_rebalances_total"
    second = start_indexer(s, group, cdc["logs"] / "indexer-2.log", metrics_port=ports[0])
    third = None
    try:
        _wait_assigned(ports[0])  # the second holds partitions before the third comes
        for round_ in range(30):
            execute(s, "UPDATE properties SET review_score = NULL WHERE id IN (SELECT id FROM "
                       "(SELECT id FROM properties WHERE status = 'active' ORDER BY id DESC LIMIT 100 OFFSET :o) t)",
                    o=round_ * 50)
            if round_ == 10:  # the rest of the changes flow while the group rebalances and after
                third = start_indexer(s, group, cdc["logs"] / "indexer-3.log", metrics_port=ports[1])
                _wait_assigned(ports[1])
        _assert_parity(s)
        assert _consumer_metric(ports[0], rebalances, event="revoke") >= 1  # the second gave its partitions up
        assert _consumer_metric(ports[0], rebalances, event="assign") >= 2  # and got some back
        assert _consumer_metric(ports[1], rebalances, event="assign") >= 1  # the third got some
    finally:
        for proc in (second, third):
            if proc is not None:
                stop_indexer(proc)


def test_opensearch_down_30s_nothing_committed_past_unindexed_then_all_searchable(cdc):
    s = cdc["settings"]
    admin = Consumer({"bootstrap.servers": s.kafka_bootstrap, "group.id": cdc["group"]})
    topic = change_topic(s.db_name, "properties")
    parts = [TopicPartition(topic, p) for p in range(6)]
    committed_before = {tp.partition: tp.offset for tp in admin.committed(parts, timeout=10)}
    opensearch.SERVICE.stop(s)
    try:
        for round_ in range(10):
            execute(s, "UPDATE properties SET minimum_nights = COALESCE(minimum_nights, 0) + 1 WHERE id IN "
                       "(SELECT id FROM (SELECT id FROM properties WHERE status = 'active' ORDER BY id "
                       "LIMIT 20 OFFSET :o) t)", o=round_ * 20)
            time.sleep(3)
        committed_during = {tp.partition: tp.offset for tp in admin.committed(parts, timeout=10)}
        assert committed_during == committed_before  # the indexer held its batch, uncommitted
        assert cdc["proc"].poll() is None  # and kept running, backing off
    finally:
        opensearch.SERVICE.start(s)
        admin.close()
    _assert_parity(s)


def _consumer_metric(port: int, name: str, **labels) -> float:
    body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(body) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def test_a_consumer_frozen_past_its_session_timeout_rejoins_and_carries_on(cdc, monkeypatch, unused_tcp_port):
    """SIGSTOP past the group's session timeout: the group drops the member, so on SIGCONT its
    assignment is lost and a commit would fail with _ASSIGNMENT_LOST (the enricher used to crash on
    it). The consumer must rejoin and index what was written meanwhile, committing nothing it did not do."""
    s, port = cdc["settings"], unused_tcp_port
    stop_indexer(cdc["proc"])
    monkeypatch.setenv("HH_KAFKA_SESSION_TIMEOUT_MS", "6000")  # the broker's minimum: a short freeze is enough
    proc = cdc["proc"] = start_indexer(s, cdc["group"], cdc["logs"] / "indexer.log", metrics_port=port)
    rebalances = "hellohome_consumer_rebalances_total"
    _wait_assigned(port)
    assert _consumer_metric(port, rebalances, event="assign") == 1
    execute(s, "UPDATE properties SET title = CONCAT(title, ' [frozen]') WHERE id = "
               "(SELECT id FROM (SELECT MIN(id) AS id FROM properties WHERE status = 'active') t)")
    proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(4)
        execute(s, "UPDATE properties SET title = REPLACE(title, ' [frozen]', '') WHERE title LIKE '% [frozen]'")
        time.sleep(10)  # past the 6 s session timeout: the group has dropped the member
    finally:
        proc.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _consumer_metric(port, rebalances, event="assign") < 2:
        time.sleep(0.5)
    assert _consumer_metric(port, rebalances, event="lost") >= 1  # it really lost its assignment...
    assert _consumer_metric(port, rebalances, event="assign") >= 2  # ...and rejoined
    assert proc.poll() is None  # without crashing
    _assert_parity(s)


def _metric_or_zero(port: int, name: str, **labels) -> float:
    try:
        return _consumer_metric(port, name, **labels)
    except requests.ConnectionError:  # not serving /metrics yet
        return 0.0
