#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/install/packages.sh: build the Debian packages, lintian them, install them, smoke-test the installed system, purge them, check nothing is left.
# Prints "ok - ..." / "not ok - ..." lines; exits 1 if any failed, 77 if skipped (not root, or shmring already installed).
set -uo pipefail
source "$(dirname "$0")/common.sh"

tmp=$(mktemp -d /tmp/shmring-packages-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
snapshot "$tmp/before"
require_root_and_clean "$tmp/before"
dpkg-query -W -f='${Package}\n' | LC_ALL=C sort >"$tmp/packages-before"
export DEBIAN_FRONTEND=noninteractive

# Whatever happens, the machine ends without the packages (nor anything they pulled in).
purge() {
  local extra
  extra=$(dpkg-query -W -f='${Package}\n' | LC_ALL=C sort | comm -13 "$tmp/packages-before" -)
  [ -z "$extra" ] || apt-get purge -y -q $extra >"$tmp/purge.log" 2>&1
}
trap 'purge; rm -rf "$tmp"' EXIT

SECONDS=0
if "$top/scripts/packages.sh" "$tmp/out" >"$tmp/build.out" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b builds ${debs[*]} (${SECONDS} s)"
else
  not_ok "dpkg-buildpackage -us -uc -b"
  sed 's/^/    /' "$tmp/build.out"
  exit 1
fi

if TMPDIR="$tmp" lintian --fail-on error "$tmp/out"/*.changes >"$tmp/lintian.out" 2>&1; then
  ok "lintian: no errors ($(grep -c '^W:' "$tmp/lintian.out") warnings)"
else
  not_ok "lintian reports errors"
fi
grep -E '^[EW]:' "$tmp/lintian.out" | sed 's/^/    /'

files=()
for p in "${debs[@]}"; do files+=("$tmp/out/${p}_${version}_"*.deb); done
if apt-get install -y -q --no-install-recommends "${files[@]}" >"$tmp/install.log" 2>&1; then
  extra=$(dpkg-query -W -f='${Package}\n' | LC_ALL=C sort | comm -13 "$tmp/packages-before" - |
    grep -vxF -f <(printf '%s\n' "${debs[@]}"))
  if [ -z "$extra" ]; then
    ok "apt-get install ./*.deb installs the four packages and nothing else"
  else
    not_ok "installing the packages pulled in packages scripts/deps.sh does not install:" $extra
  fi
else
  not_ok "apt-get install of the packages"
  sed 's/^/    /' "$tmp/install.log"
  exit 1
fi

smoke packages

apt-get purge -y -q "${debs[@]}" >"$tmp/purge-debs.log" 2>&1 || not_ok "apt-get purge ${debs[*]}"
left=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${debs[@]}" 2>/dev/null | grep -v '^un ')
if [ -z "$left" ]; then
  ok "apt-get purge: dpkg knows none of the packages any more"
else
  not_ok "apt-get purge left: $left"
fi
purge
same_as_before "$tmp/before" "packages purged"
exit $failed
