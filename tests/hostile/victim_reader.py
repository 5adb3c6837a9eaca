# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python Reader as the victim of a forged producer.

victim_reader.py NAME [TRUST_UID]: attach (5 s, or HOSTILE_ATTACH_MS, to find the producer), read frames
until the end of stream or an error.  Prints "frame SIZE" per frame, then "eos" (exit 0) or
"error CLASS(errno=N): MESSAGE" (exit 1).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import shmring  # noqa: E402


def main() -> int:
    uid = int(sys.argv[2]) if len(sys.argv) > 2 else None
    try:
        attach = int(os.environ.get("HOSTILE_ATTACH_MS", "5000")) / 1000
        with shmring.Reader(sys.argv[1], timeout=attach, producer_uid=uid) as r:
            while True:
                f = r.next_frame(timeout=5.0)
                if f is None:
                    print("eos", flush=True)
                    return 0
                print(f"frame {f.size}", flush=True)
                f.release()
    except shmring.Error as e:
        print(f"error {type(e).__name__}(errno={getattr(e, 'errno', None)}): {e}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
