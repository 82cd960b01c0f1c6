# Two commands matter: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PATH := $(CURDIR)/$(BIN):/usr/sbin:$(PATH)

.PHONY: demo test check lint typecheck imports unit system-deps venv bench chaos fuzz clean lock \
	desk-build

# The demo needs only the runtime extras (its own stamp); `make test` adds the dev toolchain.
# Either order works: each target checks its own stamp, and pip skips what is installed.
demo: system-deps $(VENV)/.installed-demo
	$(BIN)/trygg-sim demo

test: system-deps venv check
	$(BIN)/pytest -q

check: lint typecheck imports

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy protocol configfile trygg_i18n trygg_systemd edge central desktop firmware_sim tests bench

imports:
	$(BIN)/lint-imports

bench: system-deps venv
	$(BIN)/python bench/alarm_latency.py

# The desk as one folder to install (docs/desk.md): dist/trygg-desk/trygg-desk, built with
# PyInstaller from deploy/desk/trygg-desk.spec (the same spec builds it on Windows and macOS).
desk-build: venv
	$(BIN)/pyinstaller deploy/desk/trygg-desk.spec --noconfirm --distpath dist --workpath build/desk

# The fault matrix (docs/chaos.md): real processes under one fault at a time, >= 1,000 alarms.
# Needs root (a network namespace, a tmpfs mount).
chaos: system-deps venv
	$(BIN)/python bench/chaos.py

# The long fuzz run: every decoder and form handler takes FUZZ_EXAMPLES generated inputs
# (tests/fuzz; `make test` runs the same tests with a few hundred each).
FUZZ_EXAMPLES ?= 100000
fuzz: system-deps venv
	TRYGG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider -o timeout=0 tests/fuzz

# OS packages: Mosquitto from the distribution, python3-venv where Debian splits it out, and
# the libraries and a font that Qt needs to draw the desk's window (offscreen in tests), Xvfb
# and Qt's xcb platform libraries for the global-hotkey and taskbar-flash tests on a real X
# server, Chromium for the console's browser tests,
# iproute2 for the fault matrix's network namespace (tests/chaos), and PulseAudio (libpulse
# for QtMultimedia, and a null-sink server the desk's sound tests play into), and poppler-utils
# (pdftoppm, pdftotext) to open the evidence PDF as a reader would (tests/web/test_evidence.py).
OS_PACKAGES := mosquitto mosquitto-clients python3-venv libegl1 libgl1 libfontconfig1 \
	libfreetype6 libxkbcommon0 libglib2.0-0 libdbus-1-3 fonts-dejavu-core xvfb chromium \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 iproute2 pulseaudio \
	poppler-utils
system-deps:
	@missing=""; \
	for pkg in $(OS_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing OS packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.installed

# Installs come from hash-pinned lock files (requirements/*.lock, made by `make lock` for
# Python 3.11 on Linux); trygg itself goes in editable on top, without resolving again.
$(VENV)/.installed-demo: pyproject.toml requirements/runtime.lock
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/runtime.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed: pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Regenerate the lock files from pyproject.toml after changing a dependency (pip-tools, in dev).
# trygg itself is left out (--unsafe-package): it is installed from the work tree.
LOCK := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
	--no-emit-find-links --unsafe-package trygg --upgrade
lock: venv
	$(LOCK) --extra dev -o requirements/dev.lock pyproject.toml
	$(LOCK) --extra central --extra edge --extra desk --extra sim -o requirements/runtime.lock pyproject.toml
	$(LOCK) --extra central -o requirements/deploy-central.lock pyproject.toml
	$(LOCK) --extra edge -o requirements/deploy-edge.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache dist/trygg-desk build/desk
