# Two commands do everything on a fresh machine:
#   make book   create .venv, install the pinned requirements and gmm, build _build/html
#   make test   the same set-up, then lint, library tests, nbval, strict build, browser test
# Also: make lab, make notebooks, make requirements, make screenshot, make clean.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the pinned requirements or the package metadata change.
STAMP := $(VENV)/.installed-stamp
LAB_STAMP := $(VENV)/.lab-installed-stamp
BUILD := _build
HTML := $(BUILD)/html
# --all: re-read every page, so every notebook is executed against the current gmm/.
BOOK_FLAGS := --all --warningiserror --nitpick --keep-going

# `step NAME COMMAND...`: run a step, print its wall time, stop make on failure.
define step
	@echo ""
	@echo "==== $(1)"
	@start=$$(date +%s); $(2); echo "==== $(1): done in $$(( $$(date +%s) - start )) s"
endef

.PHONY: book test lint test-library test-notebooks test-browser build-book lab notebooks \
        requirements screenshot clean venv

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The last line builds matplotlib's font cache now: its one-time notice on stderr would
# otherwise land in the first executed notebook (a build warning, and an nbval difference).
$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

build-book: $(STAMP)
	$(call step,strict book build,$(BIN)/jupyter-book build $(BOOK_FLAGS) .)

book: build-book
	@echo ""
	@echo "The book is built. Open it in a browser:"
	@echo "    file://$(CURDIR)/$(HTML)/index.html"

lint: $(STAMP)
	$(call step,ruff,$(BIN)/ruff check .)

test-library: $(STAMP)
	$(call step,library tests (pytest tests/),$(BIN)/python -m pytest tests --ignore=tests/browser)

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

test-notebooks: $(STAMP)
	$(call step,stored outputs are current (nbval),$(BIN)/python -m pytest $(NBVAL_FLAGS) chapters/)

test-browser: $(STAMP)
	$(call step,real browser over every page,$(BIN)/python -m pytest tests/browser)

# Order matters: the browser test reads the book this build writes.
test: $(STAMP)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-library
	@$(MAKE) --no-print-directory test-notebooks
	@$(MAKE) --no-print-directory build-book
	@$(MAKE) --no-print-directory test-browser
	@echo ""
	@echo "All tests passed."

$(LAB_STAMP): requirements-lab.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-lab.txt
	touch $(LAB_STAMP)

# Jupyter refuses to run as root without being told (containers, CI machines).
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) chapters/

# Re-execute every chapter in place (after a change to gmm/ or a chapter), so that the stored
# outputs are those of the current code. nbval then checks them.
notebooks: $(STAMP)
	$(call step,execute chapters,$(BIN)/python .ci/execute_notebooks.py)

# The README's picture of a rendered chapter, from the built book (headless Chromium, offline).
SCREENSHOT_PAGE ?= chapters/02_marginal_and_responsibilities
screenshot: $(STAMP)
	$(BIN)/python .ci/screenshot.py $(SCREENSHOT_PAGE) images/screenshot.png

# Regenerate the pins from requirements.in in a throw-away venv, so that packages installed
# by hand (or by `make lab`) do not leak into requirements.txt.
requirements:
	rm -rf $(BUILD)/freeze-venv
	$(PYTHON) -m venv $(BUILD)/freeze-venv
	$(BUILD)/freeze-venv/bin/python -m pip install --quiet --upgrade pip
	$(BUILD)/freeze-venv/bin/python -m pip install --quiet -r requirements.in
	$(BUILD)/freeze-venv/bin/python -m pip freeze --exclude-editable > requirements.txt
	rm -rf $(BUILD)/freeze-venv
	@echo "requirements.txt regenerated; commit it, then run make notebooks and make test."

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache .hypothesis .jupyter_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
