"""Every DAG file parses quickly, without errors or warnings, and carries what a data engineer and
on-call need: docs, owner, tags, retries, a failure alert, typed and described params."""
from __future__ import annotations

from hellohome.alerts import task_failed

EXPECTED = {"reindex", "data_quality", "cdc_health", "embedding_refresh"}


def test_every_dag_imports_without_errors_or_warnings(dagbag):
    assert dagbag.import_errors == {}
    assert EXPECTED <= set(dagbag.dags)
    assert all(stat.warning_num == 0 for stat in dagbag.dagbag_stats), dagbag.captured_warnings
    assert len(dagbag.dagbag_stats) == len(dagbag.dags)  # one DAG per file


def test_parse_time_of_every_file_is_well_under_a_second(dagbag):
    slow = {s.file: s.duration.total_seconds() for s in dagbag.dagbag_stats if s.duration.total_seconds() > 0.5}
    assert not slow, f"DAG files doing work at import: {slow}"


def test_each_dag_is_documented_owned_tagged_retried_and_alerting(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.tags, dag_id
        assert dag.catchup is False and dag.max_active_runs == 1, dag_id
        for task in dag.tasks:
            assert task.owner == "data-platform", (dag_id, task.task_id)
            assert task.retries >= 2, (dag_id, task.task_id)
            assert task_failed in (task.on_failure_callback if isinstance(task.on_failure_callback, list)
                                   else [task.on_failure_callback]), (dag_id, task.task_id)


def test_every_param_has_a_type_and_a_description(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for name in dag.params:
            param = dag.params.get_param(name)
            assert param.schema.get("type") and param.description, (dag_id, name, param.schema)
