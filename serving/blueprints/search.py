"""Search, autocomplete, similar listings and a listing's document: reads from OpenSearch only."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.datastructures import MultiDict

from hellohome.errors import BadRequest
from hellohome.search.request import Filters, SearchRequest, from_query_args
from serving.params import json_body
from serving.params import listing_id as valid_id

bp = Blueprint("search", __name__, url_prefix="/api/v1")


def _service():
    return current_app.extensions["search"]


def _search_request() -> SearchRequest:
    if request.method == "POST":
        return SearchRequest.model_validate(json_body())
    try:
        raw = from_query_args(request.args)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return SearchRequest.model_validate(raw)


@bp.route("/search", methods=["GET", "POST"])
def search():
    req = _search_request()
    g.query_type = req.mode.value
    return jsonify(_service().search(req))


@bp.get("/autocomplete")
def autocomplete():
    prefix = request.args.get("q", "").strip()
    if not prefix or len(prefix) > 100:
        raise BadRequest("q: 1 to 100 characters")
    try:
        size = int(request.args.get("size", 5))
    except ValueError as exc:
        raise BadRequest("size: must be an integer") from exc
    if not 1 <= size <= 20:
        raise BadRequest("size: 1 to 20")
    g.query_type = "autocomplete"
    return jsonify(_service().autocomplete(prefix, size))


@bp.get("/properties/<int:listing_id>")
def get_property(listing_id: int):
    doc = _service().get(valid_id(listing_id), fields=None)
    doc.pop("text_vector", None)
    doc.pop("image_vector", None)
    return jsonify({**doc, "id": str(doc["id"])})


@bp.get("/properties/<int:listing_id>/similar")
def similar(listing_id: int):
    g.query_type = "knn"
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "size"])
    try:
        size = int(request.args.get("size", 10))
        raw = from_query_args(args)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if not 1 <= size <= 50:
        raise BadRequest("size: 1 to 50")
    if set(raw) - {"filters"}:
        raise BadRequest(f"{', '.join(sorted(set(raw) - {'filters'}))}: not a filter")
    filters = Filters.model_validate(raw["filters"])
    return jsonify(_service().similar(valid_id(listing_id), size, filters))
