# Task image: fnlib and its pinned dependencies, `fn` as the entrypoint, non-root.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WANDB_DIR=/tmp/wandb \
    WANDB_SILENT=true \
    WANDB_X_DISABLE_STATS=true

WORKDIR /opt/fn
COPY constraints.txt pyproject.toml README.md ./
COPY fnlib ./fnlib
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 50000 fn

ARG FN_GIT_SHA=unknown
ENV FN_GIT_SHA=${FN_GIT_SHA}
USER 50000
ENTRYPOINT ["fn"]
CMD ["--help"]
