#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/install.sh: build the Debian packages of this tree (into build-deb/) and install them with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

if ! command -v dpkg-buildpackage >/dev/null || ! dpkg-checkbuilddeps 2>/dev/null; then
  echo "Installing the packaging tools and build dependencies (debian/control)"
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q dpkg-dev
  "${sudo_cmd[@]}" apt-get build-dep -y -q ./
fi

scripts/packages.sh build-deb
"${sudo_cmd[@]}" apt-get install -y -q ./build-deb/libshmring0_*.deb ./build-deb/libshmring-dev_*.deb \
  ./build-deb/gstreamer1.0-shmring_*.deb ./build-deb/python3-shmring_*.deb
echo
echo "Installed. Try: gst-inspect-1.0 shmringsink; shmring --version; /usr/bin/python3 -c 'import shmring'"
echo "Remove with: sudo apt-get purge libshmring0 libshmring-dev gstreamer1.0-shmring python3-shmring"
