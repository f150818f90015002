"""The batch side's work, one module per DAG; the DAG files in dags/ only wire these functions
into tasks (so the same work runs from the CLI, from tests, and from Airflow)."""
