# k8snetviz: the two set-up commands and every test layer of CONTRIBUTING.md ("Tests, in layers").
#
#   make lab     create .venv, install the package and its tools, open JupyterLab on the start notebook
#   make test    the same set-up, then every test layer that exists so far (CI runs this via .ci/run)
#   make bench   the benchmarks in benchmarks/ (they print numbers; not part of make test)
#   make site    the course as a static JupyterLite site in build/site (any static host serves it)
#
# Works on a fresh Debian machine with only Python and apt: missing Debian packages are installed with
# apt-get when run as root, otherwise one line says what to install.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
# Every recipe is one shell script (.ONESHELL), which GNU make has from 3.82; macOS ships 3.81.
ifeq ($(filter oneshell,$(.FEATURES)),)
$(error this Makefile needs GNU make 3.82 or later; on macOS: brew install make, then run gmake)
endif
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Re-install only when pyproject.toml or the lock changes: a second `make lab` or `make test` starts at once.
# `make lab` installs the light `course` extra; `make test` (and check, bench) the `test` extra.
STAMP_COURSE := $(VENV)/.k8snetviz-course
STAMP := $(VENV)/.k8snetviz-test
# Exact versions of every dependency, for the Python version its first line names (make lock rewrites it).
LOCK := constraints.txt
RESULTS := build/test-results
NOTEBOOK := notebooks/00-start-here.ipynb

# Debian packages as PROBE=PACKAGE: a command on PATH (or /usr/sbin) or a path that the package installs.
DEBS_LAB := dot=graphviz ipset=ipset
DEBS_TEST := $(DEBS_LAB) /usr/bin/chromium=chromium \
	/usr/share/fonts/truetype/liberation=fonts-liberation \
	ip=iproute2 iptables=iptables /usr/lib/cni/bridge=containernetworking-plugins \
	ping=iputils-ping zsh=zsh nft=nftables nfacct=nfacct $(DEBS_SITE)
# make site runs npm (the Pyodide core, esbuild) and Pyodide itself in Node.js (its bytecode compiler).
DEBS_SITE := node=nodejs npm=npm

# The static site (make site): its own build environment and npm packages, rebuilt only when an input
# changed (the stamp is written last, inside build/site).
SITE := build/site
SITE_STAMP := $(SITE)/.built
SITE_VENV := .venv-site
SITE_NPM := site/node_modules/.k8snetviz-npm
SITE_INPUTS := $(shell find k8snetviz notebooks tests/data/dumps site/lite -type f -not -path '*/__pycache__/*' 2>/dev/null) \
	site/build.py site/lock.py site/pycompile.mjs site/pyodide-packages.txt \
	pyproject.toml setup.py MANIFEST.in README.md LICENSE tools/links.py

.PHONY: help lab test check bench fuzz setup setup-course lock instructor binder-url colab-url hub-url \
	test-lowest debs-lab debs-test debs-site site bundle \
	test-lint test-unit test-packaging test-notebooks test-ui test-site test-lab clean distclean

help:
	@echo "make lab      set up .venv and open JupyterLab on $(NOTEBOOK)"
	@echo "make test     set up, then run every test layer (CI=true: no layer may skip)"
	@echo "make check    the inner loop: ruff, mypy on the package and benchmarks, the unit tests"
	@echo "make bench    run every benchmarks/*.py script"
	@echo "make fuzz     the property-based fuzz of loading and the CLI with a large budget (FUZZ_EXAMPLES=2000)"
	@echo "make lock     re-resolve every dependency and rewrite $(LOCK)"
	@echo "make test-lowest  the unit tests with every dependency at its lower bound (.venv-lowest)"
	@echo "make instructor  instructor copies of the notebooks, solutions revealed, in build/instructor/"
	@echo "make site    the course as a static JupyterLite site in $(SITE) (runs offline in any browser)"
	@echo "make bundle  rebuild the diagram widget's Graphviz (k8snetviz/widgets/static/graphviz.js) from site/"
	@echo "make binder-url   the Binder link of this clone (from its origin remote); colab-url, hub-url HUB=https://..."
	@echo "make clean    remove build output and caches; make distclean also removes .venv"

