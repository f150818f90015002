"""Every exception the library raises on purpose, in one place."""


class HelloHomeError(Exception):
    """Base class: the CLI prints these as a one-line message and exits non-zero."""


class ConfigError(HelloHomeError):
    pass


class ServiceError(HelloHomeError):
    """A local service failed to start, stop or answer its readiness check."""

    def __init__(self, service: str, check: str, detail: str, log_tail: str = ""):
        self.service, self.check, self.detail, self.log_tail = service, check, detail, log_tail
        message = f"{service}: {check} failed: {detail}"
        if log_tail:
            message += f"\n--- last lines of the {service} log ---\n{log_tail}"
        super().__init__(message)


class DatasetError(HelloHomeError):
    """A whole input file is unusable (missing required column, wrong encoding, empty)."""
