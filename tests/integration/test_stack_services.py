"""Every local service is the real thing, healthy, and answers its own protocol."""
import time

import numpy as np
import pytest
import requests
from opensearchpy import OpenSearch
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from hellohome.backup import snapshots
from hellohome.stack import prometheus, s3, services


@pytest.fixture(scope="module")
def os_client(stack):
    return OpenSearch(stack.opensearch_url, timeout=60)


def test_every_service_is_healthy_with_pid_and_port(stack):
    rows = {r["service"]: r for r in services.status(stack)}
    # the test session leaves the enricher out (HH_ENRICHER_AUTOSTART=false, see conftest)
    assert set(rows) == {"mariadb", "kafka", "connect", "opensearch", "s3", "prometheus", "redis", "postgres", "indexer",
                         "api", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "alertmanager",
                         "node-exporter", "mysqld-exporter", "redis-exporter", "statsd-exporter", "opensearch-exporter"}
    for name, row in rows.items():
        assert row["healthy"] and row["pid"] and row["port"], name


def test_opensearch_has_knn_neural_search_and_the_modules_we_assembled(os_client):
    plugins = {p["component"] for p in os_client.cat.plugins(format="json")}
    assert {"opensearch-knn", "opensearch-neural-search"} <= plugins
    modules = {m["name"] for node in os_client.nodes.info(metric="plugins")["nodes"].values() for m in node["modules"]}
    assert {"lang-painless", "analysis-common", "mapper-extras", "geo"} <= modules


@pytest.mark.parametrize("engine", ["lucene"])  # faiss: native library not shipped in the Maven zip (README)
def test_knn_hnsw_with_the_briefs_parameters(os_client, engine):
    index, dim, n = f"test-knn-{engine}", 32, 300
    os_client.indices.delete(index=index, ignore_unavailable=True)
    os_client.indices.create(index=index, body={
        "settings": {"index": {"knn": True, "number_of_shards": 1, "number_of_replicas": 0}},
        "mappings": {"properties": {"v": {"type": "knn_vector", "dimension": dim, "method": {
            "name": "hnsw", "space_type": "cosinesimil", "engine": engine,
            "parameters": {"m": 32, "ef_construction": 512}}}}}})
    mapping = os_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]["v"]
    assert mapping["method"]["parameters"] == {"m": 32, "ef_construction": 512}
    vectors = np.random.default_rng(1).normal(size=(n, dim)).astype("float32")
    body = []
    for i, v in enumerate(vectors):
        body += [{"index": {"_index": index, "_id": str(i)}}, {"v": v.tolist()}]
    assert not os_client.bulk(body=body, refresh=True)["errors"]
    for i in (0, 17, 123, 299):  # a stored vector is its own nearest neighbour
        hits = os_client.search(index=index, body={"size": 3, "query": {"knn": {"v": {"vector": vectors[i].tolist(), "k": 3}}}})
        assert hits["hits"]["hits"][0]["_id"] == str(i)
    os_client.indices.delete(index=index)


def test_analyzers_and_search_as_you_type_exist(os_client):
    tokens = os_client.indices.analyze(body={"analyzer": "english", "text": "Running apartments"})["tokens"]
    assert [t["token"] for t in tokens] == ["run", "apart"]
    index = "test-sayt"
    os_client.indices.delete(index=index, ignore_unavailable=True)
    os_client.indices.create(index=index, body={"settings": {"number_of_replicas": 0},
                                                "mappings": {"properties": {"t": {"type": "search_as_you_type"}}}})
    os_client.index(index=index, id="1", body={"t": "Williamsburg loft with rooftop"}, refresh=True)
    hits = os_client.search(index=index, body={"query": {"multi_match": {
        "query": "williamsb", "type": "bool_prefix", "fields": ["t", "t._2gram", "t._3gram"]}}})
    assert hits["hits"]["total"]["value"] == 1
    os_client.indices.delete(index=index)


def test_hybrid_search_pipeline_is_available(os_client):
    pipeline = {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "min_max"}, "combination": {"technique": "arithmetic_mean"}}}]}
    os_client.transport.perform_request("PUT", "/_search/pipeline/test-hybrid", body=pipeline)
    assert "test-hybrid" in os_client.transport.perform_request("GET", "/_search/pipeline/test-hybrid")
    os_client.transport.perform_request("DELETE", "/_search/pipeline/test-hybrid")


def test_s3_put_get(stack):
    client = s3.client(stack)
    assert set(s3.buckets(stack)) <= {b["Name"] for b in client.list_buckets()["Buckets"]}
    client.put_object(Bucket="hellohome-backups", Key="test/hello.txt", Body=b"hello")
    assert client.get_object(Bucket="hellohome-backups", Key="test/hello.txt")["Body"].read() == b"hello"


def test_snapshot_travels_through_s3_and_restores_into_a_new_index(stack, os_client):
    index, stamp = "test-snap-src", str(int(time.time()))
    os_client.indices.delete(index=f"{index}*", ignore_unavailable=True)
    os_client.indices.create(index=index, body={"settings": {"number_of_replicas": 0}})
    for i in range(25):
        os_client.index(index=index, id=str(i), body={"n": i, "title": f"listing {i}"})
    os_client.indices.refresh(index=index)
    repo = f"test-repo-{stamp}"
    snapshots.register_fs_repository(os_client, stack, repo)
    snap = snapshots.create_snapshot(os_client, repo, "snap-1", [index])
    assert snap["state"] == "SUCCESS"
    assert snapshots.upload_repository(stack, repo, "hellohome-snapshots", f"test/{repo}") > 0
    restored_repo = f"{repo}-restored"
    snapshots.download_repository(stack, "hellohome-snapshots", f"test/{repo}", restored_repo)
    snapshots.register_fs_repository(os_client, stack, restored_repo, readonly=True)
    os_client.snapshot.restore(repository=restored_repo, snapshot="snap-1", wait_for_completion=True, body={
        "indices": index, "rename_pattern": "(.+)", "rename_replacement": "$1-restored"})
    os_client.indices.refresh(index=f"{index}-restored")
    assert os_client.count(index=f"{index}-restored")["count"] == 25
    assert os_client.get(index=f"{index}-restored", id="7")["_source"] == {"n": 7, "title": "listing 7"}
    os_client.indices.delete(index=f"{index}*")
    for r in (repo, restored_repo):
        os_client.snapshot.delete_repository(repository=r)


def test_prometheus_scrapes_a_target_the_test_exposes(stack, unused_tcp_port):
    registry = CollectorRegistry()
    Gauge("hellohome_test_probe", "set by the stack test", registry=registry).set(42)
    server, thread = start_http_server(unused_tcp_port, addr="127.0.0.1", registry=registry)
    prometheus.register_target(stack, "pytest-probe", unused_tcp_port)
    try:
        deadline, value = time.monotonic() + 60, None
        while time.monotonic() < deadline and value is None:
            result = requests.get(f"http://127.0.0.1:{stack.prometheus_port}/api/v1/query",
                                  params={"query": "hellohome_test_probe"}, timeout=5).json()["data"]["result"]
            value = float(result[0]["value"][1]) if result else None
            time.sleep(1)
        assert value == 42
    finally:
        prometheus.unregister_target(stack, "pytest-probe")
        server.shutdown()
