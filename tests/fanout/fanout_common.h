/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanout_common.h: the frame pattern the fanout programs stamp and check (the one shmring.testing uses). */
#ifndef SHMRING_FANOUT_COMMON_H
#define SHMRING_FANOUT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Frame seq of n bytes: bytes 0..7 = seq (little-endian), then byte i =
 * (seq * 131 + i * 7) & 0xff. */
static inline void pattern_fill(uint8_t *p, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((seq * 131 + i * 7) & 0xff);
	memcpy(p, &seq, n < 8 ? n : 8);
}

static inline int pattern_ok(const uint8_t *p, size_t n, uint64_t seq)
{
	uint64_t s = 0;
	memcpy(&s, p, n < 8 ? n : 8);
	if (n >= 8 && s != seq)
		return 0;
	for (size_t i = 8; i < n; i++)
		if (p[i] != (uint8_t)((seq * 131 + i * 7) & 0xff))
			return 0;
	return 1;
}

/* The size of frame seq, between lo and hi (the producer's and readers' rule). */
static inline size_t frame_size(uint64_t seq, size_t lo, size_t hi)
{
	uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 32;
	return lo + (size_t)(x % (hi - lo + 1));
}

#endif
