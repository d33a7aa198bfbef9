# sigma.media_server: build, test and demo entry points.
# The logic lives in scripts/; `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
export PYTHON

VENV_STAMP    := .venv/.stamp
VENV221_STAMP := .venv-2.21/.stamp
VENVNOX_STAMP := .venv-nox/.stamp
VENVFLOOR_STAMP := .venv-floor/.stamp
VENVEDA_STAMP := .venv-eda/.stamp
VENVAWXEE_STAMP := .venv-awx-ee/.stamp
CI            := python3 scripts/ci.py
EMULATOR_DEPS := $(wildcard emulator/pyproject.toml emulator/sigma_emulator/*.py)

.PHONY: help venv test demo sanity sanity-2.19 sanity-2.21 units integration eda lint docs \
        changelog galaxy ee build fleet-up fleet-down bench bench-quick clean

help:
	@echo "make demo         install the collection and show it at work on an emulated fleet (scripts/demo.sh)"
	@echo "make test         everything CI runs (the nox sessions of noxfile.py, in two lanes, with a"
	@echo "                  summary of steps and seconds): scripts/ci.py; scripts/ci.py --list lists the steps"
	@echo "make venv         create .venv (3.11, ansible-core 2.19), .venv-2.21 (3.13, ansible-core 2.21)"
	@echo "                  .venv-floor (3.11, ansible-core 2.17, the oldest requests/urllib3), .venv-nox (nox)"
	@echo "                  .venv-eda (ansible-rulebook) and .venv-awx-ee (ansible-core 2.18, as AWX's EE)"
	@echo "make sanity       ansible-test sanity on both ansible-core versions"
	@echo "make units        ansible-test units"
	@echo "make integration  ansible-test integration against the emulated fleet"
	@echo "make lint         ansible-lint --profile production, antsibull-docs and changelog lint"
	@echo "make build        build the collection tarball into build/"
	@echo "make galaxy       build the tarball and check it with galaxy-importer"
	@echo "make ee           ansible-builder create (execution environment context)"
	@echo "make fleet-up     start the emulated fleet in the background (state in build/fleet)"
	@echo "make fleet-down   stop it"
	@echo "make bench        run bench/run.py (bench-quick: --quick; BENCH_ARGS=... adds options)"
	@echo "make clean        remove venvs, build/ and test output"

# ---------------------------------------------------------------- venvs
# Stamp files: a venv is (re)built only when it is missing or its pinned
# requirements changed, so a second `make test` installs nothing.
$(VENV_STAMP): requirements-dev.txt $(EMULATOR_DEPS)
	@bash scripts/venv.sh dev

$(VENV221_STAMP): requirements-2.21.txt
	@bash scripts/venv.sh 2.21

$(VENVFLOOR_STAMP): requirements-floor.txt
	@bash scripts/venv.sh floor

$(VENVNOX_STAMP): requirements-nox.txt
	@bash scripts/venv.sh nox

$(VENVEDA_STAMP): tests/eda/requirements.txt
	@bash scripts/venv.sh eda

$(VENVAWXEE_STAMP): requirements-awx-ee.txt
	@bash scripts/venv.sh awx-ee

venv: $(VENV_STAMP) $(VENV221_STAMP) $(VENVFLOOR_STAMP) $(VENVNOX_STAMP) $(VENVEDA_STAMP) $(VENVAWXEE_STAMP)

# ---------------------------------------------------------------- tests
test: venv
	@$(CI)

sanity: venv
	@$(CI) sanity-2.19 sanity-2.21

sanity-2.19 sanity-2.21 units integration eda docs changelog galaxy ee: venv
	@$(CI) $@

lint: venv
	@$(CI) lint docs changelog

# ---------------------------------------------------------------- demo
build: $(VENV_STAMP)
	@bash scripts/build.sh

demo: $(VENV_STAMP)
	@bash scripts/demo.sh

fleet-up: $(VENV_STAMP)
	@bash scripts/fleet.sh start build/fleet tests/integration/fleet.yml tests/integration/integration_config.yml
	@echo "stop it with: make fleet-down"

fleet-down:
	@bash scripts/fleet.sh stop build/fleet

# ---------------------------------------------------------------- bench
BENCH_ARGS ?=
bench: $(VENV_STAMP)
	@bash scripts/bench.sh $(BENCH_ARGS)

bench-quick: $(VENV_STAMP)
	@bash scripts/bench.sh --quick $(BENCH_ARGS)

# ---------------------------------------------------------------- clean
clean: fleet-down
	rm -rf .venv .venv-2.21 .venv-floor .venv-nox .venv-eda .venv-awx-ee .nox build tests/output .ansible .pytest_cache \
	  tests/integration/integration_config.yml emulator/*.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
