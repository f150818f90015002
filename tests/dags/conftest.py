"""DAG tests: Airflow configured like the stack's own processes (the project's PostgreSQL), so
`dag.test()` runs each DAG in this process against the real services."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hellohome.config import reload_settings
from hellohome.stack import airflow

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="session")
def airflow_env(stack):
    """Airflow's environment, set before the first `import airflow` (it reads its config then)."""
    os.environ.update(airflow.environment(stack))
    return stack


@pytest.fixture(scope="package")
def scheduler_stopped(airflow_env):
    """The stack's scheduler is stopped while these tests run DAGs with `dag.test()`: it would also
    run the queued tasks of such a run, in its own process and configuration (seen: a reindex task
    of the test run reading the demo schema). Started again after the last DAG test."""
    was_running = airflow.SCHEDULER.stop(airflow_env)
    yield airflow_env
    if was_running:
        airflow.SCHEDULER.start(reload_settings())


@pytest.fixture(scope="package")
def dagbag(scheduler_stopped):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))


@pytest.fixture
def task_settings(monkeypatch):
    """Settings the DAG's tasks read (they are entry points: environment → get_settings()):
    `task_settings(HH_INDEX_PREFIX="...")` sets them for this test and returns them."""
    def apply(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return reload_settings()
    yield apply
    monkeypatch.undo()
    reload_settings()


def run_dag(dagbag, dag_id: str, **conf):
    """One run of the DAG in this process; returns (state, {task_id or task_id[map_index]: state}, run)."""
    dag = dagbag.dags[dag_id]
    # in-process runs merge the run's conf into the DAG's and tasks' own Param objects (a worker
    # parses the DAG afresh for each task, so it never sees this): without the reset, a later run
    # of the same DAG would inherit this run's conf (seen: a build run taking the rollback branch)
    params = [p for holder in (dag, *dag.tasks) for _, p in holder.params.items()]
    defaults = [p.value for p in params]
    try:
        run = dag.test(run_conf=conf or None)
    finally:
        for param, value in zip(params, defaults, strict=True):
            param.value = value
    states = {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state
              for ti in run.get_task_instances()}
    return run.state, states, run
