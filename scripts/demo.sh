#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/demo.sh: install what is missing, build, and move 1080p BGR frames between processes through shmring.
#
# FRAMES=N (default 300) sets how many frames each stage moves (30 per second).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo

frames=${FRAMES:-300}
case "$frames" in
  '' | *[!0-9]* | 0) echo "demo: FRAMES must be a positive number of frames, not '$frames'" >&2; exit 2 ;;
esac

# Build only what the demo needs, quietly: the log is shown if something fails.
mkdir -p build
log="$PWD/build/demo-build.log"
options=(-Dtests=disabled -Dfuzz=disabled -Dexamples=enabled -Dgst=enabled)
targets=(examples/demo_producer examples/demo_consumer examples/capture gst/gstshmring)
echo "== Building the library, the GStreamer plugin and the examples (log: build/demo-build.log)"
if ! {
  if [ -f build/build.ninja ]; then meson configure build "${options[@]}"; else meson setup build "${options[@]}"; fi &&
    meson compile -C build "${targets[@]}"
} >"$log" 2>&1; then
  cat "$log" >&2
  echo "demo: the build failed (above, and in build/demo-build.log); a stale build dir is fixed by: rm -rf build" >&2
  exit 1
fi

channel="demo-$$"
out=$(mktemp -d)
cleanup() {
  for pid in $(jobs -p); do
    kill -TERM "$pid" 2>/dev/null || true
  done
  rm -rf "$out"
}
trap cleanup EXIT

# stop PID: end a producer with SIGTERM (it sends end of stream), then SIGKILL if it is still there after 5 s.
stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

failed=0
seconds=$(((frames + 29) / 30))

echo
echo "== 1. C producer -> C consumer: ${frames} frames of 1920x1080 BGR at 30 fps, lossless (${seconds} s)"
build/examples/demo_consumer "$channel" 10 >"$out/consumer" 2>&1 &
consumer=$!
build/examples/demo_producer "$channel" "$frames" 30 lossless || failed=1
wait "$consumer" || failed=1
cat "$out/consumer"

export GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"

echo
echo "== 2. GStreamer capture (examples/capture, shmringsink) -> Python reader (examples/reader.py), ${frames} frames (${seconds} s)"
# The reader waits for the channel; the capture keeps every frame for it (--wait-for-reader) and
# reports after the reader's lines.
/usr/bin/python3 examples/reader.py "${channel}-py" --timeout 10 --frames "$frames" --verify &
reader=$!
build/examples/capture "${channel}-py" --test-source --num-buffers "$frames" --policy lossless \
  --wait-for-reader --verify-pattern >"$out/capture" 2>&1 &
capture=$!
if wait "$reader"; then
  wait "$capture" || failed=1
else
  failed=1
  stop "$capture"
fi
cat "$out/capture"

echo
shot="$PWD/build/demo-opencv.png"
rm -f "$shot"
display_cmd=(/usr/bin/python3 examples/opencv_display.py "${channel}-py" --frames "$frames" --screenshot "$shot")
if [ -n "${DISPLAY:-}" ]; then
  echo "== 3. OpenCV window (examples/opencv_display.py) on ${DISPLAY}, ${frames} frames (q closes it)"
else
  echo "== 3. OpenCV window (examples/opencv_display.py), ${frames} frames, under xvfb-run (no DISPLAY set)"
  display_cmd=(xvfb-run -a -s "-screen 0 1920x1080x24" "${display_cmd[@]}")
fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then # OpenCV's Qt wants one (as root over ssh there is none)
  export XDG_RUNTIME_DIR="$out/xdg"
  mkdir -m 0700 "$XDG_RUNTIME_DIR"
fi
build/examples/capture "${channel}-py" --test-source >"$out/capture" 2>&1 &
capture=$!
"${display_cmd[@]}" || failed=1
stop "$capture"
if [ ! -s "$shot" ]; then
  echo "demo: no screenshot was saved; what the producer said:" >&2
  cat "$out/capture" >&2
  failed=1
fi

echo
if [ "$failed" -ne 0 ]; then
  echo "demo: FAILED (see the messages above)"
  exit 1
fi
echo "demo: every stage passed"
