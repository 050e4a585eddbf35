# Two commands do everything on a fresh machine with Python 3.11, make and pip:
#   make demo   sets up .venv and runs the demo on SQLite + the simulated group chat
#   make test   sets up .venv (and the system packages the tests need) and runs every check and test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,postgres,wechaty,train

.PHONY: demo test lint typecheck imports unit system-deps bench lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[$(EXTRAS)]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/linli demo

system-deps:
	./scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

test: lint typecheck imports unit

bench: $(STAMP)
	$(BIN)/python -m bench.classifier_bench
	$(BIN)/python -m bench.bench_sweep
	$(BIN)/python -m bench.bench_digest
	$(BIN)/python -m bench.bench_desk
	$(BIN)/python -m bench.bench_council
	$(BIN)/python -m bench.bench_checks

lock:
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
