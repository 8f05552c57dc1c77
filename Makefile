# Two commands for a student: `make lab` and `make test`. Each sets up .venv by itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8888
LESSONS ?= lessons
# Where the student's own copy of the lessons lives (git-ignored); `make lab` serves it.
WORKSPACE ?= workspace
# Extra pip options, e.g. PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cu128"
PIP_EXTRA ?=

.PHONY: lab reset test lint format strip bench book screenshots classroom clean

# (Re)install only when the dependencies changed, so `make test` is quick the second time.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -c constraints.txt -e ".[test]"
	touch $(STAMP)

# Serve the workspace: new lessons are copied in, nothing saved there is overwritten.
lab: $(STAMP)
	$(BIN)/python -m node_edu.tools.workspace sync --lessons $(LESSONS) --workspace $(WORKSPACE)
	$(BIN)/jupyter lab --ServerApp.ip=$(HOST) --ServerApp.port=$(PORT) --allow-root \
		--ServerApp.root_dir=$(WORKSPACE) --no-browser

# make reset LESSON=04: lesson 04 back to its pristine copy; yours goes to $(WORKSPACE)/backups/
reset: $(STAMP)
	$(BIN)/python -m node_edu.tools.workspace reset $(LESSON) --lessons $(LESSONS) --workspace $(WORKSPACE)

# The classroom test (tests/classroom/) starts a real JupyterHub: jupyterhub and nbgitpuller
# from PyPI (the classroom extra), configurable-http-proxy from npm into build/classroom/.
# Without npm the proxy is not installed and that test skips (CI installs npm). 4.6.3, the
# last of configurable-http-proxy 4, runs on Node 10 and later (5.x asks for Node 20).
CLASSROOM := $(VENV)/.classroom
CHP_VERSION := 4.6.3
CHP := build/classroom/node_modules/.bin/configurable-http-proxy
$(CLASSROOM): $(STAMP)
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -c constraints.txt -e ".[test,classroom]"
	touch $(CLASSROOM)

classroom: $(CLASSROOM)
	@if [ -x $(CHP) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-save --no-audit --no-fund --prefix build/classroom \
			configurable-http-proxy@$(CHP_VERSION); \
	else echo "npm not found: configurable-http-proxy not installed, the JupyterHub test will skip"; fi

test: $(STAMP) classroom lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYDEVD_DISABLE_FILE_VALIDATION=1 \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Remove outputs, execution counts and widget state before committing a lesson.
strip: $(STAMP)
	$(BIN)/nbstripout --extra-keys "metadata.widgets" lessons/*.ipynb

# The peers we compare with (torchode) are an extra: installed here, not for lessons or tests.
# diffrax (JAX) is a further optional extra, compared in benchmark 6 where installed:
#   make bench BENCH_EXTRAS=bench,diffrax
BENCH_EXTRAS ?= bench
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -c constraints.txt -e ".[$(BENCH_EXTRAS)]"
	OMP_NUM_THREADS=2 $(BIN)/python -m benchmarks

# The course as a static site, build/book/ (book/build.py): every lesson executed as shipped,
# figures live, nothing fetched from elsewhere. Lessons run again only when they or the
# library changed (jupyter-cache). HUB_URL adds a JupyterHub launch button (nbgitpuller).
HUB_URL ?=
BOOK_STAMP := $(VENV)/.installed-book
$(BOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -c constraints.txt -e ".[test,book]"
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m book.build --hub-url "$(HUB_URL)"

# The PNGs the README shows (docs/screenshots/), taken in headless Chromium.
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

clean:
	rm -rf $(VENV)
