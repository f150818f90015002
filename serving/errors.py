"""One JSON error shape for every failure: {"error": {"code", "message", "details"?}}.

The library's own errors (hellohome.errors) carry their status and code, so one handler serves
them all; the rest are other libraries' exceptions mapped here.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from opensearchpy.exceptions import NotFoundError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from hellohome.errors import HelloHomeError

log = logging.getLogger("hellohome.api")


def body(code: str, message: str, details: list | None = None) -> dict:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def validation_details(exc: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)]


def register(app: Flask) -> None:
    def reply(status: int, code: str, message: str, details: list | None = None):
        return jsonify(body(code, message, details)), status

    @app.errorhandler(HelloHomeError)
    def _ours(exc: HelloHomeError):
        if exc.status >= 500:
            log.warning("%s: %s", exc.code, exc)
        return reply(exc.status, exc.code, str(exc), exc.details)

    app.register_error_handler(ValidationError, lambda e: reply(
        422, "validation_error", "the request does not validate", validation_details(e)))
    app.register_error_handler(NotFoundError, lambda e: reply(404, "not_found", "no such document"))

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        log.warning("database unavailable: %s", exc.orig)
        return reply(503, "database_unavailable", "writes are unavailable: MariaDB did not answer")

    @app.errorhandler(DBAPIError)
    def _db_refused(exc):
        log.warning("database refused: %s", exc.orig)
        return reply(422, "rejected_by_database", "the database refused this change")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        response = jsonify(body(exc.name.lower().replace(" ", "_"), exc.description or exc.name))
        response.status_code = exc.code or 500
        for header in ("Retry-After", "Allow"):
            if exc.get_response().headers.get(header):
                response.headers[header] = exc.get_response().headers[header]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error")
        return reply(500, "internal_error", "unexpected error; it has been logged")
