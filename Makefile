# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_CASE := cases/dashiqiao.toml
DEMO_OUT := out/dashiqiao

.PHONY: setup demo test lint bench network clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,simbench]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/planner check $(DEMO_CASE)
	$(BIN)/planner plan $(DEMO_CASE) --out $(DEMO_OUT) --force
	@echo "outputs are in $(DEMO_OUT)/ (plan.json)"

lint: setup
	$(BIN)/ruff check planner tests networks
	$(BIN)/ruff format --check planner tests networks
	$(BIN)/mypy planner

test: setup lint
	$(BIN)/pytest -q

network: setup
	$(BIN)/python networks/build_dashiqiao.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
