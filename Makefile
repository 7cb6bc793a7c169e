# Set-up and entry points. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
# numba kernels (speech features) compile once at install and are cached here.
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export MPLBACKEND := Agg
CORES ?= 2

.PHONY: install demo test lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch first, pinned, with pip (it honours the machine's pip configuration, such as a
	# local CPU wheel): a bare torch requirement would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	# the ~130 other packages with uv, which downloads and installs in parallel (the same
	# versions as pip, in a fraction of its time: benchmarks/RESULTS.md); pip where uv cannot
	# be installed. Bytecode is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE
	# is set (as on CI machines), every job process would otherwise compile every module it
	# imports (the suite took 1.5x the CPU).
	if $(PY) -m pip install --quiet uv==0.13.9; then \
	  $(PY) -m uv pip install --quiet --compile-bytecode --python $(PY) -e ".[dev]"; \
	else \
	  $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -e ".[dev]"; \
	fi
	# psymodal's own modules too (an editable install compiles nothing)
	$(PY) -m compileall -q src
	# compile the speech features' numba kernels now, not on the first recording of a run
	$(PY) -m psymodal.speech.warmup
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/snakemake --cores $(CORES)

# two pytest-xdist workers; modules sharing the small demo run stay on one worker (tests/conftest.py)
TEST_WORKERS ?= 2
test: install
	$(VENV)/bin/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadscope

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(VENV)/bin/snakemake --lint

clean:
	rm -rf results resources .snakemake
