/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stress.h: what the stress driver and its peer processes share: frame sizes and report records. */
#ifndef SHMRING_TESTS_STRESS_H
#define SHMRING_TESTS_STRESS_H

#include "../lib/common.h"

#define STRESS_RING (256u * 1024u)

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
