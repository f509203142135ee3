# Quick start: `make run` starts the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint venv bench screenshots package clean

venv: $(STAMP)

# Re-install when the project's metadata changes; editable so `make run` uses the working tree.
$(STAMP): pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test,lint]'
	touch $(STAMP)

run: $(STAMP)
	$(VPY) tools/check_qt_libs.py
	$(VPY) -m resnet_desktop

# ruff (lint + format check), import-linter contracts, mypy (settings in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(VPY) -m pip install -q -e '.[test,package]'
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(VPY) benchmarks/throughput.py

screenshots: $(STAMP)
	$(VPY) tools/screenshots.py docs/screenshots
	$(VPY) tools/lab_screenshots.py docs/screenshots

package: $(STAMP)
	$(VPY) -m pip install -q -e '.[package]'
	$(VPY) packaging/build.py $(if $(WEIGHTS),--weights $(WEIGHTS),)

clean:
	rm -rf build dist .pytest_cache
