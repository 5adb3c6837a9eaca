#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/test-trixie.sh [OUT_DIR]: build shmring in a Debian 13 (trixie) root and run every meson suite but the
# fuzzer's there, then build its Debian packages there, install them and smoke-test them, as on Debian 12.
#
# The root: mmdebstrap makes it from Debian's archive with the packages of
# `scripts/deps.sh --list suites` (the names the Debian 12 host installs for
# the same suites), into /var/cache/shmring/trixie-root-KEY, KEY naming the
# package list and the way the root is made: a new list makes a new root. A
# root is built in a temporary directory and renamed when complete, so an
# interrupted build is never taken for a good one; roots of other keys unused
# for a day are removed.
#
# A run never writes to the cached root: in a mount namespace of its own it
# mounts an overlay over it (what the run builds, installs and leaves behind
# is gone with the overlay's upper directory at the end), binds the host's
# /proc, /sys, /dev, /dev/pts and /dev/shm into it, and chroots there. The
# overlay is a mount point, so `unshare --mount` works inside (the fanout
# suite's reader in a mount namespace of its own), and /dev/pts gives the pty
# tests a terminal. The network and the process ids are the host's.
#
# Inside, from a copy of this tree (the files git knows, build dirs left out):
# meson setup -Dwerror=true, compile, `meson test --no-suite fuzz`; then
# tests/install/packages.sh (dpkg-buildpackage, lintian, apt-get install,
# tests/install/smoke.sh, purge) and tests/install/source.sh (meson install,
# the smoke test, uninstall).
#
# Writes OUT_DIR (default build-trixie) on the host: meson-logs/trixie.json
# (meson's test log) and install.txt (the install checks' "ok" / "not ok"
# lines), for scripts/test.sh to count.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "test-trixie: $*" >&2; exit 1; }

out=$(realpath -m "${1:-build-trixie}")
suite=trixie
cache=/var/cache/shmring
packages=$(scripts/deps.sh --list suites | LC_ALL=C sort -u | paste -sd, -)
key=$(printf '%s %s amd64 mmdebstrap variant apt, no recommends' "$packages" "$suite" | sha256sum | cut -c1-12)
root=$cache/trixie-root-$key

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, mounts and chroot)"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found: install it with 'scripts/deps.sh test'"

start=$SECONDS
if [ ! -x "$root/usr/bin/meson" ]; then
  mkdir -p "$cache"
  # Builds killed over two hours ago (a build directory's time is its start),
  # and roots of other package lists unused for a day (another checkout may
  # still use one).
  find "$cache" -mindepth 1 -maxdepth 1 \( -name '.trixie-root.*' -mmin +120 -o -name 'trixie-root-*' -mmin +1440 \) \
    ! -path "$root" -exec rm -rf {} +
  tmp=$(mktemp -d "$cache/.trixie-root.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "test-trixie: building the Debian 13 root from $mirror ($packages)"
  mmdebstrap --quiet --variant=apt --include="$packages" "$suite" "$tmp/root" "$mirror" ||
    die "mmdebstrap could not make the $suite root from $mirror (network?)"
  [ -x "$root/usr/bin/meson" ] || rm -rf "$root"  # a leftover without meson is nothing to keep
  if ! mv -T "$tmp/root" "$root" 2>/dev/null; then  # another run finished the same root first: keep that one
    [ -x "$root/usr/bin/meson" ] || die "could not move the new root into $root"
  fi
  rm -rf "$tmp"
  trap - EXIT
  echo "(trixie root built in $((SECONDS - start)) s: $(du -sh "$root" | cut -f1))"
fi
touch "$root"  # in use: not pruned by a run with another package list

rm -rf "$out"
mkdir -p "$out/meson-logs"
run=$(mktemp -d /tmp/shmring-trixie.XXXXXX)
trap 'rm -rf "$run"' EXIT
mkdir "$run/upper" "$run/work" "$run/root"

# The tree to build: the files git knows (committed or not, ignored ones left
# out), or outside git everything but build dirs and caches.
mkdir "$run/upper/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$run/upper/src"
else
  tar --exclude='./build*' --exclude='./obj-*' --exclude=__pycache__ --exclude=.git -cf - . |
    tar -xf - -C "$run/upper/src"
fi

# What runs in the root, as a login shell with nothing of the host's environment.
cat >"$run/upper/src/.trixie-run.sh" <<'EOF'
set -uo pipefail
cd /src
rc=0
echo "test-trixie: $(. /etc/os-release && echo "$PRETTY_NAME"), $(gcc --version | head -1)," \
  "GStreamer $(pkg-config --modversion gstreamer-1.0), GLib $(pkg-config --modversion glib-2.0)," \
  "$(python3 --version), mypy $(python3 -m mypy --version | cut -d' ' -f2)"
begin=$SECONDS
if meson setup build -Dwerror=true >/out/setup.log 2>&1 && meson compile -C build -j "$(nproc)"; then
  echo "(trixie build: $((SECONDS - begin)) s)"
  begin=$SECONDS
  meson test -C build --print-errorlogs --num-processes "$(nproc)" --no-suite fuzz --logbase trixie || rc=1
  cp build/meson-logs/trixie.json /out/meson-logs/ 2>/dev/null
  echo "(trixie tests: $((SECONDS - begin)) s)"
else
  cat /out/setup.log
  echo "test-trixie: the build failed" >&2
  exit 1
fi
for check in "tests/install/packages.sh" "tests/install/source.sh build"; do
  begin=$SECONDS
  r=0
  $check | tee -a /out/install.txt
  r=${PIPESTATUS[0]}
  echo "(trixie $check: $((SECONDS - begin)) s)"
  [ "$r" -eq 0 ] || [ "$r" -eq 77 ] || rc=1
  if [ "$r" -eq 77 ]; then
    echo "not ok - $check was skipped in the trixie root" | tee -a /out/install.txt
    rc=1
  fi
done
exit $rc
EOF

# In a mount namespace of its own: every mount below goes when the run ends.
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
    HOME=/root LANG=C.UTF-8 TERM=dumb bash /src/.trixie-run.sh
' - "$run" "$root" "$out"
rc=$?
set -e
# Whatever a test left running in the root ends with the run.
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/root" 2>/dev/null)" = "$run/root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
done
echo "(trixie stage: $((SECONDS - start)) s)"
exit $rc
