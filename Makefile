# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates the virtual environment, installs the package with every extra and the
# Debian packages the BLE and browser tests need, then runs.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

demo: venv system-deps
	$(PY) scripts/demo.py --out demo-output

test: venv system-deps
	$(PY) -m ruff check lmdetect firmware_sim tests benchmarks scripts
	$(PY) -m mypy
	$(PY) -m pytest -q

bench: venv
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/accuracy.py --quick

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
