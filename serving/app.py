"""The Flask app factory: blueprints, errors, rate limits, metrics, structured logs."""
from __future__ import annotations

import threading

from flask import Flask
from flask_limiter import Limiter

from hellohome.config import Settings
from hellohome.enrich.text import TextEmbedder
from hellohome.logs import configure as configure_logging
from hellohome.search.service import SearchService
from serving import errors, metrics
from serving.auth import rate_limit_key
from serving.blueprints import docs, health, search, web, writes

MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings, search_service: SearchService | None = None,
               preload_models: bool = False) -> Flask:
    """preload_models: load the text model in the background now (gunicorn workers), instead of
    inside the first semantic request (seconds)."""
    configure_logging()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    if search_service is None:
        embedder = TextEmbedder.from_settings(settings)
        search_service = SearchService(settings, embed=lambda texts: embedder.embed(texts).tolist())
        if preload_models:
            threading.Thread(target=embedder.model, name="load-text-model", daemon=True).start()
    app.extensions["search"] = search_service
    errors.register(app)
    metrics.install(app)
    limiter = Limiter(rate_limit_key, app=app, storage_uri=settings.redis_url, headers_enabled=True,
                      strategy="moving-window", key_prefix=f"hellohome-{settings.index_prefix}",
                      storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
                      swallow_errors=True)  # a Redis outage must not take search down with it
    limiter.limit(settings.api_search_limit)(search.bp)
    limiter.limit(settings.api_write_limit)(writes.bp)
    for blueprint in (search.bp, writes.bp, health.bp, docs.bp, web.bp):
        app.register_blueprint(blueprint)
    for exempt in (health.bp, docs.bp, web.bp):
        limiter.exempt(exempt)
    app.extensions["hellohome_settings"] = settings
    return app
