#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/deps.sh [demo|test]: install the Debian packages shmring needs for its demo, or for every build and test.
# scripts/deps.sh --list [demo|suites|test]: only print them, one a line (suites: what building, every meson
# suite but the fuzzer's and the Debian packages need, the same names on Debian 12 and 13; test: all of it).
set -euo pipefail

list=0
if [ "${1:-}" = --list ]; then
  list=1
  shift
fi
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

# Everything else the meson suites (but the fuzzer), the benchmarks and the packages need
# (valgrind for its header: the tests shrink their work under it).
suites=(
  valgrind procps util-linux
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-x
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  python3-pytest python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  python3-matplotlib mypy
  build-essential debhelper dh-python dpkg-dev fakeroot lintian man-db
)

# What only the Debian 12 host's other stages need: clang and libFuzzer, the aarch64 cross build
# under qemu-user, and mmdebstrap for the arm64 and Debian 13 roots.
host=(
  clang libclang-rt-14-dev
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-binfmt mmdebstrap
)

case "$profile" in
  demo) packages=("${demo[@]}") ;;
  suites) packages=("${demo[@]}" "${suites[@]}") ;;
  test) packages=("${demo[@]}" "${suites[@]}" "${host[@]}") ;;
  *) echo "usage: $0 [--list] [demo|suites|test]" >&2; exit 2 ;;
esac

if [ "$list" -eq 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

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
