"""Rows → search documents: a property denormalised with its images (in order) and its host.

Backfill, the CDC indexer and `hellohome verify` all read the current rows from MariaDB and build
documents here, so the three can never disagree about what a document should be.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, text

from hellohome.config import Settings
from hellohome.enrich.attach import attach_cached
from hellohome.search import facets

# properties that are searchable; status 'deleted' rows are removed from the index
INDEXED_STATUSES = ("active", "inactive")
PROVENANCE = ("source_version", "source_commit_ms", "checksum")
ENRICHED = ("text_vector", "image_vector", "enrichment")  # added later; not part of the checksum


def _with_ids(sql: str):
    """A statement whose `:ids` takes a list (expanded to IN (...))."""
    return text(sql).bindparams(bindparam("ids", expanding=True))


# a listing with its host: the rows a document is built from, and the rows the commit barrier locks
LISTING_JOIN = """
    FROM properties p JOIN users u ON u.id = p.host_id LEFT JOIN user_profiles pr ON pr.user_id = u.id
"""
LISTING_COLUMNS = "SELECT p.*, u.name AS host_name, u.role AS host_role, pr.is_superhost, pr.host_since"
PROPERTIES_BY_ID = _with_ids(LISTING_COLUMNS + LISTING_JOIN + "WHERE p.id IN :ids")
PROPERTIES_PAGE = text(LISTING_COLUMNS + LISTING_JOIN + "WHERE p.id > :after AND p.id <= :until ORDER BY p.id LIMIT :limit")
LAST_ID = 2**63 - 1
IMAGES_BY_PROPERTY = _with_ids("""
    SELECT property_id, url, position, caption FROM property_images
    WHERE property_id IN :ids ORDER BY property_id, position
""")
PROFILE_JOIN = "FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id IN :ids"
PROFILES_BY_USER = _with_ids("""
    SELECT u.id, u.name, u.role, u.updated_at, p.bio, p.home_location, p.home_latitude, p.home_longitude,
           p.is_superhost, p.host_since, p.updated_at AS profile_updated_at
""" + PROFILE_JOIN)
PROPERTIES_OF_HOSTS = _with_ids("SELECT id, host_id FROM properties WHERE host_id IN :ids")

# Commit barrier (see wait_for_commits): the rows the reads above read, read with shared locks but
# only their ids. Locking reads see the newest committed rows and, with NOWAIT, fail (error 1205)
# on a row a transaction still holds instead of waiting for it.
LOCK_CONFLICT = 1205  # ER_LOCK_WAIT_TIMEOUT, what NOWAIT raises
LOCKING = " LOCK IN SHARE MODE NOWAIT"
BARRIERS = (
    ("properties", _with_ids("SELECT p.id" + LISTING_JOIN + "WHERE p.id IN :ids" + LOCKING)),
    ("properties", _with_ids("""
        SELECT property_id FROM property_images WHERE property_id IN :ids LOCK IN SHARE MODE NOWAIT""")),
    ("users", _with_ids("SELECT u.id " + PROFILE_JOIN + LOCKING)),
)


def _plain(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def checksum(doc: dict) -> str:
    """sha256 of the indexed fields in canonical JSON (provenance fields excluded)."""
    body = {k: v for k, v in doc.items() if k not in PROVENANCE and k not in ENRICHED}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def build(row: dict, images: list[dict]) -> dict:
    amenities = row["amenities"]
    if isinstance(amenities, str):
        amenities = json.loads(amenities)
    doc = {
        "id": row["id"], "source": row["source"], "title": row["title"], "description": row["description"],
        "property_type": row["property_type"], "room_type": row["room_type"],
        "bedrooms": row["bedrooms"], "beds": row["beds"], "accommodates": row["accommodates"],
        "bathrooms": _plain(row["bathrooms"]), "price": _plain(row["price"]), "currency": row["currency"],
        "city": row["city"], "area": row["area"], "neighbourhood": row["neighbourhood"],
        "location": {"lat": float(row["latitude"]), "lon": float(row["longitude"])},
        "amenities": amenities or [], "minimum_nights": row["minimum_nights"],
        "availability_365": row["availability_365"], "number_of_reviews": row["number_of_reviews"],
        "review_score": _plain(row["review_score"]), "last_review": _plain(row["last_review"]),
        "status": row["status"], "created_at": _plain(row["created_at"]), "updated_at": _plain(row["updated_at"]),
        "host": {"id": row["host_id"], "name": row["host_name"], "role": row["host_role"],
                 "is_superhost": None if row["is_superhost"] is None else bool(row["is_superhost"]),
                 "host_since": _plain(row["host_since"])},
        "images": [{"url": i["url"], "position": i["position"], "caption": i["caption"]} for i in images],
        "image_count": len(images),
        "source_version": row["version"],
    }
    doc[facets.KEYS_FIELD] = facets.keys(doc)
    doc["checksum"] = checksum(doc)
    return doc


def _with_images(settings: Settings, conn: Connection, rows: list[dict]) -> dict[int, dict]:
    images: dict[int, list[dict]] = defaultdict(list)
    if rows:
        for image in conn.execute(IMAGES_BY_PROPERTY, {"ids": [r["id"] for r in rows]}).mappings():
            images[image["property_id"]].append(dict(image))
    docs = {r["id"]: build(r, images[r["id"]]) for r in rows if r["status"] in INDEXED_STATUSES}
    attach_cached(settings, conn, docs)
    return docs


def documents_for(settings: Settings, conn: Connection, ids: Iterable[int]) -> dict[int, dict]:
    """Current documents of these property ids; an id missing from the result must not be in the index."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = [dict(r) for r in conn.execute(PROPERTIES_BY_ID, {"ids": ids}).mappings()]
    return _with_images(settings, conn, rows)


