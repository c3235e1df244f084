# One entry point for people and CI: `make run` (install + a first check), `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO := "Calm down, that's not our policy. I guarantee this will never happen again."

.PHONY: install run test lint prompts bench scan load serve eval lexicon train train-semantic

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The main job on the embedded default (the rules, offline, no API key).
# coach check exits 1 on a blocked reply, which is what this demo shows.
run: install
	$(VENV)/bin/coach check $(DEMO) || [ $$? -eq 1 ]

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Every prompt version renders for every language and channel (exit 1 on a problem).
prompts: install
	$(VENV)/bin/coach prompts check

test: lint prompts
	$(PY) -m pytest

bench: install
	$(PY) bench/bench_check.py
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_api.py
	$(PY) bench/bench_semantic.py
	$(PY) bench/bench_eval.py

# 200 concurrent clients on /v1/check and /v1/feedback for 30 s (loopback only).
load: install
	$(PY) bench/load_api.py

# The gold set through COACH_MODEL (and the rules-coach baseline); results in eval-runs/latest.
eval: install
	$(VENV)/bin/coach eval

serve: install
	$(VENV)/bin/coach serve

# Inflected forms of the <lemma> tokens the packs use (rules/lexicon/*.forms.json).
lexicon: install
	$(PY) -m rules.build_lexicon

# The learned layer's weights (rules/model/detector.npz) from the corpus's train split and
# the packs' examples; thresholds from held-out scores (never the test split).
train: install
	$(PY) -m evals.train

# The meaning layer's weights (rules/model/semantic.npz) from the corpus's train split,
# embedded by multilingual-e5-small (about 12 minutes on two cores; vectors cached in .cache/).
train-semantic: install
	$(PY) -m evals.train_semantic

scan: install
	$(PY) -m evals.real_replies
