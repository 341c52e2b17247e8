# slotwise: `make help` lists every entry point.

HARNESS := python3 tests/harness/slotwise_harness.py
# Deployments started from this checkout live here, so `make test` here and in another
# checkout on the same machine never stop each other's servers (ports and IPs are kept apart
# by the harness's machine-wide registry either way).
ifeq ($(strip $(SLOTWISE_HARNESS_ROOT)),)
SLOTWISE_HARNESS_ROOT := $(CURDIR)/target/slotwise-harness
endif
export SLOTWISE_HARNESS_ROOT
# Integration tests spend most of their time waiting for real servers (cluster start, node
# timeouts, failovers), so a few more threads than cores shortens the run; more than 4 cluster
# tests at once starves the servers on a 2-core machine and makes failover timing flaky.
export RUST_TEST_THREADS ?= 4
FUZZ_SECS ?= 60

.DEFAULT_GOAL := help
.PHONY: help build test lint demo clean-harness wheel test-python pyenv bench-python bench bench-deps bench-recovery profile-get ffi ffi-lib header check-header test-c install node node-deps test-node npm-pack bench-node fuzz soak

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

build: ## build the workspace (release)
	cargo build --workspace --release

test: ## run every test (Rust, Python, C, Node) against real Redis servers, then stop any server left behind
	@rc=0; cargo test --workspace --no-fail-fast || rc=$$?; \
	$(MAKE) --no-print-directory test-python || rc=$$?; \
	$(MAKE) --no-print-directory test-c || rc=$$?; \
	$(MAKE) --no-print-directory test-node || rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; \
	exit $$rc

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

demo: ## slotwise and redis-py side by side, live, through failover, kill, scale-in and new IPs
	cargo build --release -p slotwise --example recovery_driver
	@rc=0; python3 bench/demo.py || rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; \
	exit $$rc

clean-harness: ## stop every test deployment started from this checkout
	$(HARNESS) stop-all

# Python: one venv under target/ holds the build and test tools (maturin, ziglang for
# manylinux wheels, pytest, mypy for the stub check) and the wheel under test.
PYENV := $(CURDIR)/target/pyenv
PY := $(PYENV)/bin/python
PYTOOLS := maturin ziglang pytest mypy

$(PYENV)/.tools:
	python3 -m venv $(PYENV)
	$(PY) -m pip install -q $(PYTOOLS)
	touch $@

pyenv: $(PYENV)/.tools ## create target/pyenv with the Python build and test tools

wheel: $(PYENV)/.tools ## build the Python wheel (abi3, manylinux2014 via zig) into target/wheels
	rm -f target/wheels/slotwise-*.whl
	cd bindings/python && PATH=$(PYENV)/bin:$$PATH maturin build --release --zig \
	    --compatibility manylinux2014 --out $(CURDIR)/target/wheels || \
	  { echo "wheel: zig build failed; building a plain (non-manylinux) wheel" >&2; \
	    PATH=$(PYENV)/bin:$$PATH maturin build --release --out $(CURDIR)/target/wheels; }

test-python: wheel ## build the wheel, install it into target/pyenv, run the Python tests
	$(PY) -m pip install -q --force-reinstall --no-deps target/wheels/slotwise-*.whl
	@rc=0; cd bindings/python/tests && $(PY) -m pytest -q -p no:cacheprovider || rc=$$?; \
	cd $(CURDIR) && $(HARNESS) stop-all >/dev/null || true; \
	exit $$rc

# Benchmarks are not tests (never part of `make test`): they install the peers they compare
# against into their own places, target/benchenv (Python) and target/bench-node (npm).
BENCHENV := target/benchenv
BENCH_NODE_DEPS := $(CURDIR)/target/bench-node
BENCH_PY := $(BENCHENV)/bin/python

bench-deps: wheel node ## install the peers (redis-py+hiredis, valkey-glide, ioredis) and this slotwise for the benchmarks
	test -x $(BENCH_PY) || python3 -m venv $(BENCHENV)
	$(BENCH_PY) -m pip install -q "redis[hiredis]" valkey-glide
	$(BENCH_PY) -m pip install -q --force-reinstall --no-deps target/wheels/slotwise-*.whl
	@test -d $(BENCH_NODE_DEPS)/node_modules/ioredis -a -d $(BENCH_NODE_DEPS)/node_modules/@valkey/valkey-glide || \
	  npm install --prefix $(BENCH_NODE_DEPS) --no-audit --no-fund --no-save ioredis @valkey/valkey-glide
	cargo build --release -p slotwise --example throughput --example recovery_driver

bench: bench-deps ## throughput/latency/RSS vs peers (Rust, Python, Node) on one cluster; QUICK=1 for a short run
	BENCH_NODE_DEPS=$(BENCH_NODE_DEPS) $(BENCH_PY) bench/run.py; rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; exit $$rc

bench-python: bench-deps ## the Python rows of `make bench` only
	BENCH_ONLY=python-sync,python-async $(BENCH_PY) bench/run.py

profile-get: ## instructions per GET through the cluster client, counted by valgrind --tool=callgrind
	cargo build --release -p slotwise --example get_loop
	@rc=0; python3 bench/profile_get.py || rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; exit $$rc

bench-recovery: bench-deps ## the bad day: failover, kill, new IPs, scale-in, Sentinel; every client through each event
	BENCH_NODE_DEPS=$(BENCH_NODE_DEPS) $(BENCH_PY) bench/recovery.py; rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; exit $$rc