# ---------------------------------------------------------------------------------------------- set-up

$(PY):
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then
	  pkg="python$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	    echo "==> installing $$pkg (python3 -m venv needs it)"
	    export DEBIAN_FRONTEND=noninteractive
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends "$$pkg" >/dev/null
	  else
	    echo "make: $(PYTHON) cannot create a virtual environment; install it with: sudo apt-get install $$pkg"
	    exit 1
	  fi
	fi
	echo "==> creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)

# install_extra EXTRA WHAT: pip install -e '.[EXTRA]' with pip's own progress, pinned by the lock when it
# was made for this Python (otherwise from the lower bounds in pyproject.toml).
define install_extra
	lock_py=$$(sed -n '1s/.*python \([0-9.]*\).*/\1/p' $(LOCK))
	venv_py=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	pin=""
	if [ "$$lock_py" = "$$venv_py" ]; then pin="-c $(LOCK)"
	else echo "==> $(LOCK) is for Python $$lock_py, this is $$venv_py: installing the newest releases that fit"; fi
	echo "==> installing k8snetviz (editable) with $(2) into $(VENV); the first time takes a few minutes"
	$(PY) -m pip install --disable-pip-version-check $$pin -e '.[$(1)]'
	echo "==> installed: $$($(PY) -m pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l) packages in $(VENV)"
endef

$(STAMP_COURSE): pyproject.toml $(LOCK) | $(PY)
	@$(call install_extra,course,JupyterLab (the course extra))
	touch $@

$(STAMP): pyproject.toml $(LOCK) | $(PY)
	@$(call install_extra,test,every test tool (the test extra))
	touch $@ $(STAMP_COURSE)

setup-course: $(STAMP_COURSE)
setup: $(STAMP)

# The lock: resolve the test extra (which includes the course and lab extras) afresh in a throw-away
# environment and record every version. Binder (binder/requirements.txt) and CI (make test) install with it.
lock: | $(PY)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT
	$(PYTHON) -m venv "$$tmp/venv"
	echo "==> resolving the newest releases of every dependency"
	"$$tmp/venv/bin/pip" install --disable-pip-version-check -q -e '.[test]'
	{ echo "# The lock: exact versions for python $$("$$tmp/venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') (Binder's runtime.txt, CI). make lock rewrites it;"
	  echo "# pyproject.toml keeps lower bounds only. Used as pip -c: it pins, it does not install."
	  "$$tmp/venv/bin/pip" freeze --disable-pip-version-check --exclude-editable | grep -v -i '^k8snetviz\b' | LC_ALL=C sort -f; } > $(LOCK)
	echo "==> wrote $(LOCK): $$(grep -c '==' $(LOCK)) pinned packages"

