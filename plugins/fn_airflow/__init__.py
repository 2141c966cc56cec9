"""Airflow-side helpers for the fn DAGs: S3 store from the connection, task identity, Assets.

Airflow puts the plugins folder on ``sys.path``, so DAG files import ``fn_airflow`` directly.
Nothing here runs heavy imports at DAG parse time.
"""
