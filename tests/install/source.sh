#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/install/source.sh [BUILD_DIR]: `meson install` with the default prefix, smoke-test the installed system, uninstall, check nothing is left.
# BUILD_DIR (default build-inst) is set up with the defaults if it is not yet. Prints "ok - ..." / "not ok - ..." lines;
# exits 1 if any failed, 77 if skipped (not root, or shmring already installed).
set -uo pipefail
source "$(dirname "$0")/common.sh"
build=$(realpath -m "${1:-$top/build-inst}")

tmp=$(mktemp -d /tmp/shmring-source-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
snapshot "$tmp/before"
require_root_and_clean "$tmp/before"

# The README's way out, run whatever happens so no installed plugin stays behind.
uninstall() {
  if [ -f "$build/meson-logs/install-log.txt" ]; then
    ninja -C "$build" uninstall >"$tmp/uninstall.log" 2>&1 && ldconfig && rm -f "$build/meson-logs/install-log.txt"
  fi
}
trap 'uninstall; rm -rf "$tmp"' EXIT

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dtests=disabled -Dexamples=disabled -Dfuzz=disabled >"$tmp/setup.log" 2>&1 ||
    { not_ok "meson setup $build"; sed 's/^/    /' "$tmp/setup.log"; exit 1; }
fi
prefix=$(meson introspect --buildoptions "$build" |
  /usr/bin/python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
if [ "$prefix" != /usr/local ]; then
  not_ok "$build is set up with prefix $prefix, not the default /usr/local"
  exit 1
fi

if meson install -C "$build" >"$tmp/install.log" 2>&1; then
  ok "meson install -C $(basename "$build") into /usr/local (and GStreamer's plugin dir)"
else
  not_ok "meson install -C $build"
  tail -30 "$tmp/install.log" | sed 's/^/    /'
  exit 1
fi

smoke source

if ninja -C "$build" uninstall >"$tmp/uninstall.log" 2>&1 && ldconfig &&
  ! grep -q '^Could not delete' "$tmp/uninstall.log"; then
  ok "ninja -C $(basename "$build") uninstall && ldconfig"
else
  not_ok "ninja -C $build uninstall && ldconfig"
  grep '^Could not delete' "$tmp/uninstall.log" | sed 's/^/    /'
fi
rm -f "$build/meson-logs/install-log.txt"
same_as_before "$tmp/before" "source uninstalled"
exit $failed
