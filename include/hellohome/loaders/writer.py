"""Upsert a batch of listing records in one transaction: hosts, profiles, properties, images.

Re-running with the same input changes nothing (the version trigger ignores no-op updates), and a
failure rolls the whole batch back, so no listing is ever half-written.
"""
from __future__ import annotations

from sqlalchemy import Connection, func, literal_column
from sqlalchemy.dialects.mysql import insert

from hellohome.db.models import Property, PropertyImage, User, UserProfile
from hellohome.loaders.records import ListingRecord

PROPERTY_COLUMNS = [c.name for c in Property.__table__.columns
                    if c.name not in ("status", "version", "created_at", "updated_at")]
PROFILE_COLUMNS = ("bio", "home_location", "host_since", "is_superhost")


def host_email(host_id: int, source: str) -> str:
    # Airbnb publishes no host e-mail; a unique, undeliverable address keeps `users.email` unique
    return f"host-{host_id}@{source.replace('_', '-')}.hosts.invalid"


def _upsert_users(conn: Connection, records: list[ListingRecord]) -> None:
    hosts = {r.host["id"]: r.host for r in records}
    rows = [{"id": h["id"], "email": host_email(h["id"], h["source"]), "name": h["name"], "role": "host",
             "source": h["source"]} for h in hosts.values()]
    stmt = insert(User.__table__)
    # a guest who starts hosting becomes a host; agents and admins keep their role. (A literal,
    # because bound parameters after VALUES stop PyMySQL from batching the executemany.)
    # The e-mail guard comes first: ON DUPLICATE KEY also fires on the unique e-mail, and must never
    # rewrite a *different* user; NULL into NOT NULL email makes the server refuse the row instead.
    stmt = stmt.on_duplicate_key_update([
        ("email", literal_column("IF(id = VALUES(id), email, NULL)")),
        ("name", stmt.inserted.name),
        ("role", literal_column("IF(role = 'guest', 'host', role)")),
    ])
    conn.execute(stmt, rows)


def _upsert_profiles(conn: Connection, records: list[ListingRecord]) -> None:
    profiles = {r.host["id"]: r.profile for r in records}
    rows = [{"user_id": uid, **{c: p.get(c) for c in PROFILE_COLUMNS}} for uid, p in profiles.items()]
    stmt = insert(UserProfile.__table__)
    table = UserProfile.__table__.c
    # a dataset without a profile column must not erase what another dataset or the user wrote
    stmt = stmt.on_duplicate_key_update({c: func.coalesce(stmt.inserted[c], table[c]) for c in PROFILE_COLUMNS})
    conn.execute(stmt, rows)


def _upsert_properties(conn: Connection, records: list[ListingRecord]) -> None:
    rows = [{c: r.property.get(c) for c in PROPERTY_COLUMNS} for r in records]
    stmt = insert(Property.__table__)
    stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in PROPERTY_COLUMNS if c != "id"})
    conn.execute(stmt, rows)


def _upsert_images(conn: Connection, records: list[ListingRecord]) -> None:
    rows = [{"property_id": r.property["id"], "position": pos, "url": url}
            for r in records for pos, url in enumerate(r.images)]
    if not rows:
        return
    stmt = insert(PropertyImage.__table__)
    conn.execute(stmt.on_duplicate_key_update(url=stmt.inserted.url), rows)


def upsert_listings(conn: Connection, records: list[ListingRecord]) -> None:
    """Write one batch inside the caller's transaction (parents before children, for the FKs)."""
    if not records:
        return
    _upsert_users(conn, records)
    _upsert_profiles(conn, records)
    _upsert_properties(conn, records)
    _upsert_images(conn, records)
