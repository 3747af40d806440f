#!/usr/bin/env bash
# Builds programs/clearshard to a real SBF program, target/deploy/clearshard.so,
# without Solana's platform-tools: upstream nightly Rust with a patched copy of
# its std (tools/sbf/std-bpf.patch), a JSON target (tools/sbf/bpfel-solana.json)
# and sbpf-linker with our v0 stack-argument fix. SBPF v0, so agave 3.1
# (solana-program-test, solana-test-validator) loads it. Idempotent: each
# prepared tool carries a stamp of the patch it was made from.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
nightly=${NIGHTLY:-nightly-2026-10-30}
linker_version=0.2.6
tools=$root/target/sbf-tools
sbf_target=$root/target/sbf
cargo_home=${CARGO_HOME:-$HOME/.cargo}
mkdir -p "$tools"

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

# 1. sbpf-linker 0.2.6 from the registry, patched, installed under target/.
linker_stamp=$(stamp_of tools/sbf/sbpf-linker-v0-stack-gaps.patch)
if [ "$(cat "$tools/linker.stamp" 2>/dev/null)" != "$linker_stamp" ] || [ ! -x "$tools/bin/sbpf-linker" ]; then
  echo "sbf: preparing sbpf-linker $linker_version (patched)"
  fetch=$tools/fetch
  rm -rf "$fetch" "$tools/sbpf-linker-$linker_version"
  mkdir -p "$fetch/src"
  # (its own [workspace]: target/ sits inside this repository's workspace)
  printf '[package]\nname = "fetch-sbpf-linker"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nsbpf-linker = "=%s"\n[workspace]\n' \
    "$linker_version" > "$fetch/Cargo.toml"
  : > "$fetch/src/lib.rs"
  cargo +"$nightly" fetch --manifest-path "$fetch/Cargo.toml" -q
  crate=$(ls "$cargo_home"/registry/cache/*/sbpf-linker-$linker_version.crate | head -n 1)
  tar -xzf "$crate" -C "$tools"
  patch -s -p1 -d "$tools/sbpf-linker-$linker_version" < tools/sbf/sbpf-linker-v0-stack-gaps.patch
  printf '\n[workspace]\n' >> "$tools/sbpf-linker-$linker_version/Cargo.toml"
  cargo +"$nightly" install --quiet --locked --force --path "$tools/sbpf-linker-$linker_version" --root "$tools"
  echo "$linker_stamp" > "$tools/linker.stamp"
fi

# 2. A patched copy of the nightly's library/ (never the toolchain itself).
sysroot=$(rustc +"$nightly" --print sysroot)
std_stamp=$(stamp_of tools/sbf/std-bpf.patch tools/sbf/bpfel-solana.json; echo "$sysroot")
if [ "$(cat "$tools/std.stamp" 2>/dev/null)" != "$std_stamp" ] || [ ! -d "$tools/library" ]; then
  echo "sbf: preparing the patched std library"
  rm -rf "$tools/library" "$sbf_target"   # cargo does not notice edits to std's sources
  cp -r "$sysroot/lib/rustlib/src/rust/library" "$tools/library"
  patch -s -p1 -d "$tools/library" < tools/sbf/std-bpf.patch
  echo "$std_stamp" > "$tools/std.stamp"
fi

# 3. The program. `target_os = "solana"` puts Solana's and Anchor's crates on
# their on-chain paths; panic=immediate-abort because LLVM's BPF backend cannot
# lower std's abort path (a panic logs only "SBF program panicked": the program
# reports errors, never panics).
export __CARGO_TESTS_ONLY_SRC_ROOT=$tools/library
export RUSTFLAGS="-C linker=$tools/bin/sbpf-linker -C link-arg=--arch=v0 \
 -C link-arg=--llvm-args=-bpf-stack-size=4096 -C relocation-model=static \
 --cfg target_os=\"solana\" -A explicit_builtin_cfgs_in_flags -Zunstable-options -C panic=immediate-abort"
# FEATURES/OUT: the bench's second binary (cu-trace) goes beside, never over, the real one.
features=${FEATURES:-}
out=${OUT:-target/deploy}
cargo +"$nightly" build --release --locked -p clearshard ${features:+--features "$features"} \
  --target tools/sbf/bpfel-solana.json -Zjson-target-spec -Zbuild-std=std,panic_abort \
  --target-dir "$sbf_target"
mkdir -p "$out"
cp "$sbf_target/bpfel-solana/release/libclearshard.so" "$out/clearshard.so"
echo "sbf: $out/clearshard.so ($(stat -c %s "$out/clearshard.so") bytes)"
