# leadclock developer entry points; CI (.ci/run) uses the same targets.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The local broker's port (deploy/local/kafka.sh); commands and tests dial it unless
# LEADCLOCK_BROKERS names other brokers.
KAFKA_PORT ?= 9092
export KAFKA_PORT
export LEADCLOCK_BROKERS ?= 127.0.0.1:$(KAFKA_PORT)

.PHONY: setup run test check lint typecheck bench kafka kafka-stop clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: local Kafka + migrate + demo registry and data flowing + worker with the live scorecard
run: setup
	bash deploy/local/run-demo.sh

## test: the whole suite (unit + integration; starts the local broker if none answers)
test: setup
	$(PY) -m pytest -q -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy

## check: what CI runs: lint, types, then the whole suite
check: lint typecheck test

## bench: issue 12's benchmarks in one run (< 15 min on 2 cores), one table; BENCH_OUT=file.md
BENCH_OUT ?= var/bench/results.md
bench: setup
	$(PY) benchmarks/run_all.py --out $(BENCH_OUT)

kafka: setup
	bash deploy/local/kafka.sh start

kafka-stop:
	bash deploy/local/kafka.sh stop

clean:
	rm -rf var/clickhouse var/worker var/demo-*.ndjson var/demo-*.csv var/demo-*.log
