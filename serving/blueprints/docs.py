"""/openapi.json and interactive docs (Swagger UI served from the swagger-ui-bundle package, no CDN)."""
from __future__ import annotations

from importlib.metadata import version

import swagger_ui_bundle
from flask import Blueprint, jsonify, send_from_directory

from hellohome.api import openapi

bp = Blueprint("docs", __name__)
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>HelloHome API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script></body></html>"""


@bp.get("/openapi.json")
def spec():
    return jsonify(openapi.document(version("hellohome")))


@bp.get("/docs")
def ui():
    return PAGE


@bp.get("/docs/<path:name>")
def assets(name: str):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)
