#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/bench-trixie.sh [OUT_DIR] [MESON_TEST_ARGS...]: build shmring in the Debian 13 (trixie) root of
# scripts/test-trixie.sh and run benchmarks there, where GStreamer (1.26) has unixfdsink.
#
# The root is the one scripts/test-trixie.sh makes and caches (same package
# list, same key): run that script once first. As there, a run never writes
# to the cached root: in a mount namespace of its own it mounts an overlay
# over it, binds the host's /proc, /sys, /dev, /dev/pts and /dev/shm, copies
# the files git knows of this tree in and chroots there.
#
# Inside: meson setup (buildtype debugoptimized, as on the host), compile,
# then `meson test --benchmark -v MESON_TEST_ARGS` (default: the suites gst
# and python). Variables named GST_BENCH_*, PY_BENCH_* and PROCMEM_* are
# passed in. Writes OUT_DIR (default build-bench-trixie) on the host: the
# meson test log (meson-logs/) and the benchmarks' PNG plots.
#
# Example: scripts/bench-trixie.sh build-bench-trixie --suite gst gst-bench
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "bench-trixie: $*" >&2; exit 1; }

out=$(realpath -m "${1:-build-bench-trixie}")
[ $# -gt 0 ] && shift
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--suite gst --suite python)

suite=trixie
packages=$(scripts/deps.sh --list suites | LC_ALL=C sort -u | paste -sd, -)
key=$(printf '%s %s amd64 mmdebstrap variant apt, no recommends' "$packages" "$suite" | sha256sum | cut -c1-12)
root=/var/cache/shmring/trixie-root-$key

[ "$(id -u)" -eq 0 ] || die "needs root (mounts and chroot)"
[ -x "$root/usr/bin/meson" ] || die "no Debian 13 root at $root: make it with scripts/test-trixie.sh"
touch "$root"  # in use: not pruned by a run with another package list

rm -rf "$out"
mkdir -p "$out"
run=$(mktemp -d /tmp/shmring-bench-trixie.XXXXXX)
trap 'rm -rf "$run"' EXIT
mkdir "$run/upper" "$run/work" "$run/root" "$run/upper/src"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$run/upper/src"

# The benchmark settings of the caller, as "export NAME=VALUE" lines for the inner shell.
{ env | grep -E '^(GST_BENCH|PY_BENCH|PROCMEM)_[A-Z0-9_]*=' || true; } | while IFS= read -r kv; do
  printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
done >"$run/upper/src/.bench-env.sh"
printf '%q ' "${args[@]}" >"$run/upper/src/.bench-args"

cat >"$run/upper/src/.bench-run.sh" <<'EOF'
set -uo pipefail
cd /src
. ./.bench-env.sh
echo "bench-trixie: $(. /etc/os-release && echo "$PRETTY_NAME"), GStreamer $(pkg-config --modversion gstreamer-1.0)"
if ! { meson setup build >/out/setup.log 2>&1 && meson compile -C build -j "$(nproc)" >/out/compile.log 2>&1; }; then
  cat /out/setup.log /out/compile.log 2>/dev/null | tail -30
  echo "bench-trixie: the build failed" >&2
  exit 1
fi
rc=0
eval "meson test -C build --benchmark -v --num-processes 1 $(cat .bench-args)" || rc=$?
mkdir -p /out/meson-logs
cp build/meson-logs/testlog.txt /out/meson-logs/ 2>/dev/null
cp build/tests/bench/*.png /out/ 2>/dev/null
exit $rc
EOF

set +e
# shellcheck disable=SC2016  # expanded by the inner shell
unshare --mount --propagation private -- bash -euc '
  run=$1 root=$2 out=$3
  mount -t overlay overlay -o "lowerdir=$root,upperdir=$run/upper,workdir=$run/work" "$run/root"
  for d in proc sys dev dev/pts dev/shm; do
    mkdir -p "$run/root/$d"
    mount --bind "/$d" "$run/root/$d"
  done
  mkdir -p "$run/root/out"
  mount --bind "$out" "$run/root/out"
  exec chroot "$run/root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb bash /src/.bench-run.sh
' - "$run" "$root" "$out"
rc=$?
set -e
# Whatever a benchmark left running in the root ends with the run.
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/root" 2>/dev/null)" = "$run/root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
done
exit $rc
