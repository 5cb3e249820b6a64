# Écluse: the single entry point. `make run` and `make test` work on a fresh machine.
VENV    ?= .venv
PY      := $(VENV)/bin/python
ECLUSE  := $(VENV)/bin/ecluse
STAMP   := $(VENV)/.installed
PYTHON  ?= python3
export ECLUSE_HOME ?= var

.PHONY: dev run test lint format bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

## dev: Python environment plus the system tools the tests use (SoftHSM2, age)
dev: $(STAMP) system-deps

system-deps:
	bash scripts/system-deps.sh

## run: create an instance on the embedded default (SQLite, local key file), self-check it
run: $(STAMP)
	@test -f $(ECLUSE_HOME)/keys/keyring.json || $(ECLUSE) init \
		--admin-email admin@ecluse.localhost --admin-name "Platform Administrator"
	$(ECLUSE) selfcheck
	$(ECLUSE) audit verify
	$(ECLUSE) status

## test: everything, on SQLite and PostgreSQL
test: dev
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/bandit -q -c pyproject.toml -r src

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

## bench: figures beside same-run baselines (see bench/README.md)
bench: dev
	$(PY) -m bench.crypto
	$(PY) -m bench.audit
	$(PY) -m bench.synth
	$(PY) -m bench.policy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
