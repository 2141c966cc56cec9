# Task image: fnlib and its pinned dependencies (no Airflow), non-root, `fn` as the entrypoint.
# The docker/kubernetes task runtimes (FN_TASK_RUNTIME) run the DAGs' task bodies in it; they
# mount /var/lib/fn (feature cache, offline W&B runs) and pass the AWS/W&B settings.
# Build from the project root:  docker build -f docker/task.Dockerfile -t fn-task:0.1.0 .
# (`make images` does that with docker or podman, on a labelled stand-in base where this one
# cannot be pulled: scripts/images.py)
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FN_STACK_DIR=/var/lib/fn \
    WANDB_DIR=/var/lib/fn \
    WANDB_SILENT=true \
    WANDB_X_DISABLE_STATS=true

WORKDIR /opt/fn
# dependencies first, in a layer that changes only with pyproject.toml or constraints.txt:
# a change to the code rebuilds in seconds
COPY constraints.txt pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY README.md ./
COPY fnlib ./fnlib
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 50000 fn \
    && mkdir -p /var/lib/fn/cache \
    && chown -R 50000 /var/lib/fn

ARG FN_GIT_SHA=unknown
ENV FN_GIT_SHA=${FN_GIT_SHA}
USER 50000
VOLUME ["/var/lib/fn"]
ENTRYPOINT ["fn"]
CMD ["--help"]
