# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helper process for two-process tests: a pattern writer, or a reader blocked in a wait.

Usage: helper.py writer NAME FRAMES [POLICY]   print "ready GEN", write FRAMES pattern frames once a
                                                reader attached, then per stdin line "write N" / "eos" / "close";
                                                EOF on stdin closes.
       helper.py wait NAME                      attach, print "waiting", block for a frame;
                                                on Ctrl-C print "interrupted" and exit 0.
"""

from __future__ import annotations

import sys

import shmring
from shmring.testing import pattern

SIZE = 4096 + 13


def writer(name: str, frames: int, policy: str = "lossless") -> int:
    w = shmring.Writer(name, caps="application/x-test", frame_size=0, max_frame_size=8192, policy=policy)
    seq = 0
    print(f"ready {w.generation}", flush=True)
    if frames and w.wait_reader(30):  # frames written before a reader attached reach nobody
        for _ in range(frames):
            w.write(pattern(seq, SIZE), pts=seq, timeout=30)
            seq += 1
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "write":
            for _ in range(int(cmd[1])):
                w.write(pattern(seq, SIZE), pts=seq)
                seq += 1
            print("written", flush=True)
        elif cmd[0] == "eos":
            w.eos()
            print("eos", flush=True)
        elif cmd[0] == "close":
            break
    w.close()
    print("closed", flush=True)
    return 0


def wait(name: str) -> int:
    with shmring.Reader(name, timeout=10) as r:
        print("waiting", flush=True)
        try:
            r.next_frame(timeout=30)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            return 0
    print("no interrupt", flush=True)
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "writer":
        sys.exit(writer(sys.argv[2], int(sys.argv[3]), *sys.argv[4:]))
    sys.exit(wait(sys.argv[2]))
