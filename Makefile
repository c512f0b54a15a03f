# One entry point for every task. A newcomer needs two:
#   make demo   the whole job against the simulated fleet (KMS host, clients, report)
#   make test   everything CI runs
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
COLLECTIONS := $(CURDIR)/.build/collections
COLL_LINK := $(COLLECTIONS)/ansible_collections/winops/volume_activation
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help sysdeps venv link lint sanity units lab-tests integration molecule molecule-real-windows test demo bench bench-budget docs build clean

help:
	@echo "make demo        run the whole job (KMS host, clients, fleet summary) against the lab"
	@echo "make test        everything CI runs: lint sanity units lab-tests integration molecule bench-budget build docs"
	@echo "make lint | sanity | units | lab-tests | integration | bench [N=100] | bench-budget | build | docs"
	@echo "make sysdeps     install the Debian packages the lab and the tests need (tools/sysdeps.sh)"

# Debian packages (BIND 9, shellcheck, chromium): installed when missing, as root or with sudo -n;
# otherwise the exact command is printed and make stops. Both README commands start with it.
sysdeps:
	tools/sysdeps.sh

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt lab/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

link:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn ../../../.. $(COLL_LINK)

lint: venv link
	tools/lint.sh

sanity: venv
	tools/ansible-test.sh sanity

units: venv link
	$(BIN)/pytest -q -n 2 tests/unit

lab-tests: venv
	$(BIN)/pytest -q -n 2 --dist loadfile lab/tests

integration: venv link
	$(BIN)/pytest -q tests/integration

test: sysdeps lint sanity units lab-tests integration molecule bench-budget build docs

build: venv
	tools/build_check.sh

# The docs site (antsibull-docs + Sphinx, offline): .build/docs/html/index.html
docs: venv link
	tools/docs.sh

clean:
	rm -rf .build tests/output

# make bench N=300 [REPS=2] [FORKS=50]: generated fleet, win_ping / license_info / site.yml
# (scratch, converged) / slmgr.vbs role, interleaved; ratios, executions per host, CPU, memory.
N ?= 100
REPS ?= 2
FORKS ?= 50
bench: venv link
	$(PY) tools/bench.py --hosts $(N) --reps $(REPS) --forks $(FORKS)

# The small version in `make test`: counts executions per host against issue 15's budget.
bench-budget: venv link
	$(PY) tools/bench.py --hosts 12 --reps 1 --servers-only --forks 12 --budget --no-timing

demo: sysdeps venv link
	tools/demo.sh

# The lab scenarios always; real_windows only against the hosts of WINOPS_REAL_WINDOWS_INVENTORY.
molecule: venv link
	$(BIN)/molecule test -s kms_server
	$(BIN)/molecule test -s kms_activation
	$(BIN)/molecule test -s adba
	@if [ -n "$$WINOPS_REAL_WINDOWS_INVENTORY" ]; then $(MAKE) molecule-real-windows; else \
	  echo "molecule real_windows: SKIPPED: WINOPS_REAL_WINDOWS_INVENTORY is not set (extensions/molecule/real_windows/README.md)"; fi

molecule-real-windows: venv link
	$(BIN)/molecule test -s real_windows
