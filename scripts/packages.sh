#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/packages.sh [OUTDIR]: build the Debian packages of this tree (as it is now, build dirs left out) into OUTDIR (default build-deb).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build-deb}")

if ! command -v dpkg-buildpackage >/dev/null || ! dpkg-checkbuilddeps 2>/dev/null; then
  echo "missing packaging tools or build dependencies:" >&2
  command -v dpkg-checkbuilddeps >/dev/null && dpkg-checkbuilddeps >&2 || true
  echo "install them with: sudo apt-get install -y dpkg-dev && sudo apt-get build-dep -y ./" >&2
  exit 1
fi

# dpkg-buildpackage writes next to the source tree, so build in a copy of
# the files git knows (committed or not; ignored ones such as build dirs left
# out), or outside git of everything but build dirs and caches.
tmp=$(mktemp -d /tmp/shmring-packages.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/shmring"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$tmp/shmring"
else
  tar --exclude='./build*' --exclude='./obj-*' --exclude=__pycache__ --exclude=.git -cf - . |
    tar -xf - -C "$tmp/shmring"
fi

echo "building the packages in $tmp/shmring (log: $out/build.log)"
mkdir -p "$out"
if ! (cd "$tmp/shmring" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
  tail -40 "$out/build.log" >&2
  echo "dpkg-buildpackage failed; the whole log is $out/build.log" >&2
  exit 1
fi
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out"/
ls "$out"/*.deb
