# Talktrack — `make run` sets everything up and runs the demo; `make test` sets up and tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export NUMBA_CACHE_DIR := $(CURDIR)/var/numba

.PHONY: setup run test test-fast bench lint clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch first, so nothing pulls a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e '.[dev]'
	# Resemblyzer pins webrtcvad, whose sdist no longer builds; webrtcvad-wheels (installed above) provides it.
	$(BIN)/pip install -q --no-deps "resemblyzer==0.1.4"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/talktrack demo --serve

test: setup
	$(BIN)/pytest -q -n 2 --dist loadfile

test-fast: setup
	$(BIN)/pytest -q -m "not ml and not integration"

bench: setup
	$(BIN)/python bench/bench_transcribe.py
	$(BIN)/python bench/bench_embed.py
	$(BIN)/python bench/bench_match.py
	$(BIN)/python bench/bench_search.py

lint: setup
	$(BIN)/ruff check app workers models tests bench

clean:
	rm -rf $(VENV) var
