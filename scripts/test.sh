#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/test.sh: install what is missing, build from scratch and run every test: plain, sanitizers, valgrind, fuzz, aarch64 under qemu, Debian 13, then install checks.
# Every build here turns warnings into errors (-Dwerror=true); the default build does not.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

jobs=$(nproc)
total_ok=0
total_fail=0
count() { # count LOG.json: add its test results to the totals
  local log="$1"
  [ -f "$log" ] || return 0
  local ok fail
  ok=$(/usr/bin/python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sum(x["result"] in ("OK","EXPECTEDFAIL") for x in r))' "$log")
  fail=$(/usr/bin/python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sum(x["result"] in ("FAIL","TIMEOUT","ERROR","UNEXPECTEDPASS") for x in r))' "$log")
  total_ok=$((total_ok + ok))
  total_fail=$((total_fail + fail))
}
status=0
runs=0
run() { # run BUILD_DIR ARGS...: meson test, remembering failure
  local dir="$1"; shift
  # A log of its own per run; meson appends "-WRAPPER" to the name under --wrap.
  runs=$((runs + 1))
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" --logbase "run$runs" "$@" || status=1
  local log
  for log in "$dir/meson-logs/run$runs.json" "$dir/meson-logs/run$runs"-*.json; do
    count "$log"
  done
}

echo "== build and test (gcc, every suite)"
rm -rf build build-asan build-fuzz build-aarch64 build-trixie
meson setup build -Dwerror=true
meson compile -C build
run build --no-suite fuzz

echo "== library, stress, GStreamer element and pipeline-shape tests under AddressSanitizer + UndefinedBehaviorSanitizer"
meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
  -Dexamples=disabled -Dfuzz=disabled
meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run build-asan --suite lib --suite stress --suite fuzz-replay
# The plugin is loaded into the (sanitized) test program itself, not into
# GStreamer's unsanitized plugin scanner.  Leaks are the leaks tracer's and
# valgrind's job: GLib's own process-lifetime allocations would drown them.
GST_REGISTRY_FORK=no ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run build-asan gst-elements
# The pipelines users write (gst-shapes): producers and readers are Python
# and gst-launch-1.0 processes, so the sanitizer runtimes are preloaded
# into them to load the sanitized plugin and library.
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run build-asan --suite gst-shapes

echo "== library suite under valgrind"
run build --suite lib --suite fuzz-replay \
  --wrap='valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no'

echo "== GStreamer element tests under valgrind"
# In one process (CK_FORK=no), so valgrind sees every test's allocations.
CK_FORK=no run build gst-elements --timeout-multiplier 5 \
  --wrap="valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no --suppressions=$PWD/tests/gst/valgrind.supp"

echo "== the pipeline shapes under valgrind: each shape once (lossless), every producer and reader process under it"
# Memory errors only: Python keeps what it allocates until exit, so leaks
# are the leaks tracer's job (gst-elements-leaks).  rs-sync checks timing
# against the clock, which valgrind's pace cannot keep.
mapfile -t shapes < <(meson test -C build --list --suite gst-shapes 2>/dev/null |
  sed -n 's|.* / \(gst-shapes-.*-lossless\)$|\1|p' | grep -v -e '-rs-sync-')
PYTHONMALLOC=malloc \
  SHAPES_PEER_WRAP="valgrind --quiet --error-exitcode=1 --leak-check=no --suppressions=$PWD/tests/gst/valgrind.supp" \
  run build --timeout-multiplier 4 "${shapes[@]}"

echo "== fuzzing (clang, libFuzzer): fuzz-pool (a reader of a hostile pool) and fuzz-conn (the connection's messages both ways, reader blocks), -Dfuzz_seconds each (60); every C file compiled with clang, warnings as errors"
CC=clang meson setup build-fuzz -Dwerror=true -Dpython=disabled
meson compile -C build-fuzz
run build-fuzz --suite fuzz

echo "== C library, stress and fuzz corpus cross-built for aarch64, run under qemu-user"
start=$SECONDS
scripts/test-aarch64.sh build-aarch64 || { status=1; aarch64_rc=1; }
fail_before=$total_fail
for log in build-aarch64/meson-logs/aarch64-*.json; do
  count "$log"
done
# A failed build or setup has no test log: count it as one failure.
if [ "${aarch64_rc:-0}" -ne 0 ] && [ "$total_fail" -eq "$fail_before" ]; then
  total_fail=$((total_fail + 1))
fi
echo "(aarch64 stage: $((SECONDS - start)) s)"

echo "== Python suites with Debian's arm64 Python under qemu-user (root cached in /var/cache/shmring)"
start=$SECONDS
aarch64_py_rc=0
scripts/test-aarch64-python.sh build || { status=1; aarch64_py_rc=1; }
fail_before=$total_fail
for junit in build/meson-logs/aarch64-python*.xml; do
  [ -f "$junit" ] || continue
  read -r ok fail < <(/usr/bin/python3 -c '
import sys, xml.etree.ElementTree as E
s = E.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
n, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
print(n - f - e - k, f + e)' "$junit")
  total_ok=$((total_ok + ok))
  total_fail=$((total_fail + fail))
done
# No root, no Python, or a run cut short by its time limit: one failure.
if [ "$aarch64_py_rc" -ne 0 ] && [ "$total_fail" -eq "$fail_before" ]; then
  total_fail=$((total_fail + 1))
fi
echo "(aarch64 Python stage: $((SECONDS - start)) s)"

echo "== every suite but the fuzzer's, the Debian packages and the install from source in a Debian 13 root (cached in /var/cache/shmring)"
start=$SECONDS
trixie_rc=0
scripts/test-trixie.sh build-trixie || { status=1; trixie_rc=1; }
fail_before=$total_fail
count build-trixie/meson-logs/trixie.json
if [ -f build-trixie/install.txt ]; then
  total_ok=$((total_ok + $(grep -c '^ok ' build-trixie/install.txt || true)))
  total_fail=$((total_fail + $(grep -c '^not ok ' build-trixie/install.txt || true)))
fi
# No root, a failed build, or checks that stopped early: one failure.
if [ "$trixie_rc" -ne 0 ] && [ "$total_fail" -eq "$fail_before" ]; then
  total_fail=$((total_fail + 1))
fi
echo "(Debian 13 stage: $((SECONDS - start)) s)"

echo "== install checks: Debian packages, then from source; each removed again, the machine left as it was"
install_check() { # install_check SCRIPT ARGS...: run an install check, counting its "ok" / "not ok" lines
  local out rc ok fail start=$SECONDS
  out=$(mktemp)
  set +e
  "$@" | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  ok=$(grep -c '^ok ' "$out" || true)
  fail=$(grep -c '^not ok ' "$out" || true)
  rm -f "$out"
  echo "($1: $((SECONDS - start)) s)"
  if [ "$rc" -eq 77 ]; then
    return 0
  elif [ "$rc" -ne 0 ]; then
    status=1
    [ "$fail" -gt 0 ] || fail=1
  fi
  total_ok=$((total_ok + ok))
  total_fail=$((total_fail + fail))
}
install_check tests/install/packages.sh
install_check tests/install/source.sh build

echo "tests: ${total_ok} passed, ${total_fail} failed"
exit $status
