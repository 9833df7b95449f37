# Two commands on a fresh machine: `make run` and `make test`. Everything else is what they call.
SHELL := /bin/bash
# The app runs on Python 3.13 (the Functions runtime it is tested in needs it): python3.13 on PATH, else pyenv's.
PYTHON ?= $(shell for p in python3.13 $$(ls -d "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 \
  2>/dev/null | sort -rV); do "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && \
  { command -v "$$p"; break; }; done)
# checkov runs in a venv of its own, on whatever python3 the machine has.
CHECKOV_PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
AZURITE := tools/azurite/node_modules/.bin/azurite

.PHONY: install system run test test-unit lint serve clean bench

install: system $(VENV)/.installed $(AZURITE) $(CHECKOV_VENV)/.installed

# espeak-ng + sox make the test audio, libvo-amrwbenc0 encodes the AMR-WB test file (no other encoder
# here has AMR-WB); installed from Debian when missing (needs root, as on CI). Test-only, not deployed.
system:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null && ldconfig -p | grep -q libvo-amrwbenc || { \
	  echo "installing espeak-ng, sox and libvo-amrwbenc0 (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox libvo-amrwbenc0 \
	    >/dev/null; }

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 is needed: install it (pyenv install 3.13) or put python3.13 on PATH" >&2; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Azurite 3.37.0 pinned: it pairs with azure-storage-blob 12.31 (user-delegation SAS).
$(AZURITE): tools/azurite/package.json tools/azurite/package-lock.json
	cd tools/azurite && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov pins many packages of its own: it gets its own venv so it cannot disturb the app's.
$(CHECKOV_VENV)/.installed:
	$(CHECKOV_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q "checkov==$(CHECKOV_VERSION)"
	touch $@

# Drop samples/ into the app running inside the Functions runtime (local stack + host stand-in); prints the
# transcripts its blob trigger wrote.
run: install
	$(PY) -m local_stack run samples

# The app inside the Functions runtime on http://127.0.0.1:7071/api (as `func start` serves it), with the local
# stack; prints local.settings.json. Ctrl-C or SIGTERM stops it all.
serve: install
	$(PY) -m local_stack serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install lint
	$(PY) -m pytest

# The tests that start no process of their own (no stack, no emulator): a minute or so, for a quick loop.
test-unit: $(VENV)/.installed
	$(PY) -m pytest -m "not stack"

# Benchmarks (docs/performance.md): they print figures and write bench/out/; not pass/fail. On 2 cores
# the memory run (BENCH_N invocations x 4 variants) takes 30-50 minutes, the peak runs (PEAK_FILES:
# FORMAT:MINUTES, each format's short file first) 30-40 minutes. PEAK_SETTINGS passes app settings to
# the peak runs, e.g. PEAK_SETTINGS="--setting SPEECH_SEND_FAST=false".
BENCH_N ?= 500
PEAK_FILES ?= wav:1 wav:30 wav:120 mp3:1 mp3:120 m4a:1 m4a:120
PEAK_SETTINGS ?=
bench: install
	$(PY) -m bench.cold_import --runs 15
	$(PY) -m bench.runtime
	$(PY) -m bench.overhead
	$(PY) -m bench.peak_rss $(addprefix --make ,$(PEAK_FILES)) $(PEAK_SETTINGS)
	$(PY) -m bench.memory --n $(BENCH_N)
	$(PY) -m bench.concurrency
	$(PY) -m bench.burst
	$(PY) -m bench.capacity

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) tools/azurite/node_modules .pytest_cache .ruff_cache
