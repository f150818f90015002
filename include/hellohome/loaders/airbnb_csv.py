"""Inside Airbnb listing files (the 16-column summary and the 75-column detailed release) → records.

Columns are found by name, with the aliases different releases use, so extra, missing or renamed
optional columns do not matter; a missing required column stops the load before anything is written.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hellohome.errors import DatasetError
from hellohome.loaders.records import ListingRecord

# field -> accepted source column names, first present wins
REQUIRED = {
    "id": ("id", "listing_id"),
    "title": ("name", "title", "listing_name"),
    "host_id": ("host_id",),
    "neighbourhood": ("neighbourhood_cleansed", "neighbourhood"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lng", "lon"),
    "room_type": ("room_type",),
    "price": ("price", "price_per_night"),
}
OPTIONAL = {
    "host_name": ("host_name",),
    "area": ("neighbourhood_group_cleansed", "neighbourhood_group", "borough"),
    "description": ("description", "summary"),
    "property_type": ("property_type",),
    "bedrooms": ("bedrooms",),
    "beds": ("beds",),
    "bathrooms": ("bathrooms",),
    "bathrooms_text": ("bathrooms_text",),
    "accommodates": ("accommodates",),
    "amenities": ("amenities",),
    "minimum_nights": ("minimum_nights",),
    "availability_365": ("availability_365",),
    "number_of_reviews": ("number_of_reviews",),
    "review_score": ("review_scores_rating", "review_score"),
    "last_review": ("last_review",),
    "picture_url": ("picture_url", "photo_url", "xl_picture_url"),
    "host_about": ("host_about",),
    "host_location": ("host_location",),
    "host_since": ("host_since",),
    "host_is_superhost": ("host_is_superhost",),
}


@dataclass(frozen=True)
class DatasetDefaults:
    city: str
    currency: str
    source: str


def read_text(path: Path) -> str:
    """The whole file as text; a file that is not UTF-8 fails here, before anything is written."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path}: not a complete gzip file ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{path}: not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line}); "
            "re-encode the file as UTF-8 (for example `iconv -f latin1 -t utf-8`)"
        ) from None
    if not text.strip():
        raise DatasetError(f"{path}: file is empty (no header row)")
    return text


def map_columns(header: list[str], path: Path) -> dict[str, int]:
    """field -> column index; raises naming every missing required column."""
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    mapping, missing = {}, []
    for spec, required in ((REQUIRED, True), (OPTIONAL, False)):
        for field_name, aliases in spec.items():
            found = next((index[a] for a in aliases if a in index), None)
            if found is not None:
                mapping[field_name] = found
            elif required:
                missing.append(f"{field_name} (one of: {', '.join(aliases)})")
    if missing:
        raise DatasetError(f"{path}: missing required column(s): {'; '.join(missing)}; nothing was loaded")
    return mapping


def iter_rows(text: str) -> Iterator[tuple[int, int, list[str] | None, str]]:
    """(row number, start line, fields or None, error) for each record after the header."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    rows = iter(reader)
    next(rows)  # header, read separately by the caller
    line = reader.line_num + 1
    number = 0
    while True:
        number += 1
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, line, None, f"malformed CSV record: {exc}"
            line = reader.line_num + 1
            continue
        yield number, line, fields, ""
        line = reader.line_num + 1


def read_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")))


# --- value parsers: each returns a typed value or None for empty, raises ValueError with a reason ---

def _int(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    number = decimal.Decimal(value)  # "2.0" from some releases
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _decimal(value: str) -> decimal.Decimal | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = decimal.Decimal(value.replace("$", "").replace("£", "").replace("€", "").replace(",", ""))
    except decimal.InvalidOperation:
        raise ValueError(f"not a number: {value[:40]!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _date(value: str) -> dt.date | None:
    value = value.strip()
    return dt.date.fromisoformat(value) if value else None


def _bathrooms(number: str, text: str) -> decimal.Decimal | None:
    parsed = _decimal(number)
    if parsed is not None:
        return parsed
    text = text.strip().lower()
    if not text:
        return None
    if "half" in text:
        return decimal.Decimal("0.5")
    match = re.match(r"(\d+(?:\.\d+)?)", text)
    if not match:
        raise ValueError(f"no number of bathrooms in {text!r}")
    return decimal.Decimal(match.group(1))


def _amenities(value: str) -> list[str] | None:
    value = value.strip()
    if not value:
        return None
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list: {exc}") from None
    elif value.startswith("{"):  # older releases: {TV,"Air conditioning"}
        items = next(csv.reader([value[1:-1]]))
    else:
        raise ValueError("expected a JSON list or {a,b} set")
    return sorted({str(item).strip() for item in items if str(item).strip()})


def _review_score(value: str) -> decimal.Decimal | None:
    score = _decimal(value)
    if score is not None and score > 5:  # releases before 2021 scored out of 100
        score = (score / 20).quantize(decimal.Decimal("0.01"))
    return score


def _flag(value: str) -> bool | None:
    value = value.strip().lower()
    return {"t": True, "true": True, "f": False, "false": False}.get(value) if value else None


def parse_record(fields: list[str], mapping: dict[str, int], defaults: DatasetDefaults) -> ListingRecord:
    """Raise ValueError("column: reason") on the first value that cannot be parsed."""

    def raw(name: str) -> str:
        i = mapping.get(name)
        return fields[i] if i is not None else ""

    def parsed(name: str, parser, *extra: str):
        try:
            return parser(raw(name), *(raw(e) for e in extra))
        except (ValueError, decimal.InvalidOperation) as exc:
            raise ValueError(f"{name}: {exc}") from None

    listing_id = parsed("id", _int)
    host_id = parsed("host_id", _int)
    if listing_id is None or host_id is None:
        raise ValueError(f"{'id' if listing_id is None else 'host_id'}: is empty")
    prop = {
        "id": listing_id,
        "source": defaults.source,
        "host_id": host_id,
        "title": " ".join(raw("title").split()),
        "description": raw("description").strip() or None,
        "property_type": raw("property_type").strip() or None,
        "room_type": raw("room_type").strip(),
        "bedrooms": parsed("bedrooms", _int),
        "beds": parsed("beds", _int),
        "bathrooms": parsed("bathrooms", _bathrooms, "bathrooms_text"),
        "accommodates": parsed("accommodates", _int),
        "price": parsed("price", _decimal),
        "currency": defaults.currency,
        "city": defaults.city,
        "area": raw("area").strip() or None,
        "neighbourhood": raw("neighbourhood").strip(),
        "latitude": parsed("latitude", _decimal),
        "longitude": parsed("longitude", _decimal),
        "amenities": parsed("amenities", _amenities),
        "minimum_nights": parsed("minimum_nights", _int),
        "availability_365": parsed("availability_365", _int),
        "number_of_reviews": parsed("number_of_reviews", _int),
        "review_score": parsed("review_score", _review_score),
        "last_review": parsed("last_review", _date),
    }
    host = {"id": host_id, "name": " ".join(raw("host_name").split()) or f"Host {host_id}", "source": defaults.source}
    profile = {
        "bio": raw("host_about").strip() or None,
        "home_location": raw("host_location").strip()[:255] or None,
        "host_since": parsed("host_since", _date),
        "is_superhost": _flag(raw("host_is_superhost")),
    }
    picture = raw("picture_url").strip()
    return ListingRecord(property=prop, host=host, profile=profile, images=[picture] if picture else [])
