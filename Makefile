# The two commands every newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.yaml
# `make run PORT=8081` serves on another port than the config's http.port
PORT ?=
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run shell test bench lint check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	@echo "installing… (into $(VENV); the first time takes a minute)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

# serves $(CONFIG); waits until /healthz answers, then prints the addresses and agents
run: $(STAMP)
	@mkdir -p data
	@$(BIN)/python -m router.devrun --config $(CONFIG) $(if $(PORT),--port $(PORT))

# a shell with .venv/bin on PATH (`inquiry-router --help`); `exit` leaves it
shell: $(STAMP)
	@echo "inquiry-router is on PATH in this shell; exit to leave"
	@PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" $${SHELL:-/bin/sh} -i

check: $(STAMP)
	$(BIN)/inquiry-router check --config $(CONFIG)

# on every core, at most two workers (each test may start services, a browser, dovecot and
# PostgreSQL pools; see README "Testing"); `make test PYTEST_ARGS="-n 0"` runs in one process
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data/*.db* .pytest_cache
