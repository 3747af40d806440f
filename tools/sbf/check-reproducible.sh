#!/usr/bin/env bash
# Builds the program again from a copy of this checkout at another path, with
# its own target/, and fails unless the two clearshard.so files are the same
# bytes: anyone who builds the source they read gets the binary a cluster
# runs (`clearshard verify`). The copy borrows this checkout's sbpf-linker
# (installing it again costs 1.5 min of CPU): the linker's own path reaches
# no output; the program's sources, its std copy and its flags are what
# this compares.
set -euo pipefail
cd "$(dirname "$0")/../.."
first=target/deploy/clearshard.so
[ -f "$first" ] || { echo "reproducible: $first is missing (make sbf)" >&2; exit 1; }
copy=$(mktemp -d /tmp/clearshard-elsewhere.XXXXXX)
trap 'rm -rf "$copy"' EXIT
# The tracked files as they are now, uncommitted edits included.
git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$copy"
if [ -x target/sbf-tools/bin/sbpf-linker ] && [ -f target/sbf-tools/linker.stamp ]; then
  mkdir -p "$copy/target/sbf-tools/bin"
  cp -p target/sbf-tools/bin/sbpf-linker "$copy/target/sbf-tools/bin/"
  cp -p target/sbf-tools/linker.stamp "$copy/target/sbf-tools/"
fi
(cd "$copy" && tools/sbf/build-program.sh)
a=$(sha256sum < "$first" | cut -c1-64)
b=$(sha256sum < "$copy/$first" | cut -c1-64)
echo "reproducible: $PWD/$first  sha256 $a"
echo "reproducible: $copy/$first  sha256 $b"
if ! cmp -s "$first" "$copy/$first"; then
  echo "reproducible: the two builds differ in $(cmp -l "$first" "$copy/$first" | wc -l) bytes" >&2
  exit 1
fi
echo "reproducible: the same bytes from both paths"
