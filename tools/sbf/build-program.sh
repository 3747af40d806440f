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

# 2. A patched copy of the nightly's library/ (never the toolchain itself), at
# a path that depends only on what it is made of: cargo hashes build-std's
# absolute source path into every crate's metadata, so a copy inside the
# checkout gave different bytes from each checkout path. Made aside and
# renamed into place, so two checkouts building at once never see half of it;
# refused if another user owns it (it is compiled into the program).
std_stamp=$( (cat tools/sbf/std-bpf.patch tools/sbf/bpfel-solana.json; rustc +"$nightly" -vV) | sha256sum | cut -c1-16)
# (SBF_STD_ROOT elsewhere changes the bytes; relative, it is inside the
# checkout, as it once was, and `make reproducible` fails.)
std_root=$(realpath -m "${SBF_STD_ROOT:-/tmp/clearshard-sbf-std}")
std_src=$std_root/$std_stamp/library
if [ ! -d "$std_src" ]; then
  echo "sbf: preparing the patched std library at $std_src"
  mkdir -p "$std_root"
  staging=$(mktemp -d "$std_root/.staging.XXXXXX")
  cp -r "$(rustc +"$nightly" --print sysroot)/lib/rustlib/src/rust/library" "$staging/library"
  patch -s -p1 -d "$staging/library" < tools/sbf/std-bpf.patch
  mkdir -p "$std_root/$std_stamp"
  mv -T "$staging/library" "$std_src" 2>/dev/null || true   # another build may have won
  rm -rf "$staging"
fi
if [ ! -O "$std_root/$std_stamp" ] || [ -n "$(find "$std_root/$std_stamp" -maxdepth 2 \( ! -user "$(id -u)" -o -perm -o+w \) -print -quit)" ]; then
  echo "sbf: $std_root/$std_stamp is not this user's own: remove it, or set SBF_STD_ROOT" >&2
  exit 1
fi
# cargo does not notice edits to std's sources: start afresh when the copy changes.
if [ "$(cat "$tools/std.stamp" 2>/dev/null)" != "$std_src" ]; then
  rm -rf "$sbf_target" "$tools/library"
  echo "$std_src" > "$tools/std.stamp"
fi

# 3. The program. `target_os = "solana"` puts Solana's and Anchor's crates on
# their on-chain paths; panic=immediate-abort because LLVM's BPF backend cannot
# lower std's abort path (a panic logs only "SBF program panicked": the program
# reports errors, never panics).
export __CARGO_TESTS_ONLY_SRC_ROOT=$std_src
# Nothing that names this checkout goes into the flags (the linker is found on PATH).
export PATH=$tools/bin:$PATH
export RUSTFLAGS="-C linker=sbpf-linker -C link-arg=--arch=${SBPF_ARCH:-v0} \
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
