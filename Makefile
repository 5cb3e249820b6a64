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

## dev: Python environment plus the system tools used (SoftHSM2, age, OpenSSH's ssh-keygen)
dev: $(STAMP) system-deps

system-deps:
	bash scripts/system-deps.sh

## run: the incident's migration replayed with Écluse in the way (`ecluse demo --keep`: 500,000
## synthetic patients of 28 laboratories, two signed instructions, packages opened with age,
## everything shredded, reports signed off), then `ecluse serve` on it: HTTPS on 8443, SFTP on
## 2222, the worker; prints the URLs, the host key and certificate fingerprints, and one-time
## enrolment codes of accounts to try. Embedded default: SQLite, local key file, local store.
## A second `make run` serves the instance already in $(ECLUSE_HOME).
run: dev
	@if [ -e $(ECLUSE_HOME)/keys/keyring.json ]; then \
		echo "$(ECLUSE_HOME) already holds an instance: serving it"; \
	else \
		$(ECLUSE) demo --keep --output $(ECLUSE_HOME)-demo-reports; \
	fi
	$(ECLUSE) serve

## test: everything, on SQLite and PostgreSQL
test: dev
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/bandit -q -c pyproject.toml -r src

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

## bench: figures beside same-run baselines (see bench/README.md)
bench: dev
	bash scripts/system-deps.sh bench
	$(PY) -m bench.crypto
	$(PY) -m bench.audit
	$(PY) -m bench.synth
	$(PY) -m bench.policy
	$(PY) -m bench.extract
	$(PY) -m bench.api
	$(PY) -m bench.sftp
	$(PY) -m bench.detect

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
