# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install bench screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch 2.13.0 first: a newer torch would pull several GB of CUDA packages.
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/sentio

# ruff (lint rules in pyproject.toml) first: a finding fails the run before the slower tests.
test: $(STAMP)
	$(PY) -m ruff check .
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/predict_throughput.py

# PNGs of the app for the README (analyses ../shared/data/music into a temp library).
# Both sizes (1440x900 for the README, 1280x720 for laptops); a real X window under Xvfb when installed.
screenshots: $(STAMP)
	if command -v xvfb-run >/dev/null; then \
		QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" $(PY) bench/screenshots.py --size 1440x900 --size 1280x720; \
	else \
		QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) bench/screenshots.py --size 1440x900 --size 1280x720; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info
