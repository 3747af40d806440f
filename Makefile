# clearshard — two commands on a fresh machine: `make demo`, `make test`.
# Both install what is missing first (rustup does not auto-install here).

STABLE   := 1.99.0
NIGHTLY  := nightly-2026-10-30
SBPF_LINKER_VERSION := 0.2.6
CARGO_FUZZ_VERSION := 0.13.2
# Seconds each fuzz target runs in `make test` (CI's short pass); `make fuzz-long` runs longer.
FUZZ_SECONDS ?= 15
FUZZ_TARGETS := fill_decode settle_fills liquidate funding
CARGO    := cargo +$(STABLE)
SBF_DIR  := bench/sbf
HARNESS  := $(SBF_DIR)/target/bpfel-unknown-none/release/libclearshard_sbf_harness.so
RUNNER   := $(SBF_DIR)/target/release/clearshard-sbf-runner
# The program as the chain runs it: tests, demo and bench load this binary.
PROGRAM  := target/deploy/clearshard.so
# agave's solana-test-validator, in its own workspace (see localnet/Cargo.toml).
LOCALNET := localnet/target/debug/clearshard-localnet
# Debian's libclang, which RocksDB's bindings need to build (root, or sudo).
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT      := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q
IDL_TEST := app/idl/test
# The harness refuses to fall back to the native entrypoint when this says sbf.
export CLEARSHARD_PROGRAM ?= sbf
# solana-program-test logs every instruction at debug level; keep test output readable.
export RUST_LOG ?= error

.PHONY: demo test bench verify reproducible toolchain sbf sbf-engine lint fuzz fuzz-long stateful localnet localnet-build idl idl-check idl-deps test-build fuzz-build clean

demo: toolchain sbf
	$(CARGO) run -p clearshard-cli --bin clearshard -- demo

# The long builds go first and side by side — the validator's own workspace,
# the SBF program, lint and the workspace's test binaries, the fuzz targets:
# on 2 cores each build's serial stretches are another's time.
test: toolchain
	$(MAKE) -j2 localnet-build reproducible idl-deps test-build fuzz-build idl-check
	$(CARGO) test --workspace
	$(CARGO) run -p clearshard-cli --bin clearshard -- demo --traders 20 --fills 400
	$(MAKE) fuzz

test-build: lint
	$(CARGO) test --workspace --no-run

# The engine's cargo-fuzz targets, FUZZ_SECONDS each; a crash fails the run.
fuzz: fuzz-build
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		cargo +$(NIGHTLY) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

fuzz-build: toolchain
	@cargo +$(NIGHTLY) fuzz --version 2>/dev/null | grep -q '$(CARGO_FUZZ_VERSION)' || cargo +$(NIGHTLY) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	cd fuzz && cargo +$(NIGHTLY) fuzz build

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=720

# The documented long stateful run: 10,000 random cases on an optimized build.
stateful: toolchain
	STATEFUL_CASES=10000 RUST_LOG=error $(CARGO) test --profile stateful -p clearshard-tests --test program stateful -- --nocapture

# Every instruction metered on the SBF program, its split from a second
# binary with cu-trace checkpoints, and the engine alone in LiteSVM.
bench: toolchain sbf sbf-engine
	mkdir -p target/bench
	FEATURES=cu-trace OUT=target/deploy/cu-trace NIGHTLY=$(NIGHTLY) tools/sbf/build-program.sh
	$(RUNNER) $(HARNESS) test
	$(RUNNER) $(HARNESS) bench target/bench/engine.json
	RUST_LOG=error $(CARGO) run -p clearshard-cli --bin clearshard -- bench \
		--engine target/bench/engine.json --trace target/deploy/cu-trace --out target/bench/results.json
	$(CARGO) run -p clearshard-cli --bin clearshard -- bench sim --results target/bench/results.json --out target/bench/sim.json

lint: toolchain
	$(CARGO) fmt --all --check
	cd localnet && $(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# A real local validator on 127.0.0.1:8899 with the SBF program and a ready
# venue (`clearshard init --venue`); keypairs under target/localnet/keys.
localnet: sbf localnet-build
	$(CARGO) build -p clearshard-cli
	$(LOCALNET) --cli target/debug/clearshard --program $(PROGRAM) --dir target/localnet

localnet-build: toolchain
	@ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || $(APT) libclang-dev || ($(SUDO) apt-get update -q && $(APT) libclang-dev)
	cd localnet && $(CARGO) build

# The IDL (app/idl/clearshard.json) from Anchor's idl-build path; commit it.
idl: toolchain
	$(CARGO) run -q -p clearshard-idl

# Fails when the committed IDL no longer describes the program.
idl-check: toolchain
	$(CARGO) run -q -p clearshard-idl -- --check

# @anchor-lang/core for the IDL's TypeScript check (app/cli/tests/idl.rs).
idl-deps:
	@[ -d $(IDL_TEST)/node_modules/@anchor-lang/core ] || (cd $(IDL_TEST) && npm ci --no-audit --no-fund)

# Idempotent: each step checks before it installs.
toolchain:
	@rustup toolchain list | grep -q '^$(STABLE)' || rustup toolchain install $(STABLE) --profile minimal --no-self-update -c clippy,rustfmt
	@rustup toolchain list | grep -q '^$(NIGHTLY)' || rustup toolchain install $(NIGHTLY) --profile minimal --no-self-update -c rust-src
	@rustup component list --toolchain $(NIGHTLY) --installed | grep -q '^rust-src' || rustup component add rust-src --toolchain $(NIGHTLY)

# The whole Anchor program as SBF (v0): patched std copy and sbpf-linker under
# target/sbf-tools, prepared once (tools/sbf/build-program.sh).
sbf: toolchain
	NIGHTLY=$(NIGHTLY) tools/sbf/build-program.sh

# The built program's sha256; with URL (and PROGRAM_ID, default clearshard's),
# whether that cluster runs exactly these bytes: `make verify URL=devnet`.
verify: sbf
	$(CARGO) run -q -p clearshard-cli --bin clearshard -- $(if $(URL),--url $(URL)) verify $(if $(URL),--deployed) $(if $(PROGRAM_ID),--program-id $(PROGRAM_ID))

# The same program bytes from a second checkout path (tools/sbf/check-reproducible.sh).
reproducible: sbf
	tools/sbf/check-reproducible.sh

# The engine alone as SBF (v3) and its LiteSVM runner: engine-only figures.
sbf-engine: sbf
	cd $(SBF_DIR) && PATH="$(CURDIR)/target/sbf-tools/bin:$$PATH" cargo +$(NIGHTLY) build -Z build-std=core,alloc --release --target bpfel-unknown-none -p clearshard-sbf-harness
	cd $(SBF_DIR) && cargo +$(STABLE) build --release -p clearshard-sbf-runner

clean:
	$(CARGO) clean
	cd $(SBF_DIR) && cargo clean
	cd fuzz && cargo clean
	cd localnet && cargo clean
