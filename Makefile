# The README's two commands are `make demo` and `make test`; each creates or refreshes .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Train DBNet on synthetic pages (CPU, at most 10 min), then test it: a live dashboard in a terminal, headless otherwise.
demo: $(STAMP)
	$(BIN)/ocrtop train experiment=dbnet_cpu_10min

## The whole test suite, slow end-to-end tests included (what CI runs).
test: $(STAMP)
	./scripts/ensure-test-tools.sh
	$(BIN)/python -m pytest -q

## Fast tests only.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ocrtop   # ocrtop/ocr, ocrtop/bridge, ... are symlinks: every module once, as ocrtop.*
	$(BIN)/lint-imports

## Every benchmark script in turn (long: tens of minutes on 2 cores); figures in BENCHMARKS.md.
bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; OMP_NUM_THREADS=1 $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) outputs multirun
