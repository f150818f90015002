"""Every exception the library raises on purpose, in one place, one hierarchy.

Each class carries what its callers show: the CLI prints the message on one line (`error: ...`,
exit 2); the API answers `status` with {"error": {"code", "message", "details"?}}.
"""
from __future__ import annotations


class HelloHomeError(Exception):
    """Base class. Messages are written for the person who reads them: what failed and the fix."""

    status = 500
    code = "internal_error"

    @property
    def details(self) -> list[dict] | None:
        return None


class ConfigError(HelloHomeError):
    code = "configuration_error"


class ServiceError(HelloHomeError):
    """A local service failed to start, stop or answer its readiness check."""

    status = 503
    code = "service_unavailable"

    def __init__(self, service: str, check: str, detail: str, log_tail: str = ""):
        self.service, self.check, self.detail, self.log_tail = service, check, detail, log_tail
        message = f"{service}: {check} failed: {detail}"
        if log_tail:
            message += f"\n--- last lines of the {service} log ---\n{log_tail}"
        super().__init__(message)


class DatasetError(HelloHomeError):
    """A whole input file is unusable (missing required column, wrong encoding, empty)."""

    status = 422
    code = "invalid_dataset"


class BadRequest(HelloHomeError):
    status = 400
    code = "bad_request"


class Unauthorized(HelloHomeError):
    status = 401
    code = "unauthorized"


class Forbidden(HelloHomeError):
    status = 403
    code = "forbidden"


class NotFound(HelloHomeError):
    status = 404
    code = "not_found"


class Conflict(HelloHomeError):
    """Valid, but the data cannot take it now (a stale expected_version, a listing without a vector)."""

    status = 409
    code = "conflict"


class Invalid(HelloHomeError):
    """Well-formed but refers to something that does not exist (an unknown host, user, listing)."""

    status = 422
    code = "validation_error"

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")

    @property
    def details(self) -> list[dict]:
        return [{"field": self.field, "message": str(self)}]


class SearchUnavailable(HelloHomeError):
    """OpenSearch cannot answer (down, timing out)."""

    status = 503
    code = "search_unavailable"
