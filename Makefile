# The developer front door. `make help` lists the targets; CI runs `bash .ci/run`
# (setup, lint, type, test), the same scripts as below.
PY := .venv/bin/python
NVIM := .venv/bin/nvim
STYLUA := .ci/tools/node_modules/.bin/stylua

.PHONY: help setup lint format type test-fast test doc check

help:
	@echo "make setup      .venv with everything, StyLua and luacheck (.ci/setup)"
	@echo "make lint       ruff, StyLua --check, luacheck (.ci/lint)"
	@echo "make format     StyLua on lua/ and plugin/"
	@echo "make type       mypy: the package strict, tests and benchmarks lighter (.ci/type)"
	@echo "make test-fast  tests without a real model, llama-server or Neovim (under a minute or two)"
	@echo "make test       the whole suite (about 6 minutes on 2 cores)"
	@echo "make doc        regenerate doc/tags after editing doc/localllm.txt"
	@echo "make check      lint, type and test-fast"

setup:
	bash .ci/setup

lint:
	bash .ci/lint

format:
	$(STYLUA) lua plugin

type:
	bash .ci/type

test-fast:
	$(PY) -m pytest -q -m "not model and not nvim"

test:
	$(PY) -m pytest -q

# As tests/test_docs.py checks it: what `:helptags doc` makes from a clean Neovim.
doc:
	$(NVIM) --clean --headless -c 'helptags doc' -c 'qa!'

check: lint type test-fast
