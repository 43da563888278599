# Python 3.12 comes from pyenv (the machine's default python3 is too old for port-ocean).
PYTHON_VERSION := $(shell cat .python-version)
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/$(PYTHON_VERSION)/bin/python) $(shell command -v python3.12))
POETRY_VERSION := 2.5.1
POETRY := $(PYTHON) -m poetry
VENV := .venv
BIN := $(VENV)/bin
export POETRY_VIRTUALENVS_IN_PROJECT := true

.PHONY: install run test lint format demo bench bench-small bench-memory docker-check clean

$(BIN)/.installed: pyproject.toml poetry.lock
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))"; exit 1; }
	@$(POETRY) --version 2>/dev/null | grep -q "$(POETRY_VERSION)" || $(PYTHON) -m pip install --quiet "poetry==$(POETRY_VERSION)"
	$(POETRY) env use $(PYTHON)
	$(POETRY) install --no-root --no-interaction
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/ocean sail .

demo: install
	PYTHONPATH=. $(BIN)/python -m sandbox.demo

# Full resync vs its floors, memory at 25k/50k/100k incidents, incident storms,
# steady state, actions burst (~75 min).
bench: install
	PYTHONPATH=. $(BIN)/python -m sandbox.bench --services 2000 --incidents 50000 --output bench-results/bench.json

# The same scenarios, smaller (a few minutes).
bench-small: install
	PYTHONPATH=. $(BIN)/python -m sandbox.bench --services 200 --incidents 5000 \
		--storm-incidents 200 --storm-deliveries 1000 --storm-seconds 12 \
		--steady-idle-seconds 30 --steady-changes 10 --steady-change-seconds 20 \
		--memory-incidents 2500,10000 --output bench-results/bench-small.json

# Only the memory part of `make bench`: full resyncs vs Ocean core's floor at 25k,
# 50k and 100k incidents (~50 min).
bench-memory: install
	PYTHONPATH=. $(BIN)/python -m sandbox.bench --scenarios memory --services 2000 \
		--incidents 50000 --memory-incidents 25000,100000 --output bench-results/bench-memory.json

# End-to-end tests mostly wait on real time (shift ends, windows, processes), so
# three workers fit two cores; each test file stays on one worker (its stack).
test: install
	$(BIN)/pytest -n 3 --dist loadfile --durations=15

lint: install
	$(BIN)/python scripts/check_structure.py
	$(BIN)/ruff check .
	$(BIN)/black --check .
	$(BIN)/mypy .
	$(BIN)/yamllint -s .
	$(BIN)/hadolint Dockerfile

docker-check: install
	PYTHON=$(PYTHON) scripts/check-docker-steps

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/black .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
