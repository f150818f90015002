"""The one validated search request every entry point (API, web page, benchmark) goes through.

Only this model's fields reach the query builder, as values inside a DSL built in code: no user
string is ever parsed as query syntax (no `query_string`), so a DSL or SQL fragment is just text.
"""
from __future__ import annotations

import base64
import enum

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_QUERY_CHARS = 512
MAX_PAGE_SIZE = 100
MAX_FROM_SIZE = 1_000  # deeper pages need the `cursor` (search_after)
MAX_LIST = 20


class Sort(enum.StrEnum):
    relevance = "relevance"
    price_asc = "price_asc"
    price_desc = "price_desc"
    newest = "newest"
    rating = "rating"
    distance = "distance"


class Mode(enum.StrEnum):
    bm25 = "bm25"
    semantic = "semantic"
    hybrid = "hybrid"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Point(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Near(Point):
    radius_km: float = Field(5.0, gt=0, le=500)


class BoundingBox(Strict):
    top: float = Field(ge=-90, le=90)
    left: float = Field(ge=-180, le=180)
    bottom: float = Field(ge=-90, le=90)
    right: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self):
        if self.bottom > self.top:
            raise ValueError("bbox: bottom must not be above top")
        return self


Names = list[str]


class Filters(Strict):
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    bedrooms_min: int | None = Field(None, ge=0, le=50)
    bathrooms_min: float | None = Field(None, ge=0, le=50)
    accommodates_min: int | None = Field(None, ge=1, le=100)
    room_type: Names = Field(default_factory=list, max_length=MAX_LIST)
    property_type: Names = Field(default_factory=list, max_length=MAX_LIST)
    city: Names = Field(default_factory=list, max_length=MAX_LIST)
    area: Names = Field(default_factory=list, max_length=MAX_LIST)
    neighbourhood: Names = Field(default_factory=list, max_length=MAX_LIST)
    amenities: Names = Field(default_factory=list, max_length=MAX_LIST, description="all of these")
    host_role: Names = Field(default_factory=list, max_length=MAX_LIST)
    superhost: bool | None = None
    max_minimum_nights: int | None = Field(None, ge=1, le=10_000, description="stays of this many nights allowed")
    availability_min: int | None = Field(None, ge=0, le=366, description="days available in the next year")
    review_score_min: float | None = Field(None, ge=0, le=5)
    near: Near | None = None
    bbox: BoundingBox | None = None

    @field_validator("room_type", "property_type", "city", "area", "neighbourhood", "amenities", "host_role")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v or len(v) > 200 for v in cleaned):
            raise ValueError("each value must be 1 to 200 characters")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _ranges(self):
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError("price_min must not exceed price_max")
        return self


class SearchRequest(Strict):
    q: str = Field("", max_length=MAX_QUERY_CHARS, description="free text; natural language when interpret=true")
    interpret: bool = Field(True, description="read filters out of q (\"2 bed in Brooklyn under $150\")")
    mode: Mode = Mode.bm25
    filters: Filters = Field(default_factory=Filters)
    sort: Sort = Sort.relevance
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=2_000, description="next_cursor of the previous page")
    facets: bool = True
    highlight: bool = True

    @field_validator("q")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            raise ValueError("must not contain control characters")
        return " ".join(value.split())

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value

    @model_validator(mode="after")
    def _window(self):
        if self.cursor is None and self.page * self.size > MAX_FROM_SIZE:
            raise ValueError(f"page * size may not exceed {MAX_FROM_SIZE}; follow next_cursor for deeper pages")
        if self.sort is Sort.distance and self.filters.near is None:
            raise ValueError("sort=distance needs filters.near (a point to measure from)")
        return self


def encode_cursor(sort_values: list) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(sort_values)).decode()


def decode_cursor(cursor: str) -> list:
    """The search_after values of a cursor; a tampered cursor is a 400, never a DSL fragment."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, orjson.JSONDecodeError):
        raise ValueError("not a cursor this API issued") from None
    if not isinstance(values, list) or not 1 <= len(values) <= 4 or not all(
            isinstance(v, int | float | str) and not isinstance(v, bool) for v in values):
        raise ValueError("not a cursor this API issued")
    return values


LIST_FILTERS = ("room_type", "property_type", "city", "area", "neighbourhood", "amenities", "host_role")
TOP_LEVEL = ("q", "interpret", "mode", "sort", "page", "size", "cursor", "facets", "highlight")


def _floats(name: str, raw: str, keys: tuple[str, ...]) -> dict:
    parts = raw.split(",")
    if len(parts) != len(keys):
        raise ValueError(f"{name}: expected {','.join(keys)}")
    try:
        return dict(zip(keys, map(float, parts), strict=True))
    except ValueError as exc:
        raise ValueError(f"{name}: expected numbers as {','.join(keys)}") from exc


def from_query_args(args) -> dict:
    """GET query parameters (a werkzeug MultiDict) -> the SearchRequest shape. Lists repeat a
    parameter (?area=Brooklyn&area=Queens); near=lat,lon,radius_km; bbox=top,left,bottom,right."""
    body: dict = {"filters": {}}
    for key in args:
        if key in TOP_LEVEL:
            body[key] = args.get(key)
        elif key in LIST_FILTERS:
            body["filters"][key] = args.getlist(key)
        elif key == "near":
            body["filters"]["near"] = _floats(key, args.get(key), ("lat", "lon", "radius_km"))
        elif key == "bbox":
            body["filters"]["bbox"] = _floats(key, args.get(key), ("top", "left", "bottom", "right"))
        elif key in Filters.model_fields:
            body["filters"][key] = args.get(key)
        else:
            raise ValueError(f"{key}: unknown parameter")
    return body
