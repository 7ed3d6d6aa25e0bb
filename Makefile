# Everything runs inside .venv, created on first use from a fresh machine.
PYTHON ?= python3
VENV ?= .venv
# The CPU wheel of torch lies on this machine's disk; any other spec pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test docs lint demo bench bench-fidelity clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The notebooks run in their quick mode (TSVAE_QUICK=1, read in each first cell): the same code
# on tiny settings. Run them as the docs do, full size, with `pytest --nbmake notebooks`.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow" --durations=20
	TSVAE_QUICK=1 $(BIN)/python -m pytest -q --nbmake --nbmake-timeout=600 --durations=20 notebooks
	$(MAKE) docs

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/tsvae demo

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/windows_memory.py
	$(BIN)/python benchmarks/evaluation_speed.py --compare
	$(BIN)/python benchmarks/output_grid.py
	$(BIN)/python benchmarks/generation_speed.py
	$(BIN)/python benchmarks/training_throughput.py
	$(BIN)/python benchmarks/large_input_memory.py
	$(BIN)/python benchmarks/large_input_memory.py --rows 2000000 --features 16 --n-past 64

bench-fidelity: $(STAMP)
	$(BIN)/python benchmarks/fidelity.py

clean:
	rm -rf $(VENV) build *.egg-info site
