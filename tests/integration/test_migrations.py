"""Migrations go up and down on an empty database, and the models match what they create."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text

from hellohome.db import migrate
from hellohome.db.models import Base
from hellohome.stack.schemas import fresh_schema

TABLES = {"users", "user_profiles", "properties", "property_images", "inquiries", "api_keys", "embedding_cache",
          "provider_cache", "provider_calls"}


def _owner_engine(settings, name):
    return create_engine(settings.db_url("owner", name), poolclass=pool.NullPool)


def test_up_down_up_on_an_empty_database(stack):
    name = fresh_schema(stack, f"{stack.db_name}_migrations")
    engine = _owner_engine(stack, name)
    assert TABLES <= set(inspect(engine).get_table_names())
    assert migrate.current_revision(stack, name) == migrate.head_revision()
    migrate.downgrade(stack, "base", database=name)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate.upgrade(stack, "head", database=name)
    assert TABLES <= set(inspect(engine).get_table_names())


def test_models_match_the_migrated_schema(stack):
    name = fresh_schema(stack, f"{stack.db_name}_migrations")
    with _owner_engine(stack, name).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_schema_details_the_brief_asks_for(stack):
    name = fresh_schema(stack, f"{stack.db_name}_migrations")
    with _owner_engine(stack, name).connect() as conn:
        tables = dict(conn.execute(text(
            "SELECT table_name, CONCAT(engine, ' ', table_collation) FROM information_schema.tables "
            "WHERE table_schema = :s AND table_name <> 'alembic_version'"), {"s": name}).all())
        assert tables == {t: "InnoDB utf8mb4_unicode_ci" for t in TABLES}
        ddl = conn.execute(text("SHOW CREATE TABLE properties")).one()[1]
        assert "FULLTEXT KEY `ft_properties_title_description` (`title`,`description`)" in ddl
        assert "`id` bigint(20) NOT NULL AUTO_INCREMENT" in ddl and "datetime(3)" in ddl
        images = conn.execute(text("SHOW CREATE TABLE property_images")).one()[1]
        assert "ON DELETE CASCADE" in images


def test_version_bumps_on_change_only(scratch_db):
    with scratch_db.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, name, role) VALUES (1, 'h@x.invalid', 'H', 'host')"))
        conn.execute(text(
            "INSERT INTO properties (id, host_id, title, room_type, currency, city, neighbourhood, latitude, longitude) "
            "VALUES (10, 1, 'Flat', 'Private room', 'USD', 'New York', 'Harlem', 40.8, -73.9)"))
    with scratch_db.begin() as conn:
        before = conn.execute(text("SELECT version, updated_at FROM properties WHERE id = 10")).one()
        conn.execute(text("UPDATE properties SET title = 'Flat' WHERE id = 10"))  # no-op
        assert conn.execute(text("SELECT version, updated_at FROM properties WHERE id = 10")).one() == before
        conn.execute(text("UPDATE properties SET title = 'Sunny flat', version = 99 WHERE id = 10"))
        assert conn.execute(text("SELECT version FROM properties WHERE id = 10")).scalar() == before.version + 1


def test_the_version_trigger_watches_every_content_column(stack):
    from hellohome.db.models import PROPERTY_CONTENT_COLUMNS

    name = fresh_schema(stack, f"{stack.db_name}_migrations")
    with _owner_engine(stack, name).connect() as conn:
        statement = conn.execute(text("SELECT action_statement FROM information_schema.triggers "
                                      "WHERE trigger_schema = :s AND trigger_name = 'properties_bump_version'"),
                                 {"s": name}).scalar()
    assert statement is not None
    missing = [c for c in PROPERTY_CONTENT_COLUMNS if f"NEW.`{c}` <=> OLD.`{c}`" not in statement]
    assert missing == [], f"add {missing} to the trigger in a new migration"


MARKER_USER = 2**62 + 17  # above every loaded and API-made id


def test_the_connector_keeps_streaming_through_our_migrations(loaded_db, stack):
    """The stack's connector watched `hellohome_test` while the session fixture dropped it and ran
    every migration: Debezium parses each DDL statement in the binlog, and one it cannot parse
    (a column named `hash` or `vector` did this once) stops the connector for good."""
    import time

    from hellohome.cdc import connector
    from hellohome.cdc.topics import change_topic
    from tests.integration.cdc_helpers import consume_since, execute

    name = connector.connector_name(stack, stack.db_name)
    # a row written after every migration: once its change event is out, Debezium has read (and
    # parsed) every DDL statement before it in the binlog
    since_ms = int(time.time() * 1000) - 1000
    execute(stack, "INSERT INTO users (id, email, name, role) VALUES (:id, 'ddl-marker@example.com', 'marker', 'guest')",
            id=MARKER_USER)
    execute(stack, "DELETE FROM users WHERE id = :id", id=MARKER_USER)
    events = consume_since(stack, change_topic(stack.db_name, "users"), 2, since_ms, timeout_s=60)
    assert len(events) >= 2, "the marker's change events never came: the connector is not streaming"
    state = connector.status(stack, name)
    assert state["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in state["tasks"]] == ["RUNNING"], state["tasks"][0].get("trace", "")[:2000]
