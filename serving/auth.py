"""API keys in the `X-API-Key` header; writes need scope `write`, admin endpoints `admin`."""
from __future__ import annotations

import functools

from flask import g, request

from hellohome.api import keys
from hellohome.errors import Forbidden, Unauthorized
from serving.context import engine

HEADER = "X-API-Key"


def current_key() -> keys.Key | None:
    if "api_key" not in g:
        g.api_key = keys.verify(engine(), request.headers.get(HEADER))
    return g.api_key


def require(scope: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not request.headers.get(HEADER):
                raise Unauthorized(f"this endpoint needs an API key in the {HEADER} header")
            key = current_key()
            if key is None:
                raise Unauthorized("the API key is not valid (unknown or revoked)")
            if scope not in key.scopes:
                raise Forbidden(f"this API key lacks the {scope!r} scope")
            return view(*args, **kwargs)

        wrapped.required_scope = scope
        return wrapped
    return decorate


def rate_limit_key() -> str:
    """Limits count per API key when a valid one is sent, else per client address."""
    presented = request.headers.get(HEADER)
    if presented:
        try:
            key = current_key()
        except Exception:  # database down: fall back to the address, never fail the limiter
            key = None
        if key is not None:
            return f"key:{key.id}"
    return f"ip:{request.remote_addr}"
