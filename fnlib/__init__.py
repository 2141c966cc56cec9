"""fnlib: the domain library behind the fake-news Airflow pipelines.

Pure, typed and testable without Airflow: data sources and preparation, text
transformers, models, versioned storage, lineage tracking and monitoring.
"""

__version__ = "0.1.0"
