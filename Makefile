# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test bench venv clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)  ## the whole platform locally, in the foreground (Ctrl-C stops it)
	$(PY) dev/run_local.py

test: $(STAMP)  ## every test: domain, API on moto, local stack, browser
	$(PY) -m pytest -q

bench: $(STAMP)  ## benchmarks, each printing BENCH <name> ratio=<x> budget=<y>
	@for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
