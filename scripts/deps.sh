#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/deps.sh [demo|test]: install the Debian 12 packages shmring needs for its demo, or for every build and test.
set -euo pipefail

profile=${1:-test}

# What the demo needs: build the library, the plugin and the examples,
# run the Python reader and the OpenCV window (under Xvfb when there is no display).
demo=(
  gcc meson ninja-build pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base
  python3 python3-numpy python3-opencv
  xvfb xauth
)

# Everything else the tests, checks, benchmarks and packages need.
test=(
  clang libclang-rt-14-dev valgrind procps util-linux
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-x
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  python3-pytest python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  python3-matplotlib mypy
  build-essential debhelper dh-python dpkg-dev fakeroot lintian man-db
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-binfmt mmdebstrap
)

case "$profile" in
  demo) packages=("${demo[@]}") ;;
  test) packages=("${demo[@]}" "${test[@]}") ;;
  *) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
