"""Stage functions: one per pipeline task, each taking small references and returning small
JSON-serialisable dicts (what Airflow passes through XCom). The CLI runs the same functions."""
