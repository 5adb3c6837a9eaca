#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/install/smoke.sh VERSION: checks an installed shmring as a new login shell sees it, with no environment variables set.
# Prints one "ok - ..." or "not ok - ..." line per check; exits 1 if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 VERSION" >&2
  exit 2
fi
version=$1

# Run again with an empty environment: only the PATH a new shell gets, and a
# HOME of its own (GStreamer keeps its registry there).
if [ "${2:-}" != --clean-env ]; then
  home=$(mktemp -d /tmp/shmring-smoke.XXXXXX)
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" \
    bash "$here/smoke.sh" "$version" --clean-env
  rc=$?
  rm -rf "$home"
  exit $rc
fi

frames=30
caps=video/x-raw,format=BGR,width=320,height=240,framerate=30/1
work="$HOME/work"         # where the C reader is built
elsewhere="$HOME/elsewhere" # an unrelated current directory for Python
mkdir -p "$work" "$elsewhere"
failed=0

# check NAME COMMAND...: runs COMMAND, its output in a log shown only when it fails.
check() {
  local name=$1; shift
  if "$@" >"$work/log" 2>&1; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    sed 's/^/    /' "$work/log"
    failed=1
  fi
}

# with_producer CHANNEL OUT READER...: runs READER (which reads CHANNEL), its output in OUT,
# while a gst-launch-1.0 producer writes $frames BGR frames then end of stream; fails if either fails.
with_producer() {
  local ch=$1 out=$2 reader
  shift 2
  "$@" >"$out" 2>&1 &
  reader=$!
  if ! timeout 60 gst-launch-1.0 -q videotestsrc num-buffers=$frames ! "$caps" ! shmringsink name="$ch"; then
    echo "producer failed"
    kill $reader 2>/dev/null
    wait $reader
    return 1
  fi
  wait $reader || { echo "reader failed:"; cat "$out"; return 1; }
}

gst_inspect() {
  gst-inspect-1.0 shmringsink && gst-inspect-1.0 shmringsrc &&
    gst-inspect-1.0 shmring | grep -E "^  Version +$version\$"
}

gst_pair() {
  local n
  with_producer "smoke-gst-$$" "$work/out" timeout 60 gst-launch-1.0 -v \
    shmringsrc name="smoke-gst-$$" timeout=30000000000 ! fakesink silent=false || return 1
  n=$(grep -c 'last-message = chain' "$work/out")
  echo "shmringsrc received $n of $frames frames"
  [ "$n" -eq $frames ]
}

python_reader() {
  local out
  # shellcheck disable=SC2016
  with_producer "smoke-py-$$" "$work/out" timeout 60 bash -c 'cd "$1" && exec /usr/bin/python3 -c "$2" "$3"' \
    - "$elsewhere" '
import sys
import shmring

n = 0
with shmring.Reader(sys.argv[1], timeout=30.0) as reader:
    for frame in reader:
        if frame.array.shape != (240, 320, 3):
            sys.exit(f"frame {frame.seq}: shape {frame.array.shape}, expected (240, 320, 3)")
        n += 1
print(n, shmring.__version__, shmring.__file__)
' "smoke-py-$$" || return 1
  out=$(cat "$work/out")
  echo "/usr/bin/python3 in $elsewhere read: $out"
  case "$out" in
    "$frames $version /usr/"*) true ;;
    *) echo "expected $frames frames, version $version, imported from /usr/"; false ;;
  esac
}

c_reader() {
  local out
  cp "$here/reader.c" "$work/reader.c"
  # shellcheck disable=SC2046
  cc -o "$work/reader" "$work/reader.c" $(pkg-config --cflags --libs shmring) || return 1
  [ "$(pkg-config --modversion shmring)" = "$version" ] ||
    { echo "pkg-config --modversion shmring: $(pkg-config --modversion shmring)"; return 1; }
  with_producer "smoke-c-$$" "$work/out" timeout 60 "$work/reader" "smoke-c-$$" || return 1
  out=$(cat "$work/out")
  echo "C reader: $out"
  [ "$out" = "$frames 320x240 BGR" ]
}

command_and_man() {
  local out module
  command -v shmring || return 1
  out=$(shmring --version) || return 1
  module=$(cd "$elsewhere" && /usr/bin/python3 -m shmring --version) || return 1
  echo "shmring --version: $out; python3 -m shmring --version: $module"
  [ "${out##* }" = "$version" ] && [ "${module##* }" = "$version" ] || { echo "expected version $version"; return 1; }
  shmring ls || return 1
  man -w shmring
}

# A channel is an abstract socket @shmring/NAME while its producer runs: none of this run's is left.
nothing_left_bound() {
  ! grep -E "@shmring/smoke-.*-$$\$" /proc/net/unix
}

check "gst-inspect-1.0 finds shmringsink and shmringsrc, version $version" gst_inspect
check "gst-launch-1.0 pair: shmringsink -> shmringsrc moves $frames frames, both exit 0" gst_pair
check "/usr/bin/python3 from another directory imports shmring and reads $frames frames" python_reader
check "a C program built with pkg-config shmring reads $frames frames" c_reader
check "the shmring command is on PATH with --version and a man page" command_and_man
check "no channel of this run is left bound" nothing_left_bound
exit $failed
