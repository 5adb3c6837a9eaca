/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stress.h: what the stress driver and its peer processes share: frame sizes and report records. */
#ifndef SHMRING_TESTS_STRESS_H
#define SHMRING_TESTS_STRESS_H

#include "../lib/common.h"

#define STRESS_RING (256u * 1024u)

/* How many frames (or round trips) a stress test moves: SHMRING_STRESS_FRAMES
 * from the environment if set (slow machines and emulators scale it down),
 * else 100,000. */
static inline uint64_t stress_frames(void)
{
	const char *s = getenv("SHMRING_STRESS_FRAMES");
	char *end;
	unsigned long long n;

	if (!s || !*s)
		return 100000;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end || n < 1000 || n > 100000000)
		FAIL("SHMRING_STRESS_FRAMES=\"%s\" is not a frame count: set it to a whole number "
		     "from 1000 to 100000000, or unset it for 100000", s);
	return n;
}

/* Size of frame seq: mostly small, every 13th up to 16 KiB, every 97th
 * larger than half the ring (so the ring wraps with padding). */
static inline size_t stress_size(uint64_t seq)
{
	if (seq % 97 == 0)
		return STRESS_RING / 2 + 4096 + (size_t)(seq % 4000);
	if (seq % 13 == 0)
		return 1 + (size_t)((seq * 7919) % 16384);
	return 1 + (size_t)((seq * 31) % 300);
}

/* Report records written by the peers to the driver. */
enum { REP_PRODUCER = 'P', REP_CONSUMER = 'C', REP_PROGRESS = 'R', REP_DEAD = 'D' };
struct stress_report {
	uint32_t tag;
	int32_t rc;
	uint64_t a, b, c, d, e;
};

#endif
