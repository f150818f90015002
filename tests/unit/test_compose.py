"""docker-compose.yaml, validated offline (no Docker engine here): against the Compose
Specification's JSON schema (tests/data/compose-spec.json, from github.com/compose-spec/compose-spec,
Apache-2.0), every file it mounts exists, no two services publish the same host port, and every
variable it reads is documented in the README's configuration table."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # YAML anchors and merge keys resolved, as Compose does


def test_it_follows_the_compose_specification(compose):
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:10])


def test_the_brief_topology_is_there(compose):
    services = compose["services"]
    assert {f"kafka-{i}" for i in (1, 2, 3)} <= set(services)
    assert sum(1 for s in services if s.startswith("opensearch-master-")) == 3
    assert sum(1 for s in services if s.startswith("opensearch-data-")) == 4
    assert sum(1 for s in services if s.startswith("opensearch-coord-")) == 2
    for name in ("mariadb", "connect", "connect-register", "opensearch-dashboards", "minio", "postgres", "nginx",
                 "airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "prometheus", "alertmanager",
                 "grafana", "node-exporter", "mysqld-exporter", "redis-exporter", "statsd-exporter",
                 "opensearch-exporter", "binlog-archiver"):
        assert name in services, name
    assert services["api"]["deploy"]["replicas"] == 3
    assert services["indexer"]["deploy"]["replicas"] == 6 and services["enricher"]["deploy"]["replicas"] == 6
    kafka = services["kafka-1"]["environment"]
    assert (kafka["KAFKA_NUM_PARTITIONS"], kafka["KAFKA_DEFAULT_REPLICATION_FACTOR"], kafka["KAFKA_MIN_INSYNC_REPLICAS"]) == (6, 3, 2)
    assert "--binlog-format=ROW" in services["mariadb"]["command"]


def test_images_pinned_and_long_runners_limited_and_checked(compose):
    for name, service in compose["services"].items():
        if "image" in service and "build" not in service:
            tag = service["image"].rsplit(":", 1)
            assert len(tag) == 2 and tag[1] not in ("latest", ""), f"{name}: image not pinned ({service['image']})"
        assert service.get("deploy", {}).get("resources", {}).get("limits") or service.get("restart") == "no", (
            f"{name}: no resource limits")
    checked = [n for n, s in compose["services"].items() if "healthcheck" in s]
    assert len(checked) >= 20


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
        if "build" in service:
            assert (ROOT / "Dockerfile").exists()


def test_no_two_services_publish_the_same_host_port(compose):
    seen: dict[str, str] = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            host = str(port).rsplit(":", 1)[0]  # "127.0.0.1:9200" of "127.0.0.1:9200:9200"
            assert host not in seen, f"{name} and {seen.get(host)} both publish {host}"
            seen[host] = name
    assert seen


def test_every_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    variables = set(VARIABLE.findall(COMPOSE.read_text()))
    assert variables
    missing = sorted(v for v in variables if v not in readme)
    assert not missing, f"document these in README.md: {missing}"
