# Airflow image: the official base plus fnlib (with the providers of every task runtime), our
# DAGs and plugins. Build from the project root:
#   docker build -f docker/airflow.Dockerfile -t fn-airflow:0.1.0 .
# (`make images` does that with docker or podman, on a labelled stand-in base where this one
# cannot be pulled: scripts/images.py)
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

# dependencies first, in a layer that changes only with pyproject.toml or constraints.txt
COPY --chown=airflow:root constraints.txt pyproject.toml /opt/fn/
RUN python -c "import tomllib; p = tomllib.load(open('/opt/fn/pyproject.toml', 'rb'))['project']; x = p['optional-dependencies']; print('\n'.join(p['dependencies'] + x['airflow'] + x['kubernetes']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -c /opt/fn/constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY --chown=airflow:root README.md /opt/fn/
COPY --chown=airflow:root fnlib /opt/fn/fnlib
RUN pip install --no-cache-dir -c /opt/fn/constraints.txt "/opt/fn[airflow,kubernetes,cluster]"
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins

ARG FN_GIT_SHA=unknown
ENV FN_GIT_SHA=${FN_GIT_SHA}
