#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/test-aarch64-python.sh BUILD_DIR: run the Python suites with Debian's arm64 Python under qemu-user.
#
# The arm64 Python, numpy, pytest and libatomic come from Debian's archive:
# mmdebstrap extracts them (no maintainer scripts, so nothing of arm64 runs
# to build it) into /var/cache/shmring/arm64-root-KEY, KEY naming the
# package list and the way the root is made; a root is built in a temporary
# directory and renamed when complete, so an interrupted build is never
# taken for a good one; roots of other keys unused for a day are removed.
# The tests run as aarch64 processes under qemu-user, which looks up an
# absolute path in the root first (QEMU_LD_PREFIX), not in a chroot: the
# binfmt_misc entry of qemu-user-binfmt names a dynamically linked qemu that
# a chroot would not hold (qemu-user-static, which would, conflicts with it).
# The root has no /dev or /tmp of its own, so the channels are the host's,
# in the host's /dev/shm.  Their C peers
# (tests/cross, from BUILD_DIR) and gst-launch-1.0 run natively beside them
# on the same shared memory.
#
# qemu on an x86 host does not reorder memory as ARM does: this run proves
# the Python side builds its ordering from libatomic's aarch64 code and
# works there; the per-step ordering is proven by tests/python/test_atomic.py
# (run here too) and the reader's instrumented test in tests/cross.
#
# Writes BUILD_DIR/meson-logs/aarch64-python.xml and aarch64-python-cross.xml
# (JUnit) for the counts.  AARCH64_PY_TIMEOUT (seconds, default 720) bounds
# the two pytest runs: three quarters to tests/python, the rest to tests/cross
# (they take about 160 s and 45 s on two shared cores).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "test-aarch64-python: no build directory ${1:-build}" >&2; exit 1; }
die() { echo "test-aarch64-python: $*" >&2; exit 1; }

packages=python3,python3-numpy,python3-pytest,libatomic1
key=$(printf '%s bookworm arm64 extract, no dev or tmp' "$packages" | sha256sum | cut -c1-12)
cache=/var/cache/shmring
root=$cache/arm64-root-$key
limit=${AARCH64_PY_TIMEOUT:-720}
command -v mmdebstrap >/dev/null || die "mmdebstrap not found: install it with 'scripts/deps.sh test'"
command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 not found: install qemu-user ('scripts/deps.sh test')"
for p in cross_peer; do
  [ -x "$build/tests/cross/$p" ] || die "$build/tests/cross/$p is not built: run 'meson compile -C $build' first"
done
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
  die "qemu-aarch64 is not registered with binfmt_misc (the tests start Python children): run scripts/test-aarch64.sh first, as root"

