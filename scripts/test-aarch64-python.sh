#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/test-aarch64-python.sh BUILD_DIR: run the protocol 2 Python tests with Debian's arm64 Python under qemu-user.
#
# The arm64 Python, numpy, pytest and libatomic come from Debian's archive:
# mmdebstrap extracts them (no maintainer scripts, so nothing of arm64 runs
# to build it) into /var/cache/shmring/arm64-root-KEY, KEY naming the
# package list; a root is built in a temporary directory and renamed when
# complete, so an interrupted build is never taken for a good one.  The
# tests run as aarch64 processes under qemu-user (QEMU_LD_PREFIX points at
# the root); their C peers (tests/cross/cross2, from BUILD_DIR) run
# natively beside them on the same shared memory.  qemu on an x86 host
# does not reorder memory as ARM does: this run proves the Python side
# works on aarch64 (libatomic's aarch64 code included); the per-step
# ordering is proven by tests/python/test_atomic.py and test_cross_v2.py's
# instrumented runs, which run here too.
# Writes BUILD_DIR/meson-logs/aarch64-python.xml (JUnit) for the counts.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd) || { echo "test-aarch64-python: no build directory ${1:-build}" >&2; exit 1; }
die() { echo "test-aarch64-python: $*" >&2; exit 1; }

packages=python3,python3-numpy,python3-pytest,libatomic1
key=$(printf '%s bookworm arm64 extract-1' "$packages" | sha256sum | cut -c1-12)
cache=/var/cache/shmring
root=$cache/arm64-root-$key
command -v mmdebstrap >/dev/null || die "mmdebstrap not found: install it with 'scripts/deps.sh test'"
command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 not found: install qemu-user ('scripts/deps.sh test')"
[ -x "$build/tests/cross/cross2" ] || die "$build/tests/cross/cross2 is not built: run 'meson compile -C $build' first"
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
  die "qemu-aarch64 is not registered with binfmt_misc (the tests exec Python children): run scripts/test-aarch64.sh first, as root"

start=$SECONDS
if [ ! -x "$root/usr/bin/python3" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.arm64-root.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mmdebstrap --quiet --variant=extract --arch=arm64 --include="$packages" bookworm "$tmp" \
    http://deb.debian.org/debian || die "mmdebstrap could not fetch the arm64 packages (network?)"
  # What libblas3's and liblapack3's postinst (update-alternatives) would link.
  lib=$tmp/usr/lib/aarch64-linux-gnu
  ln -sf blas/libblas.so.3 "$lib/libblas.so.3"
  ln -sf lapack/liblapack.so.3 "$lib/liblapack.so.3"
  rm -rf "$root"
  mv "$tmp" "$root"
  trap - EXIT
  echo "(arm64 root built in $((SECONDS - start)) s: $(du -sh "$root" | cut -f1))"
fi

export QEMU_LD_PREFIX=$root PYTHONPATH=$PWD/python:$PWD/tests/cross PYTHONDONTWRITEBYTECODE=1
export CROSS2=$build/tests/cross/cross2
py=(qemu-aarch64 "$root/usr/bin/python3")
machine=$("${py[@]}" -c 'import platform; print(platform.machine())')
[ "$machine" = aarch64 ] || die "the arm64 Python says it runs on '$machine'"
echo "test-aarch64-python: Python $("${py[@]}" -c 'import sys; print(sys.version.split()[0])') on $machine"
start=$SECONDS
rc=0
"${py[@]}" -m pytest -q -p no:cacheprovider --junitxml="$build/meson-logs/aarch64-python.xml" \
  tests/python/test_atomic.py tests/python/test_v2_layout.py tests/python/test_v2_hostile.py \
  tests/cross/test_cross_v2.py tests/cross/test_cross_v2_writer.py || rc=1
echo "(aarch64 Python tests: $((SECONDS - start)) s)"
exit $rc