# ---- C ABI (ffi/): libslotwise.so / libslotwise.a and include/slotwise.h
VERSION := $(shell sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
ABI_MAJOR := $(firstword $(subst ., ,$(VERSION)))
# The build tree laid out as an install (lib/ with the SONAME links), so tests and examples
# link exactly as an installed copy would.
FFI_STAGE := target/ffi
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
# What the static library needs besides itself (rustc --print native-static-libs, Linux).
FFI_LIBS_PRIVATE := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
C_TEST_FLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -pthread -Iinclude

ffi-lib:
	cargo build -p slotwise-ffi --release
	@mkdir -p $(FFI_STAGE)/lib
	cp -f target/release/libslotwise.so $(FFI_STAGE)/lib/libslotwise.so.$(VERSION)
	cp -f target/release/libslotwise.a $(FFI_STAGE)/lib/libslotwise.a
	ln -sf libslotwise.so.$(VERSION) $(FFI_STAGE)/lib/libslotwise.so.$(ABI_MAJOR)
	ln -sf libslotwise.so.$(ABI_MAJOR) $(FFI_STAGE)/lib/libslotwise.so

ffi: ffi-lib check-header ## build the C library (release) and check include/slotwise.h for drift

check-header: ## fail when include/slotwise.h differs from a fresh cbindgen run or Cargo.toml's version
	cargo test -p slotwise-ffi --release --lib

header: ## regenerate include/slotwise.h (commit the result)
	SLOTWISE_BLESS_HEADER=1 cargo test -p slotwise-ffi --release --lib committed_header

test-c: ffi ## C tests against a real cluster and Sentinel deployment, then once under valgrind
	@mkdir -p target/c
	$(CC) $(C_TEST_FLAGS) tests/c/*.c -o target/c/test_slotwise \
		-L$(FFI_STAGE)/lib -lslotwise -Wl,-rpath,$(CURDIR)/$(FFI_STAGE)/lib
	$(CC) $(C_TEST_FLAGS) examples/c/hello.c -o target/c/hello \
		-L$(FFI_STAGE)/lib -lslotwise -Wl,-rpath,$(CURDIR)/$(FFI_STAGE)/lib
	$(CXX) -std=c++17 -Wall -Wextra -Werror -Iinclude examples/cpp/hello.cpp -o target/c/hello-cpp \
		-L$(FFI_STAGE)/lib -lslotwise -Wl,-rpath,$(CURDIR)/$(FFI_STAGE)/lib
	python3 tests/c/run.py target/c/test_slotwise
	python3 tests/c/run.py --valgrind target/c/test_slotwise

install: ffi-lib ## install header, libraries and slotwise.pc under PREFIX (default /usr/local)
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/slotwise.h $(DESTDIR)$(INCLUDEDIR)/slotwise.h
	install -m 755 $(FFI_STAGE)/lib/libslotwise.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(FFI_STAGE)/lib/libslotwise.a $(DESTDIR)$(LIBDIR)/
	ln -sf libslotwise.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libslotwise.so.$(ABI_MAJOR)
	ln -sf libslotwise.so.$(ABI_MAJOR) $(DESTDIR)$(LIBDIR)/libslotwise.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(FFI_LIBS_PRIVATE)|' \
		ffi/slotwise.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/slotwise.pc

# Node: the napi CLI (and the type checker the tests use) come from bindings/node's committed
# package-lock.json via `npm ci`; the addon is built once in release and the tests iterate on it.
NODE_DIR := $(CURDIR)/bindings/node
NPX := cd $(NODE_DIR) && npx --no-install

$(NODE_DIR)/node_modules/.ci-done: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

node-deps: $(NODE_DIR)/node_modules/.ci-done ## npm ci the Node build and test tools

node: node-deps ## build the Node addon (release) and regenerate native.d.ts and index.d.ts
	$(NPX) napi build --platform --release --js native.js --dts native.d.ts
	cd $(NODE_DIR) && node scripts/gen-dts.js

test-node: npm-pack ## build the addon and the npm tarball, run the Node tests (node --test) against real servers
	@rc=0; cd $(NODE_DIR) && node --test --test-concurrency=1 test/ || rc=$$?; \
	cd $(CURDIR) && $(HARNESS) stop-all >/dev/null || true; \
	exit $$rc

NPM_STAGE := $(CURDIR)/target/npm/stage

npm-pack: node ## target/npm/slotwise-<version>.tgz: the npm package with the prebuilt addon for this platform
	rm -rf $(CURDIR)/target/npm && mkdir -p $(NPM_STAGE)
	cd $(NODE_DIR) && cp -r package.json README.md index.js index.d.ts native.js native.d.ts lib $(NPM_STAGE)/
	cd $(NODE_DIR) && for f in *.node; do strip --strip-debug -o $(NPM_STAGE)/$$f $$f; done
	cd $(NPM_STAGE) && npm pack --pack-destination $(CURDIR)/target/npm
	@ls -l $(CURDIR)/target/npm/*.tgz

bench-node: bench-deps ## the Node rows of `make bench` only
	BENCH_ONLY=node BENCH_NODE_DEPS=$(BENCH_NODE_DEPS) $(BENCH_PY) bench/run.py

# Fuzzing is not part of `make test` (it needs nightly + cargo-fuzz, which CI lacks); the
# committed corpus and crash inputs are replayed on stable by core/tests/fuzz_corpus.rs.
fuzz: ## fuzz each target FUZZ_SECS s (default 60; needs nightly + cargo-fuzz), print executions
	FUZZ_SECS=$(FUZZ_SECS) fuzz/run.sh

SOAK_SECS ?= 120
soak: ## chaos soak on a real 3x1 cluster for SOAK_SECS s (default 120; `make test` runs 30 s)
	@rc=0; SOAK_SECS=$(SOAK_SECS) cargo test --release -p slotwise --test soak -- --nocapture || rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; \
	exit $$rc
