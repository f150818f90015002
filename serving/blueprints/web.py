"""The search page: static HTML + JS calling the API."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

STATIC = Path(__file__).resolve().parents[1] / "static"
bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    return send_from_directory(STATIC, "index.html")


@bp.get("/static/<path:name>")
def static(name: str):
    return send_from_directory(STATIC, name)