start=$SECONDS
if [ ! -x "$root/usr/bin/python3" ]; then
  mkdir -p "$cache" && [ -w "$cache" ] || die "cannot write $cache: run as root"
  # Builds killed over two hours ago (a build directory's time is its
  # start), and roots of other package lists unused for a day (another
  # checkout may still use one).
  find "$cache" -mindepth 1 -maxdepth 1 \( -name '.arm64-root.*' -mmin +120 -o -name 'arm64-root-*' -mmin +1440 \) \
    ! -path "$root" -exec rm -rf {} +
  tmp=$(mktemp -d "$cache/.arm64-root.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  new=$tmp/root
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "test-aarch64-python: building the arm64 root ($packages) from $mirror"
  mmdebstrap --quiet --variant=extract --arch=arm64 --include="$packages" bookworm "$new" "$mirror" ||
    die "mmdebstrap could not fetch the arm64 packages from $mirror (network?)"
  # What libblas3's and liblapack3's postinst (update-alternatives) would link.
  lib=$new/usr/lib/aarch64-linux-gnu
  ln -sf blas/libblas.so.3 "$lib/libblas.so.3"
  ln -sf lapack/liblapack.so.3 "$lib/liblapack.so.3"
  # qemu would take /dev/shm, /dev/null or /tmp from the root instead of the host's.
  rm -rf "$new/dev" "$new/tmp"
  [ -x "$root/usr/bin/python3" ] || rm -rf "$root"  # a leftover without Python is nothing to keep
  if ! mv -T "$new" "$root" 2>/dev/null; then  # another run finished the same root first: keep that one
    [ -x "$root/usr/bin/python3" ] || die "could not move the new root into $root"
  fi
  rm -rf "$tmp"
  trap - EXIT
  echo "(arm64 root built in $((SECONDS - start)) s: $(du -sh "$root" | cut -f1))"
fi

touch "$root"  # in use: not pruned by a run with another package list
export QEMU_LD_PREFIX=$root PYTHONDONTWRITEBYTECODE=1
py=(qemu-aarch64 "$root/usr/bin/python3")
probe=$(PYTHONPATH=$PWD/python "${py[@]}" -c '
import platform, sys
from shmring import _atomic  # the ordering layer: loads libatomic.so.1
lib = [l.split()[-1] for l in open("/proc/self/maps") if "libatomic" in l]
print(platform.machine(), sys.version.split()[0], lib[0] if lib else "none")')
read -r arch version libatomic <<<"$probe"
[ "$arch" = aarch64 ] || die "the arm64 Python says it runs on '$arch'"
case $libatomic in
  "$root"/usr/lib/aarch64-linux-gnu/libatomic.so.*) ;;
  *) die "shmring's ordering layer did not load the arm64 libatomic.so.1 (it loaded: $libatomic)" ;;
esac
echo "test-aarch64-python: Python $version, platform.machine() = $arch, ordering through ${libatomic#"$root"}"

# Tests that cannot hold here, each with its reason (every other test runs).
deselect=(
  # The arm64 root has no OpenCV (it would pull in GTK, Qt and FFmpeg): these
  # expect `shmring view` to get past its OpenCV import.
  tests/python/test_cli.py::test_view_without_display
  tests/python/test_cli.py::test_info_and_view_suggest_similar_names
  # Its last check wants an acquire load of the pool state (S1), which the
  # reader makes only when it finds the queue empty; under qemu the reader
  # never catches up with the producer and ends at the end-of-stream entry.
  tests/cross/test_cross_c.py::test_reader_orders_every_step
  # It waits for the reader to sleep in the futex system call by its number in
  # /proc/PID/syscall, which under qemu-user is the host's (x86-64's 202), not
  # aarch64's 98.
  tests/python/test_process.py::test_ctrl_c_interrupts_wait
)
args=()
for t in "${deselect[@]}"; do
  echo "test-aarch64-python: not run here: $t"
  args+=(--deselect "$t")
done

gst=0
[ -e "$build/gst/libgstshmring.so" ] && command -v gst-launch-1.0 >/dev/null && gst=1
rc=0
suite() { # suite SECONDS JUNIT DIR: pytest on DIR with the arm64 Python, bounded in time
  local limit=$1 junit=$2 dir=$3 start=$SECONDS r=0
  rm -f "$build/meson-logs/$junit"
  timeout -k 10 "$limit" "${py[@]}" -m pytest -q -rs \
    -p no:cacheprovider "${args[@]}" --junitxml="$build/meson-logs/$junit" "$dir" || r=$?
  if [ "$r" -eq 124 ]; then
    echo "test-aarch64-python: $dir did not finish within $limit s (AARCH64_PY_TIMEOUT)" >&2
  fi
  [ "$r" -eq 0 ] || rc=1
  echo "(aarch64 $dir: $((SECONDS - start)) s)"
}
PYTHONPATH=$PWD/python SHMRING_MAN_PAGE=$PWD/python/shmring.1 \
  suite $((limit * 3 / 4)) aarch64-python.xml tests/python
PYTHONPATH=$PWD/python:$PWD/tests/cross CROSS_PEER=$build/tests/cross/cross_peer \
  SHMRING_GST_PLUGIN=$gst GST_PLUGIN_PATH_1_0=$build/gst GST_REGISTRY_1_0=$build/tests/cross/registry-aarch64.bin \
  suite $((limit / 4)) aarch64-python-cross.xml tests/cross
exit $rc
