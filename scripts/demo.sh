#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/demo.sh: install what is missing, build, and move 1080p BGR frames between processes through shmring.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

features=(-Dexamples=enabled -Dgst=enabled -Dpython=enabled)
if [ -f build/build.ninja ]; then
  meson configure build "${features[@]}"
else
  meson setup build "${features[@]}"
fi
meson compile -C build

frames=${FRAMES:-300}
channel="demo-$$"
trap 'rm -f "/dev/shm/shmring.${channel}" "/dev/shm/shmring.${channel}-py"' EXIT

echo "== C producer -> C consumer: ${frames} frames of 1920x1080 BGR at 30 fps, lossless"
build/examples/demo_consumer "$channel" 10 &
consumer=$!
build/examples/demo_producer "$channel" "$frames" 30 lossless
wait "$consumer"

if [ -x build/examples/capture ]; then
  echo
  echo "== GStreamer capture (examples/capture, shmringsink) -> Python reader (examples/reader.py)"
  export GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
  export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
  /usr/bin/python3 examples/reader.py "${channel}-py" --timeout 10 --frames "$frames" --verify &
  reader=$!
  build/examples/capture "${channel}-py" --test-source --num-buffers "$frames" --policy lossless --verify-pattern
  wait "$reader"
  if [ -n "${DISPLAY:-}" ]; then
    echo
    echo "== OpenCV window (close it or press q to stop)"
    build/examples/capture "${channel}-py" &
    capture=$!
    /usr/bin/python3 examples/opencv_display.py "${channel}-py" || true
    kill "$capture" 2>/dev/null || true
    wait "$capture" 2>/dev/null || true
  fi
fi
