"""What a request handler needs from the app it runs in: the app's own settings and the engine
built from them (never the process-wide settings: a test app may run with others)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine

from hellohome.config import Settings
from hellohome.db.engine import get_engine


def settings() -> Settings:
    return current_app.extensions["hellohome_settings"]


def engine(role: str = "app") -> Engine:
    return get_engine(settings(), role)