# Installs the Debian packages named in $(1) that are missing; apt-get update only when one is.
define install_debs
	missing=""
	for pair in $(1); do
	  probe=$${pair%%=*}; pkg=$${pair#*=}
	  case "$$probe" in
	    /*) [ -e "$$probe" ] || missing="$$missing $$pkg" ;;
	    *) PATH="$$PATH:/usr/sbin:/sbin" command -v "$$probe" >/dev/null || missing="$$missing $$pkg" ;;
	  esac
	done
	if [ -n "$$missing" ]; then
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	    echo "==> installing Debian packages:$$missing"
	    export DEBIAN_FRONTEND=noninteractive
	    apt-get update -qq
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null
	  else
	    echo "make: missing Debian packages:$$missing ($(2)); install them with: sudo apt-get install$$missing"
	  fi
	fi
endef

debs-lab:
	@$(call install_debs,$(DEBS_LAB),graphviz draws the diagrams)

debs-test:
	@$(call install_debs,$(DEBS_TEST),their test layers will skip)

debs-site:
	@$(call install_debs,$(DEBS_SITE),make site needs Node.js and npm)

# ------------------------------------------------------------------------------------------------- lab

# JupyterLab rooted at the repository (README, notebooks and scenarios in its file browser), opening the
# start notebook. root_dir is explicit: given only a file, Jupyter roots itself in the file's folder.
lab: setup-course debs-lab
	@root_flag=""; [ "$$(id -u)" = 0 ] && root_flag="--allow-root"
	echo "==> starting JupyterLab on $(NOTEBOOK) (Ctrl-C twice to stop)"
	exec $(BIN)/jupyter lab $$root_flag --ServerApp.root_dir="$(CURDIR)" $(NOTEBOOK)

# Instructor copies of the notebooks with the solutions revealed (tools/instructor.py); build/ is not
# committed. Standard library only: no set-up needed.
instructor:
	@$(PYTHON) tools/instructor.py

# Links that open the course, built from this clone's origin remote (tools/links.py): a fork gets its own.
binder-url:
	@$(PYTHON) tools/links.py binder
colab-url:
	@$(PYTHON) tools/links.py colab
hub-url:
	@[ -n "$(HUB)" ] || { echo "make hub-url HUB=https://your-hub.example.edu: the JupyterHub's address"; exit 2; }
	$(PYTHON) tools/links.py hub "$(HUB)"

# ------------------------------------------------------------------------------------------------ site

# The course as a static JupyterLite site: the notebooks, the package's wheel and everything Pyodide loads,
# all served from build/site itself (site/build.py says how). About three minutes the first time (PyPI
# and npm downloads, bytecode), about one after a change to the package; nothing when no input changed.
site: $(SITE_STAMP)

$(SITE_STAMP): $(SITE_INPUTS) $(SITE_VENV)/.stamp $(SITE_NPM)
	@$(SITE_VENV)/bin/python site/build.py --out $(SITE) --work build/site-work
	touch $@

$(SITE_VENV)/.stamp: site/requirements-build.txt
	@[ -x $(SITE_VENV)/bin/python ] || $(PYTHON) -m venv $(SITE_VENV)
	echo "==> installing the site's build tools (JupyterLite, its Pyodide kernel) into $(SITE_VENV)"
	$(SITE_VENV)/bin/pip install --disable-pip-version-check -q -r site/requirements-build.txt
	touch $@

$(SITE_NPM): site/package.json site/package-lock.json | debs-site
	@command -v npm >/dev/null || { echo "make: npm is missing: sudo apt-get install nodejs npm"; exit 1; }
	echo "==> npm ci in site/ (Pyodide's core, Graphviz for the browser, esbuild)"
	(cd site && npm ci --no-fund --no-audit --loglevel=error)
	touch $@

# The diagram widget's Graphviz-in-WebAssembly, one ES module made by esbuild from the locked npm packages.
# It is committed (a clone installs without Node.js); the site layer checks it is a fresh build.
bundle: $(SITE_NPM)
	@(cd site && npm run --silent bundle)
	ls -l k8snetviz/widgets/static/graphviz.js

# ------------------------------------------------------------------------------------------------ test

# run_layer NAME COMMAND...: runs and times one layer and records "NAME STATUS SECONDS NOTE" for the
# summary. pytest's exit status 5 ("no tests collected") means the layer proved nothing: under CI=true
# that fails the run, locally it is noted.
define RUN_LAYER
run_layer() {
  local name=$$1; shift
  echo; echo "==> layer $$name: $$(printf '%q ' "$$@")"
  local start=$$(date +%s.%N) rc=0
  "$$@" || rc=$$?
  local secs=$$(awk "BEGIN { printf \"%.1f\", $$(date +%s.%N) - $$start }")
  local status=passed note=""
  if [ $$rc = 5 ]; then
    note="no tests collected"
    if [ "$${CI:-}" = true ]; then status=failed; else status=empty; fi
  elif [ $$rc != 0 ]; then
    status=failed; note="exit status $$rc"
  fi
  printf '%s\t%s\t%s\t%s\n' "$$name" "$$status" "$$secs" "$$note" >> $(RESULTS)/layers.tsv
  [ $$status != failed ]
}
# absent_layer NAME WHY: a layer that does not exist yet in this checkout, or cannot run here.
absent_layer() {
  echo; echo "==> layer $$1: not run: $$2"
  printf '%s\t%s\t-\t%s\n' "$$1" "$${3:-absent}" "$$2" >> $(RESULTS)/layers.tsv
  [ "$${3:-absent}" != failed ]
}
endef
export RUN_LAYER

PYTEST := $(PY) -m pytest -p no:cacheprovider

test: setup debs-test
	@rm -rf $(RESULTS); mkdir -p $(RESULTS)
	failed=""
	for layer in lint unit packaging notebooks ui site lab; do
	  $(MAKE) test-$$layer || failed="$$failed $$layer"
	done
	$(PY) -c "$$LAYER_SUMMARY" $(RESULTS)
	if [ -n "$$failed" ]; then echo "make test: failed layers:$$failed"; exit 1; fi

# Layer 0: style and types. ruff also lints the notebooks' code cells; mypy checks the package and the
# benchmarks (which no test runs in full: a renamed method once broke `make bench` unseen).
test-lint: | $(RESULTS)
	@eval "$$RUN_LAYER"
	run_layer lint bash -c '$(BIN)/ruff check . && $(BIN)/mypy k8snetviz benchmarks'

# The inner loop: lint, types and the unit tests, without the slower layers.
check: setup
	@$(BIN)/ruff check .
	$(BIN)/mypy k8snetviz benchmarks
	$(PYTEST) -q -m "not ui and not lab and not packaging and not site" --ignore=tests/ui --ignore=tests/lab \
	  --ignore=tests/distribution --ignore=tests/lite tests k8snetviz

# Layer 1: unit tests and the package's doctests, without the UI and lab layers.
test-unit: | $(RESULTS)
	@eval "$$RUN_LAYER"
	run_layer unit $(PYTEST) -m "not ui and not lab and not packaging and not site" --ignore=tests/ui \
	  --ignore=tests/lab --ignore=tests/distribution --ignore=tests/lite --junitxml=$(RESULTS)/unit.xml tests k8snetviz

# The packaging layer: the sdist and the wheel built, each installed into a clean virtual environment and
# used from outside the repository (about two minutes).
test-packaging: | $(RESULTS)
	@eval "$$RUN_LAYER"
	run_layer packaging $(PYTEST) -m packaging --junitxml=$(RESULTS)/packaging.xml tests/distribution

# Layer 2: every notebook top to bottom on a fresh kernel of this environment. The notebooks live
# outside tests/, so the CI skip rule of tests/conftest.py is loaded as a plugin. Until notebooks/
# exists this layer does not exist; once it does, CI must find notebooks in it.
test-notebooks: | $(RESULTS)
	@eval "$$RUN_LAYER"
	if compgen -G "notebooks/*.ipynb" >/dev/null; then
	  run_layer notebooks $(PYTEST) -p tests.conftest --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=300 --sanitize-with tests/nbval_sanitize.cfg \
	    --junitxml=$(RESULTS)/notebooks.xml notebooks/
	elif [ -d notebooks ] && [ "$${CI:-}" = true ]; then
	  absent_layer notebooks "notebooks/ has no .ipynb" failed
	else
	  absent_layer notebooks "no notebooks/*.ipynb yet"
	fi

# Layer 3: a real JupyterLab driven in Debian's Chromium.
test-ui: | $(RESULTS)
	@eval "$$RUN_LAYER"
	run_layer ui $(PYTEST) -m ui --junitxml=$(RESULTS)/ui.xml tests/ui

# The site layer: the static JupyterLite site built (make site: cached while no input changes) and run
# offline in Debian's Chromium, every request outside 127.0.0.1 refused and failing the test.
test-site: | $(RESULTS)
	@eval "$$RUN_LAYER"
	run_layer site bash -c '$(MAKE) site && $(PYTEST) -m site --junitxml=$(RESULTS)/site.xml tests/lite'

# Layer 4: the scenario built in real network namespaces; needs root.
test-lab: | $(RESULTS)
	@eval "$$RUN_LAYER"
	if [ ! -d tests/lab ] || ! compgen -G "tests/lab/*.py" >/dev/null; then
	  absent_layer lab "no tests/lab yet"
	elif [ "$$(id -u)" != 0 ]; then
	  absent_layer lab "needs root (run make test as root)" $$([ "$${CI:-}" = true ] && echo failed || echo skipped)
	else
	  run_layer lab $(PYTEST) -m lab --junitxml=$(RESULTS)/lab.xml tests/lab
	fi

$(RESULTS):
	@mkdir -p $@

# Prints one row per layer and a closing "total: N passed, N failed, N skipped" line from the junit files.
define LAYER_SUMMARY
import pathlib, sys, xml.etree.ElementTree as ET
results = pathlib.Path(sys.argv[1])
rows = [line.split("\t") for line in (results / "layers.tsv").read_text().splitlines()]
totals = dict(passed=0, failed=0, skipped=0)
print("\n==> test layers")
print(f"  {'layer':<10} {'status':<8} {'seconds':>7}  tests")
for name, status, secs, note in rows:
    counts = note
    junit = results / f"{name}.xml"
    if junit.exists():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        layer = dict(passed=n["tests"] - n["failures"] - n["errors"] - n["skipped"],
                     failed=n["failures"] + n["errors"], skipped=n["skipped"])
        for k in totals:
            totals[k] += layer[k]
        counts = ", ".join(f"{v} {k}" for k, v in layer.items() if v or k == "passed")
        counts += f" ({note})" if note else ""
    print(f"  {name:<10} {status:<8} {secs:>7}  {counts}")
print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
endef
export LAYER_SUMMARY

# The lower bounds in pyproject.toml, proven: a separate environment with every dependency of the package
# at exactly its lower bound (the test tools at whatever versions fit them), and the unit tests in it. Not part
# of make test (about five minutes); run it when a lower bound changes.
LOWEST := .venv-lowest
test-lowest: | $(PY)
	@rm -rf $(LOWEST); $(PYTHON) -m venv $(LOWEST)
	$(PY) -c "$$LOWER_BOUNDS" > $(LOWEST)/lowest.txt
	echo "==> the package's dependencies at their lower bounds:"; sed 's/^/    /' $(LOWEST)/lowest.txt
	$(LOWEST)/bin/pip install --disable-pip-version-check -q -c $(LOWEST)/lowest.txt \
	  -e . pytest hypothesis packaging nbformat nbval dnslib
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider -q -m "not ui and not lab and not packaging and not site" \
	  --ignore=tests/ui --ignore=tests/lab --ignore=tests/distribution --ignore=tests/lite tests k8snetviz

# Each of the package's dependencies pinned at its lower bound (name==version), read from pyproject.toml.
define LOWER_BOUNDS
import re, tomllib
for req in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    name, low = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", req.split(";")[0].strip()).groups()
    print(f"{name}=={low}")
endef
export LOWER_BOUNDS

# ----------------------------------------------------------------------------------------------- bench

# The unit layer runs tests/test_fuzz.py with a small budget; this runs it with a large one (random seeds).
FUZZ_EXAMPLES ?= 2000
fuzz: setup
	@K8SNETVIZ_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) -q tests/test_fuzz.py

bench: setup debs-lab
	@shopt -s nullglob; scripts=(benchmarks/bench_*.py)  # _generate.py and friends are helpers, not benchmarks
	if [ $${#scripts[@]} = 0 ]; then echo "make: no benchmarks/bench_*.py yet"; exit 0; fi
	for script in "$${scripts[@]}"; do echo "==> $$script"; $(PY) "$$script"; done

# ----------------------------------------------------------------------------------------------- clean

clean:
	rm -rf build dist .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(LOWEST) $(SITE_VENV) site/node_modules
