# Two commands do all set-up on a fresh machine:
#   make demo   - install, start the local stack, run the main job end to end, stop the stack
#   make demo-cluster - the same on the cluster mode (PostgreSQL, Redis, two Celery workers)
#   make test   - install, lint, run the test suite
#   make bench  - install (with the bench extra), run the benchmark suite (bench/run_all.py)
#   make images - build the task image and the Airflow image (docker or podman)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
SOURCE ?= synthetic
DATA_PATH ?=
DEMO_ARGS ?=
BENCH_ARGS ?=

.PHONY: install system-deps images test lint unit bench demo demo-cluster stack-up cluster-up stack-down stack-status clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[airflow,kubernetes,cluster,dev]'
	touch $@

install: $(VENV)/.installed

# OS packages the suite's real components need (scripts/system-deps.sh; idempotent)
system-deps:
	scripts/system-deps.sh

# The task image and the Airflow image, with a Docker daemon or else podman (its store in
# .podman/), on labelled stand-in bases where the real ones cannot be pulled; skips images
# whose inputs did not change (scripts/images.py, docs/deploy.md)
images: system-deps
	$(PY) scripts/images.py build

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[bench]'
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yaml docker-compose.docker-runtime.yaml
	$(BIN)/hadolint docker/task.Dockerfile docker/airflow.Dockerfile

test: lint system-deps
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

# default: ~25 min of CPU time plus the realistic-text steps (not re-timed); BENCH_ARGS="--quick" (smoke run), "--full" (~1.5-2 h:
# 20k-200k documents, the main job end to end); see bench/README.md
bench: install $(VENV)/.bench-installed
	nice -n 10 $(BIN)/python bench/run_all.py $(BENCH_ARGS)

demo: install
	$(BIN)/fn demo --source $(SOURCE) $(if $(DATA_PATH),--path $(DATA_PATH)) $(DEMO_ARGS)

# the main job on the cluster mode: PostgreSQL, Redis, CeleryExecutor with two workers
demo-cluster: install system-deps
	$(BIN)/fn demo --executor celery --source $(SOURCE) $(if $(DATA_PATH),--path $(DATA_PATH)) $(DEMO_ARGS)

stack-up: install
	$(BIN)/fn stack up

cluster-up: install system-deps
	$(BIN)/fn stack up --executor celery

stack-down: install
	$(BIN)/fn stack down

stack-status: install
	$(BIN)/fn stack status

clean:
	-$(BIN)/fn stack down
	rm -rf $(VENV) .stack
	@echo "the project's podman store stays in .podman/ (images); remove it with: rm -rf .podman"
