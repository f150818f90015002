"""Failures of the services the CLI talks to, as one line: the service, what failed, the fix.

`hellohome` prints `error: <line>` and exits 2 (with --debug it prints the traceback instead).
Anything not recognised here is a bug and keeps its traceback.
"""
from __future__ import annotations

import requests
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from confluent_kafka import KafkaException
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError
from pymysql.err import MySQLError
from sqlalchemy.exc import DBAPIError

from hellohome.config import Settings
from hellohome.errors import HelloHomeError

START = "start the stack with `hellohome stack up`"


def _mariadb(settings: Settings, code: int | None, message: str) -> str:
    where = f"MariaDB at {settings.db_host}:{settings.db_port}"
    schema = settings.db_name
    if code in (2002, 2003, 2006, 2013):
        return f"{where} is not reachable ({message}); {START}, or check HH_DB_HOST / HH_DB_PORT"
    if code in (1044, 1049):
        return (f"{where}: schema `{schema}` does not exist or the project's users are not granted it ({message}); "
                f"`HH_DB_NAME={schema} hellohome stack up` creates it with the project's grants, then "
                f"`HH_DB_NAME={schema} hellohome db migrate`")
    if code == 1045:
        return (f"{where} refused the password ({message}); the HH_DB_*_PASSWORD settings differ from the server's: "
                f"`hellohome stack up` sets the project users' passwords from the settings")
    if code == 1146:
        return f"{where}: a table is missing in schema `{schema}` ({message}); run `hellohome db migrate`"
    return f"{where}: {message}" + (f" (error {code})" if code else "")


def explain(exc: BaseException, settings: Settings | None) -> str | None:
    """One line for a known failure of a service, or None."""
    if isinstance(exc, HelloHomeError):
        return str(exc)
    if settings is None:
        return None
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, MySQLError):
        args = orig.args
        code = args[0] if args and isinstance(args[0], int) else None
        return _mariadb(settings, code, str(args[1] if len(args) > 1 else orig))
    if isinstance(exc, OSConnectionError):
        return f"OpenSearch at {settings.opensearch_url} is not reachable; {START}, or check HH_OPENSEARCH_HOST / _PORT"
    if isinstance(exc, TransportError):
        return f"OpenSearch at {settings.opensearch_url} answered {exc.status_code}: {str(exc.info or exc.error)[:300]}"
    if isinstance(exc, KafkaException):
        return f"Kafka at {settings.kafka_bootstrap}: {exc.args[0] if exc.args else exc}; {START}"
    if isinstance(exc, EndpointConnectionError):
        return f"S3 at {settings.s3_endpoint} is not reachable; {START}, or check HH_S3_HOST / HH_S3_PORT"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"S3 at {settings.s3_endpoint} refused: {error.get('Code')}: {error.get('Message')}"
    if isinstance(exc, BotoCoreError):
        return f"S3 at {settings.s3_endpoint}: {exc}"
    if isinstance(exc, requests.ConnectionError):
        url = exc.request.url if exc.request is not None else "a service"
        return f"{url} is not reachable; {START}"
    return None
