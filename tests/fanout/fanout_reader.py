# SPDX-License-Identifier: LGPL-2.1-or-later
"""fanout_reader.py: the Python reader of the fanout tests (same arguments and output as fanout_reader.c).

usage: fanout_reader.py CHANNEL MIN MAX MODE HOLDS SLEEP_MS
"""

import json
import os
import sys
import time

import shmring
from shmring.testing import check_pattern

from fanout_sizes import frame_size


def main() -> int:
    channel, lo, hi, mode, holds, sleep_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    try:
        reader = shmring.Reader(channel, timeout=10.0, live=(mode == "live"), holds=holds)
    except shmring.Refused as e:
        print(f"fanout_reader.py: {e}", file=sys.stderr)
        return 3
    print(f"ready {os.getpid()}", flush=True)
    read = missed = wrong = 0
    next_seq = 0
    keep = (holds or 2) if sleep_ms > 0 else 1
    held = []
    with reader:
        while True:
            if len(held) == keep:  # give back the oldest: it held its most while asleep
                held.pop(0).release()
            frame = reader.next_frame(timeout=30.0)
            if frame is None:
                break
            if frame.seq < next_seq or len(frame.data) != frame_size(frame.seq, lo, hi) \
                    or not check_pattern(frame.data, frame.seq):
                wrong += 1
            else:
                missed += frame.seq - next_seq
            next_seq = frame.seq + 1
            read += 1
            held.append(frame)
            if sleep_ms > 0:
                time.sleep(sleep_ms / 1000)
        for f in held:
            f.release()
    print(json.dumps({"read": read, "missed": missed, "wrong": wrong, "last": next_seq - 1}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
