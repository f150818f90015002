"""A listing as the loaders and the generator write it, and the one validation both pass through.

A record is a plain dict with three parts: ``property`` (columns of `properties`), ``host``
(`users`), ``profile`` (`user_profiles`, may be partial) and ``images`` (ordered urls).
"""
from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

from hellohome.db.models import GENERATED_ID_START

BIGINT_MAX = 2**63 - 1
MAX_PRICE = decimal.Decimal("9999999999.99")
TEXT_LIMITS = {"title": 500, "property_type": 100, "room_type": 50, "city": 100, "area": 100,
               "neighbourhood": 100, "currency": 3}


@dataclass
class Reject:
    row: int  # 1-based data record number (header excluded)
    line: int  # physical line where the record starts
    column: str
    reason: str
    source_id: str = ""


@dataclass
class ListingRecord:
    property: dict
    host: dict
    profile: dict = field(default_factory=dict)
    images: list[str] = field(default_factory=list)


def check_listing(rec: ListingRecord, *, generated: bool = False) -> list[tuple[str, str]]:
    """Every (column, reason) that makes this record unfit for the database; empty when valid."""
    p, problems = rec.property, []

    def bad(column: str, reason: str) -> None:
        problems.append((column, reason))

    pid = p.get("id")
    if not isinstance(pid, int) or not 0 < pid <= BIGINT_MAX:
        bad("id", f"must be a positive 64-bit integer, got {pid!r}")
    elif not generated and pid >= GENERATED_ID_START:
        bad("id", f"{pid} is in the range reserved for generated listings (>= {GENERATED_ID_START})")
    for column in ("title", "room_type", "neighbourhood", "city", "currency"):
        if not p.get(column):
            bad(column, "is empty")
    for column, limit in TEXT_LIMITS.items():
        value = p.get(column)
        if isinstance(value, str) and len(value) > limit:
            bad(column, f"longer than {limit} characters ({len(value)})")
    lat, lon = p.get("latitude"), p.get("longitude")
    if lat is None or not -90 <= lat <= 90:
        bad("latitude", f"must be within [-90, 90], got {lat}")
    if lon is None or not -180 <= lon <= 180:
        bad("longitude", f"must be within [-180, 180], got {lon}")
    price = p.get("price")
    if price is not None and not 0 <= price <= MAX_PRICE:
        bad("price", f"must be within [0, {MAX_PRICE}], got {price}")
    for column, upper in (("bedrooms", 200), ("beds", 500), ("accommodates", 1000), ("bathrooms", 200),
                          ("minimum_nights", 100_000), ("availability_365", 365), ("number_of_reviews", 10**8)):
        value = p.get(column)
        if value is not None and not 0 <= value <= upper:
            bad(column, f"must be within [0, {upper}], got {value}")
    score = p.get("review_score")
    if score is not None and not 0 <= score <= 5:
        bad("review_score", f"must be within [0, 5], got {score}")
    amenities = p.get("amenities")
    if amenities is not None and not (isinstance(amenities, list) and all(isinstance(a, str) for a in amenities)):
        bad("amenities", "must be a list of strings")
    for column in ("last_review",):
        if p.get(column) is not None and not isinstance(p[column], dt.date):
            bad(column, "must be a date")
    host = rec.host
    if not isinstance(host.get("id"), int) or not 0 < host["id"] <= BIGINT_MAX:
        bad("host_id", f"must be a positive 64-bit integer, got {host.get('id')!r}")
    if not host.get("name") or len(host["name"]) > 255:
        bad("host_name", "must be 1 to 255 characters")
    for url in rec.images:
        if not url.startswith(("http://", "https://")) or len(url) > 2048:
            bad("picture_url", f"not an http(s) URL of at most 2048 characters: {url[:80]!r}")
    return problems
