#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/test-aarch64.sh [BUILD_DIR]: cross-build the C library and its tests for 64-bit ARM and run the lib, stress and fuzz-replay suites under qemu-user.
#
# Needs Debian's cross compiler and qemu-user (scripts/deps.sh test installs
# them) and, to register qemu-aarch64 with binfmt_misc, root: the tests fork
# and exec helper programs, which the kernel must hand to qemu as well.
# Each meson test run writes BUILD_DIR/meson-logs/aarch64-*.json.
# SHMRING_STRESS_FRAMES scales the stress suite (default 100,000 frames).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-aarch64}
cross=cross/aarch64-linux-gnu.ini

die() { echo "test-aarch64: $*" >&2; exit 1; }

for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
  command -v "$tool" >/dev/null ||
    die "$tool not found: install it with 'scripts/deps.sh test' (packages gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user, qemu-user-binfmt)"
done

# qemu-aarch64 registered with binfmt_misc, so that exec'd aarch64
# programs run too.  systemd-binfmt does this at boot; without systemd
# (containers, CI runners) mount binfmt_misc and register it here.
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -f "$conf" ] || die "$conf missing: install qemu-user-binfmt ('scripts/deps.sh test')"
  [ "$(id -u)" -eq 0 ] ||
    die "qemu-aarch64 is not registered with binfmt_misc: run this script as root, or register it with 'sudo systemctl restart systemd-binfmt'"
  if [ ! -e "$binfmt/register" ]; then
    mount -t binfmt_misc binfmt_misc "$binfmt" ||
      die "cannot mount binfmt_misc on $binfmt: a container needs --privileged for it"
  fi
  grep -v '^#' "$conf" > "$binfmt/register" ||
    die "cannot register qemu-aarch64 from $conf with $binfmt/register"
fi
grep -qx enabled "$binfmt/qemu-aarch64" || die "qemu-aarch64 is registered but disabled: echo 1 > $binfmt/qemu-aarch64"
grep -qx enabled "$binfmt/status" || die "binfmt_misc is disabled: echo 1 > $binfmt/status"

# Where qemu finds the aarch64 dynamic linker and libc for exec'd programs.
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu

start=$SECONDS
rm -rf "$dir"
meson setup "$dir" --cross-file "$cross" -Dwerror=true \
  -Dgst=disabled -Dpython=disabled -Dexamples=disabled -Dfuzz=disabled
meson compile -C "$dir"
echo "(aarch64 build: $((SECONDS - start)) s)"

status=0
runs=0
run() { # run ARGS...: meson test under qemu, its log in $dir/meson-logs/aarch64-N.json
  runs=$((runs + 1))
  meson test -C "$dir" --print-errorlogs --num-processes "$(nproc)" --timeout-multiplier 3 \
    --logbase "aarch64-$runs" "$@" || status=1
}

# qemu-user 7.2 has no futex_waitv (syscall 449: ENOSYS): the library
# falls back to FUTEX_WAIT on one word in short slices, which these runs
# exercise.
start=$SECONDS
run --suite lib --suite fuzz-replay
run --suite stress
echo "(aarch64 tests: $((SECONDS - start)) s)"
exit $status
