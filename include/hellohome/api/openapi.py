"""The OpenAPI 3.1 document, generated from the same pydantic models that validate requests."""
from __future__ import annotations

from pydantic import BaseModel

from hellohome.api import writes
from hellohome.search.request import Filters, SearchRequest

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "details": {"type": "array", "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "message": {"type": "string"}}}}}}}}
MODELS: list[type[BaseModel]] = [SearchRequest, Filters, writes.PropertyCreate, writes.PropertyPatch,
                                 writes.ImageCreate, writes.UserCreate, writes.ProfileUpdate, writes.InquiryCreate]
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}}


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _errors(*codes: int) -> dict:
    text = {400: "malformed request", 401: "missing or invalid API key", 403: "key lacks the scope",
            404: "not found", 409: "conflict", 422: "does not validate", 429: "rate limited (see Retry-After)",
            503: "a dependency is down (search: OpenSearch; writes: MariaDB)"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for c in codes}


def _op(summary: str, ok: int = 200, body: type[BaseModel] | None = None, params: list | None = None,
        auth: bool = False, errors: tuple = (400, 422, 429)) -> dict:
    op = {"summary": summary, "responses": {str(ok): {"description": "OK" if ok != 204 else "done"},
                                            **_errors(*errors, *((401, 403) if auth else ()))}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if params:
        op["parameters"] = params
    if auth:
        op["security"] = [{"apiKey": []}]
    return op


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def search_params() -> list[dict]:
    params = [_query("q", {"type": "string", "maxLength": 512}, "free text or a natural-language query"),
              _query("mode", {"enum": ["bm25", "semantic", "hybrid"]}), _query("sort", {"type": "string"}),
              _query("page", {"type": "integer"}), _query("size", {"type": "integer"}),
              _query("cursor", {"type": "string"}), _query("facets", {"type": "boolean"}),
              _query("interpret", {"type": "boolean"}),
              _query("near", {"type": "string"}, "lat,lon,radius_km"),
              _query("bbox", {"type": "string"}, "top,left,bottom,right")]
    for name in Filters.model_fields:
        if name not in ("near", "bbox"):
            params.append(_query(name, {"type": "string"}, "repeat for several values"))
    return params


def document(version: str) -> dict:
    schemas = {"Error": ERROR}
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    reads = (400, 404, 422, 429, 503)
    return {
        "openapi": "3.1.0",
        "info": {"title": "HelloHome search API", "version": version,
                 "description": "Search reads OpenSearch; writes go to MariaDB and reach search through CDC."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
        "paths": {
            "/api/v1/search": {"get": _op("search listings", params=search_params(), errors=reads),
                               "post": _op("search listings (JSON body)", body=SearchRequest, errors=reads)},
            "/api/v1/autocomplete": {"get": _op("places and listing titles for a prefix", params=[
                _query("q", {"type": "string", "maxLength": 100}), _query("size", {"type": "integer"})], errors=reads)},
            "/api/v1/properties": {"post": _op("create a listing", 201, writes.PropertyCreate, auth=True,
                                               errors=(400, 422, 429, 503))},
            "/api/v1/properties/{id}": {
                "get": _op("a listing's search document", params=[ID], errors=reads),
                "patch": _op("change a listing", body=writes.PropertyPatch, params=[ID], auth=True,
                             errors=(400, 404, 409, 422, 429, 503)),
                "delete": _op("delete a listing (soft)", 204, params=[ID], auth=True, errors=(404, 429, 503))},
            "/api/v1/properties/{id}/similar": {"get": _op("listings nearest in embedding space", params=[ID],
                                                            errors=(400, 404, 409, 429, 503))},
            "/api/v1/properties/{id}/images": {"post": _op("add an image", 201, writes.ImageCreate, [ID], True,
                                                            (400, 404, 409, 422, 429, 503))},
            "/api/v1/properties/{id}/images/{image_id}": {"delete": _op(
                "remove an image", 204, params=[ID, {**ID, "name": "image_id"}], auth=True, errors=(404, 429, 503))},
            "/api/v1/users": {"post": _op("create a user", 201, writes.UserCreate, auth=True,
                                          errors=(400, 409, 422, 429, 503))},
            "/api/v1/users/{id}/profile": {"put": _op("set a user's profile", body=writes.ProfileUpdate, params=[ID],
                                                      auth=True, errors=(400, 404, 422, 429, 503))},
            "/api/v1/inquiries": {"post": _op("send an inquiry about a listing", 201, writes.InquiryCreate, auth=True,
                                              errors=(400, 422, 429, 503))},
            "/api/v1/admin/status": {"get": _op("index status (admin)", auth=True, errors=(429, 503))},
            "/healthz": {"get": _op("process alive", errors=())},
            "/readyz": {"get": _op("MariaDB and OpenSearch readiness, reported separately", errors=(503,))},
            "/metrics": {"get": _op("Prometheus metrics", errors=())},
        },
    }
