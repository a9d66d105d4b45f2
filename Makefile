# Two commands do everything on a fresh machine:
#   make book   create .venv, install the pinned requirements and gmm, render the chapters'
#               stored outputs into _build/html (strict build; no chapter is executed)
#   make test   the same set-up, then lint, library tests, nbval (every chapter executed once,
#               under another BLAS kernel than make notebooks), strict build, browser test
# Also: make lab, make notebooks, make requirements, make screenshot, make clean.
#
# Every step prints one line saying what it does and how long it usually takes, and when it is
# done, how long it took. "Usually" is a fresh 2-core machine with a fast network.

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
# --all: re-read every page. The build renders the outputs stored in the notebooks
# (_config.yml: execute_notebooks: "off"); make test proves them current with nbval first.
BOOK_FLAGS := --all --warningiserror --nitpick --keep-going
# nbval runs the chapters under another BLAS set-up than make notebooks stored them with (another
# OpenBLAS kernel, one thread), so that an output that depends on the machine fails here rather
# than on a reader's machine. Sandybridge (AVX) runs on every x86-64 CPU of the last decade.
NBVAL_BLAS ?= OPENBLAS_CORETYPE=Sandybridge OPENBLAS_NUM_THREADS=1
PIP := $(BIN)/python -m pip

# `step NAME,USUAL,COMMAND`: say what runs and how long it usually takes, run it, say how long
# it took; a failure stops make. (No commas inside NAME or USUAL.)
SETUP_3 := set-up 3/4: the ~120 pinned packages of requirements.txt; pip's progress follows
SETUP_4 := set-up 4/4: gmm from this checkout (editable) and matplotlib's font cache
BUILD_STEP := strict book build: renders the outputs stored in chapters/*.ipynb; executes nothing
NBVAL_STEP := stored outputs are current: nbval executes every chapter once and compares all outputs

define step
	@echo ""
	@echo "==== $(1) (usually $(2))"
	@start=$$(date +%s); $(3); echo "==== $(1): done in $$(( $$(date +%s) - start )) s"
endef

.PHONY: book test lint test-library test-notebooks test-browser build-book lab notebooks \
        requirements screenshot clean venv blas-report

venv: $(STAMP)

$(BIN)/python:
	$(call step,set-up 1/4: a virtual environment in $(VENV),5 s,$(PYTHON) -m venv $(VENV))

# The last step builds matplotlib's font cache now: its one-time notice on stderr would
# otherwise land in the first executed notebook (a build warning, and an nbval difference).
$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(call step,set-up 2/4: the newest pip,10 s,$(PIP) install --upgrade pip)
	$(call step,$(SETUP_3),1-3 min; most of it downloading ~400 MB,$(PIP) install -r requirements.txt)
	$(call step,$(SETUP_4),15 s,$(PIP) install --no-deps -e . && $(BIN)/python -c "import matplotlib.pyplot")
	touch $(STAMP)

build-book: $(STAMP)
	$(call step,$(BUILD_STEP),1-2 min,$(BIN)/jupyter-book build $(BOOK_FLAGS) .)

book: build-book
	@echo ""
	@echo "The book is built from the stored notebooks. Open it in a browser:"
	@echo "    file://$(CURDIR)/$(HTML)/index.html"
	@echo "(make test proves the stored outputs are what the current gmm/ produces.)"

lint: $(STAMP)
	$(call step,ruff check (library tests and notebooks),2 s,$(BIN)/ruff check .)

test-library: $(STAMP)
	$(call step,library tests (pytest tests/ without tests/browser),2-3 min,$(BIN)/python -m pytest tests --ignore=tests/browser)

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# Which BLAS the kernels get: make notebooks' (the machine's default) and nbval's.
blas-report: $(STAMP)
	@printf "BLAS for make notebooks: "; $(BIN)/python .ci/blas.py
	@printf "BLAS for nbval:          "; env $(NBVAL_BLAS) $(BIN)/python .ci/blas.py

test-notebooks: $(STAMP)
	@$(MAKE) --no-print-directory blas-report
	$(call step,$(NBVAL_STEP),3-5 min,env $(NBVAL_BLAS) $(BIN)/python -m pytest $(NBVAL_FLAGS) chapters/)

# The JupyterLab check (tests/browser/test_jupyterlab.py) needs requirements-lab.txt.
test-browser: $(LAB_STAMP)
	$(call step,real browser over every page and JupyterLab,3-5 min,$(BIN)/python -m pytest tests/browser)

# Order matters: nbval proves the stored outputs current before the build renders them, and
# the browser test reads the book this build writes.
test: $(STAMP)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-library
	@$(MAKE) --no-print-directory test-notebooks
	@$(MAKE) --no-print-directory build-book
	@$(MAKE) --no-print-directory test-browser
	@echo ""
	@echo "All tests passed."

$(LAB_STAMP): requirements-lab.txt $(STAMP)
	$(call step,JupyterLab (requirements-lab.txt),1 min,$(PIP) install -r requirements-lab.txt)
	touch $(LAB_STAMP)

# Jupyter refuses to run as root without being told (containers, CI machines).
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) chapters/

# Re-execute every chapter in place (after a change to gmm/ or a chapter), so that the stored
# outputs are those of the current code; nbval then checks them. Stores no timestamps or
# per-run ids: executing twice in a row changes no byte.
notebooks: $(STAMP)
	$(call step,execute every chapter and store its outputs,3-5 min,$(BIN)/python .ci/execute_notebooks.py)

# The README's picture of a rendered chapter, from the built book (headless Chromium, offline).
SCREENSHOT_PAGE ?= chapters/02_marginal_and_responsibilities
screenshot: $(STAMP)
	$(BIN)/python .ci/screenshot.py $(SCREENSHOT_PAGE) images/screenshot.png

# Regenerate the pins from requirements.in in a throw-away venv, so that packages installed
# by hand (or by `make lab`) do not leak into requirements.txt.
requirements:
	rm -rf $(BUILD)/freeze-venv
	$(PYTHON) -m venv $(BUILD)/freeze-venv
	$(BUILD)/freeze-venv/bin/python -m pip install --upgrade pip
	$(BUILD)/freeze-venv/bin/python -m pip install -r requirements.in
	$(BUILD)/freeze-venv/bin/python -m pip freeze --exclude-editable > requirements.txt
	rm -rf $(BUILD)/freeze-venv
	@echo "requirements.txt regenerated; commit it, then run make notebooks and make test."

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache .hypothesis .jupyter_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
