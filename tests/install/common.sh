# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/install/common.sh: what packages.sh and source.sh share: results, file-tree snapshots, preconditions (sourced).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(sed -n "s/^  version: '\(.*\)',\$/\1/p" "$top/meson.build")
debs=(libshmring0 libshmring-dev gstreamer1.0-shmring python3-shmring)
failed=0
# Interrupted, still run the EXIT trap that removes what was installed.
trap 'exit 143' INT TERM HUP PIPE

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }

# snapshot FILE: every path under the trees an install writes to, sorted.
snapshot() {
  find /usr /etc /opt -xdev 2>/dev/null | LC_ALL=C sort >"$1"
}

# shmring_on_system SNAPSHOT: prints what of shmring is installed (files, packages, linker cache).
shmring_on_system() {
  grep -i shmring "$1"
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${debs[@]}" 2>/dev/null | grep -v '^un '
  ldconfig -p | grep -i shmring
}

# require_root_and_clean SNAPSHOT: exits 77 (skipped) unless root on a machine without shmring installed.
require_root_and_clean() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: installing needs root (run with sudo)"
    exit 77
  fi
  local found
  found=$(shmring_on_system "$1")
  if [ -n "$found" ]; then
    echo "skipped: shmring is already installed on this machine, and this check leaves a machine as it found it:"
    echo "$found" | head -15 | sed "s/^/    /"
    echo "    remove it first: apt-get purge ${debs[*]}; or ninja -C BUILD_DIR uninstall && ldconfig"
    exit 77
  fi
}

# same_as_before SNAPSHOT WHAT: the trees hold exactly what they held in SNAPSHOT, and the linker cache no shmring.
same_as_before() {
  local after
  after=$(mktemp)
  snapshot "$after"
  if diff -U0 "$1" "$after" >"$after.diff" && ! ldconfig -p | grep -qi shmring; then
    ok "$2: the file list is the same as before the install, the linker cache has no shmring"
  else
    not_ok "$2: files differ from before the install (+ left behind, - removed) or the linker cache still lists shmring"
    grep '^[-+]/' "$after.diff" | head -50 | sed 's/^/    /'
    ldconfig -p | grep -i shmring | sed 's/^/    /'
  fi
  rm -f "$after" "$after.diff"
}

# smoke WHAT: the smoke test against the installed system, its lines prefixed with WHAT.
smoke() {
  bash "$top/tests/install/smoke.sh" "$version" | sed -u "s/^\(ok\|not ok\) - /\1 - $1: /"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
}
