# The two commands of the README: `make demo` (install and serve a demo round) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app pb_app

.PHONY: install demo serve test lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(BIN)/ruff check pb_app tests benchmarks
	$(BIN)/ruff format --check pb_app tests benchmarks
	$(BIN)/mypy

# Lint, then every test except the large real elections (.ci/run adds those and PostgreSQL).
test: lint
	$(BIN)/pytest -m "not slow" -n 2
