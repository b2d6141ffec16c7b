# VinaSmol RAG. Two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
DATA ?= ../shared/data/xquad-vi

.PHONY: help install run test lint format bench-retrieval bench-rag clean

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

run: $(STAMP)  ## load the demo knowledge base if empty, then answer questions typed here
	$(BIN)/vinarag demo
	$(BIN)/vinarag chat

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint:  $(STAMP) ## ruff check + format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)  ## ruff format + autofix
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench-rag: $(STAMP)  ## the whole graph on the shared XQuAD-vi paragraphs (JSON in reports/)
	$(BIN)/vinarag eval rag --corpus $(DATA)/corpus.jsonl --queries $(DATA)/queries.jsonl --json reports/rag-paragraphs.json

bench-retrieval: $(STAMP)  ## retrieval benchmark on the shared XQuAD-vi sets (JSON in reports/)
	$(BIN)/vinarag eval retrieval --corpus $(DATA)/sentences_corpus.jsonl --queries $(DATA)/sentences_queries.jsonl --json reports/retrieval-sentences.json
	$(BIN)/vinarag eval retrieval --corpus $(DATA)/corpus.jsonl --queries $(DATA)/queries.jsonl --json reports/retrieval-paragraphs.json

clean:  ## remove the virtual environment and local data
	rm -rf $(VENV) data reports
