# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_CASE := cases/dashiqiao.toml
DEMO_OUT := out/dashiqiao

.PHONY: setup demo test lint browser bench network clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall -y -q planner 2>/dev/null || true  # the distribution's old name
	$(BIN)/python -m pip install --quiet -e ".[dev,simbench]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/planner check $(DEMO_CASE)
	$(BIN)/planner plan $(DEMO_CASE) --out $(DEMO_OUT) --force
	@echo "outputs are in $(DEMO_OUT)/: plan.json, schedule.csv, switching.csv, plan.md, report.html, plan.xlsx and, where the network has geodata, map.geojson"

# the wings: imports point only down (../shared/tools/layers.py is the project's checker)
LAYERS := ../shared/tools/layers.py

lint: setup
	$(PYTHON) $(LAYERS) planner
	$(BIN)/ruff check planner tests networks benchmarks docs
	$(BIN)/ruff format --check planner tests networks benchmarks docs
	$(BIN)/mypy planner

test: setup lint browser
	$(BIN)/pytest -q

# the report test renders report.html in Debian's headless Chromium
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

bench: setup
	$(BIN)/python benchmarks/bench.py

network: setup
	$(BIN)/python networks/build_dashiqiao.py
	cp networks/dashiqiao.json planner/data/dashiqiao.json  # the copy the wheel carries

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
