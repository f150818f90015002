"""Request pieces every blueprint reads the same way."""
from __future__ import annotations

from flask import request

from hellohome.errors import BadRequest, NotFound

MAX_ID = 2**63 - 1


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object sent as application/json")
    return data


def listing_id(value: int) -> int:
    """Ids in paths: a value no BIGINT can hold is simply not found."""
    if not 0 < value <= MAX_ID:
        raise NotFound(f"{value} does not exist")
    return value
