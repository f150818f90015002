"""The CLI gives help for every command and clear, non-zero errors."""
import os
import subprocess
import sys

import pytest

COMMANDS = [[], ["up"], ["down"], ["load"], ["generate"], ["summary"], ["stack"], ["stack", "up"], ["stack", "down"],
            ["stack", "status"], ["stack", "logs"], ["db"], ["db", "migrate"], ["db", "downgrade"], ["db", "current"],
            ["index"], ["index", "create"], ["index", "list"], ["index", "swap"], ["index", "drop"]]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "hellohome", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command):
    result = _run(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_unknown_dataset_is_named(stack):
    result = _run("load", "paris")
    assert result.returncode == 2 and "dataset: unknown 'paris'" in result.stderr


def test_missing_file_is_named(stack, tmp_path):
    result = _run("load", "nyc", "--path", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "nope.csv: no such file" in result.stderr


def test_status_and_summary(loaded_db):
    status = _run("stack", "status", "--json")
    assert status.returncode == 0 and '"healthy": true' in status.stdout
    summary = _run("summary")
    assert summary.returncode == 0 and "nyc_airbnb_2019" in summary.stdout


def _run_env(env: dict, *args):
    return subprocess.run([sys.executable, "-m", "hellohome", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_a_schema_the_users_may_not_use_is_one_line_with_the_fix(stack):
    result = _run_env({"HH_DB_NAME": "notours_cli"}, "db", "migrate")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: MariaDB at 127.0.0.1:") and "schema `notours_cli`" in lines[0]
    assert "HH_DB_NAME=notours_cli hellohome stack up" in lines[0]
    debug = _run_env({"HH_DB_NAME": "notours_cli"}, "--debug", "db", "migrate")
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "OperationalError" in debug.stderr


def test_unreachable_services_and_bad_settings_are_one_line(stack, unused_tcp_port):
    down = _run_env({"HH_OPENSEARCH_PORT": str(unused_tcp_port)}, "index", "list")
    assert down.returncode == 2 and down.stderr.strip() == (
        f"error: OpenSearch at http://127.0.0.1:{unused_tcp_port} is not reachable; start the stack with "
        "`hellohome stack up`, or check HH_OPENSEARCH_HOST / _PORT")
    bad = _run_env({"HH_TEXT_VECTOR_DIM": "768"}, "summary")
    assert bad.returncode == 2 and bad.stderr.strip() == \
        "error: HH_TEXT_VECTOR_DIM=768 but HH_TEXT_MODEL=minilm gives 384-d vectors"


def test_up_rebuilds_an_outdated_index_and_waits_for_parity(loaded_db, stack):
    """`hellohome up --no-load` on a stack whose live index was built from another mapping: it says
    so, rebuilds it (backfill, swap) and returns once verify finds every listing current."""
    from hellohome.search import indexes

    client = indexes.client(stack)
    live = indexes.current(client, "properties", stack.index_prefix)
    client.indices.put_mapping(index=live, body={"_meta": {"fingerprint": "an-older-mapping"}})
    assert indexes.outdated(client, stack, "properties", stack.index_prefix) == live
    result = subprocess.run([sys.executable, "-m", "hellohome", "up", "--no-load"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"search index: {live} was built from an older mapping; rebuilding it" in result.stderr
    rebuilt = indexes.current(client, "properties", stack.index_prefix)
    assert rebuilt != live and f"search index: {rebuilt} built (" in result.stderr
    last = [line for line in result.stderr.splitlines() if line.startswith("search index:")][-1]
    current, total = last.removeprefix("search index: ").split(" listings current")[0].split(" of ")
    assert current == total and int(total.replace(",", "")) > 50_000
    assert indexes.outdated(client, stack, "properties", stack.index_prefix) is None


def test_apikey_create_list_revoke(loaded_db):
    created = _run("apikey", "create", "cli-test", "--scope", "admin")
    assert created.returncode == 0
    key = created.stdout.strip()
    prefix = key.split("_")[1]
    assert key.startswith(f"hh_{prefix}_") and len(key) > 30
    listed = _run("apikey", "list")
    assert listed.returncode == 0 and f"hh_{prefix}_…  cli-test  [admin]" in listed.stderr
    assert _run("apikey", "revoke", prefix).returncode == 0
    assert "REVOKED" in [line for line in _run("apikey", "list").stderr.splitlines() if prefix in line][0]
    again = _run("apikey", "revoke", prefix)
    assert again.returncode == 2 and f"error: prefix: no active key hh_{prefix}_…" in again.stderr
    bad = _run("apikey", "create", "x", "--scope", "root")
    assert bad.returncode == 2 and "error: scopes: choose from" in bad.stderr


def test_backfill_and_enrich_refresh_commands(stack, scratch_db):
    """`hellohome backfill` builds an index of a small schema of its own and `hellohome enrich refresh`
    gives its listings text vectors; a second refresh finds nothing left to do."""
    from hellohome.api import writes
    from hellohome.search import indexes

    schema, prefix = scratch_db.url.database, "test-cli-enrich-"
    host = writes.create_user(scratch_db, writes.UserCreate(email="cli@example.com", name="CLI", role="host"))
    for title in ("Castle view flat", "Garden cottage", "Harbour loft"):
        writes.create_property(scratch_db, writes.PropertyCreate(
            host_id=int(host["id"]), title=title, room_type="Entire home/apt", currency="GBP", city="Edinburgh",
            neighbourhood="Old Town", latitude=55.95, longitude=-3.19, description=f"{title}, quiet and bright."))
    env = {"HH_DB_NAME": schema, "HH_INDEX_PREFIX": prefix, "HH_ENRICH_IMAGES": "false"}
    client = indexes.client(stack)
    client.indices.delete(index=f"{prefix}*", ignore_unavailable=True)
    try:
        built = _run_env(env, "backfill", "--no-progress")
        assert built.returncode == 0, built.stderr[-2000:]
        assert "properties_v1: 3 documents" in built.stderr
        enriched = _run_env(env, "enrich", "refresh", "--no-progress")
        assert enriched.returncode == 0, enriched.stderr[-2000:]
        assert "enriched 3" in enriched.stderr
        alias = indexes.read_alias("properties", prefix)
        client.indices.refresh(index=alias)
        hits = client.search(index=alias, body={"query": {"exists": {"field": "text_vector"}}})["hits"]
        assert hits["total"]["value"] == 3
        again = _run_env(env, "enrich", "refresh", "--no-progress")
        assert again.returncode == 0 and again.stderr.strip() == "nothing to enrich"
    finally:
        client.indices.delete(index=f"{prefix}*", ignore_unavailable=True)