def wait_for_commits(conn: Connection, property_ids: Iterable[int], user_ids: Iterable[int]) -> None:
    """Raise DBAPIError (code LOCK_CONFLICT) while a transaction still holds rows of these listings or
    users, then end the transaction (releasing the shared locks at once): a read that starts after
    this returns sees every commit that had written them. MariaDB writes the binlog before InnoDB
    makes the commit visible, so a change event can arrive while its rows still read as before."""
    ids = {"properties": sorted(set(property_ids)), "users": sorted(set(user_ids))}
    try:
        for kind, barrier in BARRIERS:
            if ids[kind]:
                conn.execute(barrier, {"ids": ids[kind]})
    finally:
        conn.rollback()


def documents_page(settings: Settings, conn: Connection, after_id: int, limit: int,
                   until_id: int = LAST_ID) -> tuple[dict[int, dict], int | None]:
    """Keyset pagination for backfill and verify, ids in (after_id, until_id]: (documents, last id
    seen or None at the end)."""
    rows = [dict(r) for r in conn.execute(PROPERTIES_PAGE, {"after": after_id, "until": until_id,
                                                            "limit": limit}).mappings()]
    return _with_images(settings, conn, rows), (rows[-1]["id"] if rows else None)


def properties_of_hosts(conn: Connection, host_ids: Iterable[int]) -> dict[int, int]:
    """property id -> host id, for every listing of these hosts."""
    host_ids = sorted(set(host_ids))
    if not host_ids:
        return {}
    return dict(conn.execute(PROPERTIES_OF_HOSTS, {"ids": host_ids}).all())


def build_profile(row: dict) -> dict:
    home = None
    if row["home_latitude"] is not None and row["home_longitude"] is not None:
        home = {"lat": float(row["home_latitude"]), "lon": float(row["home_longitude"])}
    updated = max(filter(None, (row["updated_at"], row["profile_updated_at"])))
    return {"user_id": row["id"], "name": row["name"], "role": row["role"], "bio": row["bio"],
            "home_location": row["home_location"], "home": home,
            "is_superhost": None if row["is_superhost"] is None else bool(row["is_superhost"]),
            "host_since": _plain(row["host_since"]), "updated_at": _plain(updated)}


def profile_documents_for(conn: Connection, user_ids: Iterable[int]) -> dict[int, dict]:
    """Current user_profiles documents; a user id missing from the result must not be in that index."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return {}
    return {r["id"]: build_profile(dict(r)) for r in conn.execute(PROFILES_BY_USER, {"ids": user_ids}).mappings()}
