"""One way to retry: capped exponential backoff (tenacity) that a stopping process can interrupt.

Every retry in the library goes through `retrying`: MariaDB unreachable, rows still locked by a
commit in progress, OpenSearch refusing or busy, a refresh that failed. The caller says which
errors are worth another try, where the delays start and end, and when to give up (a stop
request, a deadline); the last error is re-raised when it gives up.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_never,
    wait_exponential,
)

MAX_BACKOFF_S = 10.0
log = logging.getLogger(__name__)


class Unsettled(Exception):  # noqa: N818 (a state, not a failure: some work is left for the next try)
    """Raised by an attempt that settled part of its work and leaves the rest for the next try."""


def stoppable_sleep(should_stop: Callable[[], bool]) -> Callable[[float], None]:
    """A sleep that ends early (in 50 ms steps) once `should_stop()` says so."""
    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not should_stop():
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    return sleep


def retrying(retry_on: Callable[[BaseException], bool], *, what: str, first_s: float = 0.2,
             cap_s: float = MAX_BACKOFF_S, should_stop: Callable[[], bool] = lambda: False,
             give_up_after_s: float | None = None, max_attempts: int | None = None,
             on_retry: Callable[[], None] | None = None, quiet: bool = False) -> Retrying:
    """for attempt in retrying(...): with attempt: ...  — delays first_s, 2·first_s, … up to cap_s;
    gives up (re-raising the last error) when should_stop() is true, give_up_after_s has passed or
    max_attempts were made."""
    deadline = stop_after_delay(give_up_after_s) if give_up_after_s is not None else stop_never
    attempts = stop_after_attempt(max_attempts) if max_attempts is not None else stop_never

    def stop(state: RetryCallState) -> bool:
        return should_stop() or deadline(state) or attempts(state)

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None:
            on_retry()
        if not quiet:
            error = state.outcome.exception() if state.outcome else None
            log.warning(f"{what} failed, retrying", extra={"fields": {
                "attempt": state.attempt_number, "backoff_s": round(state.upcoming_sleep, 3),
                "error": str(error)[:200]}})

    return Retrying(retry=retry_if_exception(retry_on), stop=stop, reraise=True,
                    wait=wait_exponential(multiplier=first_s, min=first_s, max=cap_s),
                    sleep=stoppable_sleep(should_stop), before_sleep=before_sleep)
