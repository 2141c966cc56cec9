"""DAG-tier fixtures (``airflow_db``, ``fn_bucket``, ``dagbag``, ``clean_bucket``) live in
tests/conftest.py, shared with the reliability suite."""
