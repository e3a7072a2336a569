# The two commands: `make run` starts the whole suite, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint typecheck pytest bench soak clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "uv==0.13.9"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml */*/pyproject.toml
	$(UV) sync --frozen --all-packages --python $(BIN)/python
	touch $@

run: $(VENV)/.synced
	$(BIN)/python -m devstack up

test: $(VENV)/.synced lint typecheck pytest

lint: $(VENV)/.synced
	$(BIN)/ruff check .

typecheck: $(VENV)/.synced
	$(BIN)/mypy

pytest: $(VENV)/.synced
	$(BIN)/pytest

bench: $(VENV)/.synced
	$(BIN)/python -m bench

# Ten minutes of mixed traffic on a suite of its own: zero errors, memory flat within 10%.
soak: $(VENV)/.synced
	$(BIN)/python -m bench.soak --minutes 10

clean:
	rm -rf $(VENV) .devstack
