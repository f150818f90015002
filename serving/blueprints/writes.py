"""Writes go to MariaDB only (never to OpenSearch): the CDC path makes them searchable."""
from __future__ import annotations

from flask import Blueprint, jsonify

from hellohome.api import writes
from serving.auth import require
from serving.context import engine as _engine
from serving.params import json_body
from serving.params import listing_id as _listing_id

bp = Blueprint("writes", __name__, url_prefix="/api/v1")


@bp.post("/properties")
@require("write")
def create_property():
    return jsonify(writes.create_property(_engine(), writes.PropertyCreate.model_validate(json_body()))), 201


@bp.patch("/properties/<int:listing_id>")
@require("write")
def patch_property(listing_id: int):
    body = writes.PropertyPatch.model_validate(json_body())
    return jsonify(writes.patch_property(_engine(), _listing_id(listing_id), body))


@bp.delete("/properties/<int:listing_id>")
@require("write")
def delete_property(listing_id: int):
    writes.delete_property(_engine(), _listing_id(listing_id))
    return "", 204


@bp.post("/properties/<int:listing_id>/images")
@require("write")
def add_image(listing_id: int):
    body = writes.ImageCreate.model_validate(json_body())
    return jsonify(writes.add_image(_engine(), _listing_id(listing_id), body)), 201


@bp.delete("/properties/<int:listing_id>/images/<int:image_id>")
@require("write")
def delete_image(listing_id: int, image_id: int):
    writes.delete_image(_engine(), _listing_id(listing_id), _listing_id(image_id))
    return "", 204


@bp.post("/users")
@require("write")
def create_user():
    return jsonify(writes.create_user(_engine(), writes.UserCreate.model_validate(json_body()))), 201


@bp.put("/users/<int:user_id>/profile")
@require("write")
def put_profile(user_id: int):
    body = writes.ProfileUpdate.model_validate(json_body())
    return jsonify(writes.put_profile(_engine(), _listing_id(user_id), body))


@bp.post("/inquiries")
@require("write")
def create_inquiry():
    return jsonify(writes.create_inquiry(_engine(), writes.InquiryCreate.model_validate(json_body()))), 201

