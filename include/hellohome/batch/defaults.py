"""What every DAG shares: owner, retries, the failure alert, a fixed start date."""
from __future__ import annotations

import datetime as dt

from hellohome.alerts import task_failed

OWNER = "data-platform"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "on_failure_callback": task_failed,  # retries exhausted: page / post to the channel
}
DAG_DEFAULTS = {"start_date": START, "catchup": False, "max_active_runs": 1, "default_args": DEFAULT_ARGS}


def settings():
    """The task's settings (DAG tasks are entry points: they read the environment)."""
    from hellohome.config import get_settings

    return get_settings()
