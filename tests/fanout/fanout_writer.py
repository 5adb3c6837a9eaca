# SPDX-License-Identifier: LGPL-2.1-or-later
"""fanout_writer.py: the Python producer of the fanout tests (same arguments and output as fanout_producer.c).

usage: fanout_writer.py CHANNEL FRAMES POLICY MIN MAX FPS MAX_READERS QUEUE HOLDS
"""

import json
import select
import sys
import time

import shmring
from shmring.testing import pattern

from fanout_sizes import frame_size


def stop_asked() -> bool:
    return bool(select.select([sys.stdin], [], [], 0)[0])


def main() -> int:
    name, frames, policy = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lo, hi, fps, max_readers, queue, holds = (int(a) for a in sys.argv[4:10])
    w = shmring.Writer(name, caps="application/x-shmring-fanout", policy=policy, max_frame_size=hi,
                  max_readers=max_readers, queue_len=queue, max_holds=holds, timeout=30.0)
    print("ready", flush=True)
    want = int(sys.stdin.readline().split()[1])
    end = time.monotonic() + 10
    while w.readers < want:
        if time.monotonic() > end:
            print("fanout_writer.py: readers did not attach within 10 s", file=sys.stderr)
            return 1
        time.sleep(0.001)
    failed = 0
    timeout = 30.0 if policy == "lossless" else 0.0
    seq = 0
    t0 = time.monotonic()
    while seq < frames if frames else not (seq % 64 == 0 and stop_asked()):
        try:
            if not w.write(pattern(seq, frame_size(seq, lo, hi)), pts=seq, timeout=timeout):
                failed += 1
        except shmring.Timeout:
            if policy == "lossless":
                raise
            failed += 1
        seq += 1
        if fps:
            time.sleep(max(0.0, t0 + seq / fps - time.monotonic()))
    readers = [{"pid": r["pid"], "dropped": r["dropped"]} for r in w.reader_stats()]
    w.eos(timeout=timeout or None)
    print(json.dumps({"written": w.frames_written, "failed": failed, "slots": w.n_slots,
                      "slot_size": w.slot_size, "readers": readers}), flush=True)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
