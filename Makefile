# CatalystIndex. `make demo` and `make test` each set up .venv on their own.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CATALYST_HOME ?= $(CURDIR)/.catalyst
export DAGSTER_HOME ?= $(CATALYST_HOME)/dagster
EXAMPLE_QUERY := type 2 diabetes with kidney complications

.PHONY: demo test lint typecheck unit dev ingest-sample serve bench clean system-deps \
	dashboards monitoring

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or make PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build; an unpinned request would pull a CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# System tools the tests and the demo use, from Debian's packages when missing (as root):
# tesseract-ocr reads text from images (vision track); prometheus-pushgateway receives the
# ingestion counters; prometheus (with promtool) checks the alert rules and scrapes in the tests.
SYSTEM_PACKAGES := tesseract:tesseract-ocr prometheus-pushgateway:prometheus-pushgateway \
	prometheus:prometheus
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "please install:$$missing (e.g. sudo apt-get install$$missing)"; exit 1; fi; fi

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

ingest-sample: $(STAMP) system-deps $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m catalyst_orchestration.ingest samples/corpus

demo: ingest-sample
	@echo
	@echo "Search is starting on http://127.0.0.1:8000 (Ctrl-C stops it). In another shell try:"
	@echo "  curl -s -X POST http://127.0.0.1:8000/search -H 'content-type: application/json' \\"
	@echo "       -d '{\"query\": \"$(EXAMPLE_QUERY)\", \"top_k\": 5}'"
	@echo "  $(BIN)/catalystctl search \"$(EXAMPLE_QUERY)\" --top-k 5"
	@echo "  $(BIN)/catalystctl search \"check feet for blisters\" --track vision   # text read from an image"
	@echo
	$(BIN)/catalystctl serve --host 127.0.0.1 --port 8000

serve: $(STAMP)
	$(BIN)/catalystctl serve

dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI on http://127.0.0.1:3000, search on http://127.0.0.1:8000"
	$(BIN)/catalystctl serve & SERVE=$$!; trap "kill $$SERVE" EXIT INT TERM; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

SOURCES := catalyst_search catalyst_orchestration monitoring tests bench

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers: on 2 cores the suite takes about two thirds of the time of one (much of it
# waits on subprocesses, daemons and services); worksteal evens out the long tests.
PYTEST_WORKERS ?= 2
unit: $(STAMP) system-deps
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist worksteal

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py

# Regenerate docs/monitoring/dashboards/*.json from monitoring/dashboards (a test checks they match).
dashboards: $(STAMP)
	$(BIN)/python -m monitoring.generate

# Prometheus on :9090 (alert rules loaded) scraping the service on :8000 and a Pushgateway on :9091.
monitoring: $(STAMP) system-deps
	$(BIN)/python -m monitoring.stack

clean:
	rm -rf $(CATALYST_HOME)
