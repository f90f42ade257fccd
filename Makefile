# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format install clean bench bench-images bench-predict bench-serve bench-brain bench-hebbian

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "brainnet needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)

# Re-install only when the dependency pins or the project metadata change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/brainnet train yeast --out runs/demo-yeast --force

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/tabular.py

bench-images: $(STAMP)
	$(BIN)/python benchmarks/images.py --quality --markdown runs/bench-images.md

# cold start, peak memory and throughput of `brainnet predict`: torch against the exported ONNX graph
bench-predict: $(STAMP)
	$(BIN)/python benchmarks/predict.py

bench-serve: $(STAMP)
	$(BIN)/python benchmarks/serve.py --screenshot docs/serve.png --markdown runs/bench-serve.md

bench-hebbian: $(STAMP)
	$(BIN)/python benchmarks/hebbian.py --markdown runs/bench-hebbian.md

clean:
	rm -rf $(VENV) runs build src/*.egg-info .pytest_cache .ruff_cache

bench-brain: $(STAMP)
	$(BIN)/python benchmarks/brain.py --markdown runs/bench-brain.md --json runs/bench-brain.json

# brainnet's defaults beside five scikit-learn baselines on the nine MULAN sets of ../shared/data, within a
# 90-minute budget (benchmarks/suite.py --help: --sets, --seeds, --methods, --budget-minutes)
.PHONY: bench-suite
bench-suite: $(STAMP)
	$(BIN)/python benchmarks/suite.py --out benchmarks/results/suite
