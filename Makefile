# slotwise: `make help` lists every entry point.

HARNESS := python3 tests/harness/slotwise_harness.py
# Deployments started from this checkout live here, so `make test` here and in another
# checkout on the same machine never stop each other's servers (ports and IPs are kept apart
# by the harness's machine-wide registry either way).
export SLOTWISE_HARNESS_ROOT ?= $(CURDIR)/target/slotwise-harness
# Integration tests spend most of their time waiting for real servers (cluster start, node
# timeouts, failovers), so a few more threads than cores shortens the run; more than 4 cluster
# tests at once starves the servers on a 2-core machine and makes failover timing flaky.
export RUST_TEST_THREADS ?= 4

.DEFAULT_GOAL := help
.PHONY: help build test lint demo clean-harness wheel test-python pyenv node node-deps test-node npm-pack bench-node

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

build: ## build the workspace (release)
	cargo build --workspace --release

test: ## run every test (Rust, Python, Node) against real Redis servers, then stop any server left behind
	@rc=0; cargo test --workspace || rc=$$?; \
	$(MAKE) --no-print-directory test-python || rc=$$?; \
	$(MAKE) --no-print-directory test-node || rc=$$?; \
	$(HARNESS) stop-all >/dev/null || true; \
	exit $$rc

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

demo: ## a live workload on a real 3x1 cluster through a failover
	@rc=0; cargo run --release -p slotwise --example demo || rc=$$?; \
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

BENCH_NODE_DEPS := $(CURDIR)/target/bench-node

bench-node: node ## 50-concurrent GET/SET ops/s, slotwise vs ioredis Cluster, on one 3x1 cluster (not a test)
	@test -d $(BENCH_NODE_DEPS)/node_modules/ioredis || npm install --prefix $(BENCH_NODE_DEPS) --no-audit --no-fund --no-save ioredis
	BENCH_NODE_DEPS=$(BENCH_NODE_DEPS) node bench/node/ops.js
