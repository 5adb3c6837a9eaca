/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cross_common.h: the shared frame pattern and small helpers for the cross-language test programs. */
#ifndef CROSS_COMMON_H
#define CROSS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Payload of frame seq, n bytes: bytes 0..7 = seq (little-endian u64),
 * then byte i = (seq * 131 + i * 7) & 0xff.  shmring.testing.pattern()
 * computes the same bytes in Python. */
static inline void cross_pattern_fill(uint8_t *buf, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((seq * 131u + i * 7u) & 0xffu);
	for (size_t i = 0; i < 8 && i < n; i++)
		buf[i] = (uint8_t)(seq >> (8 * i));
}

/* 0 if buf holds frame seq's pattern, else 1 + the first wrong offset. */
static inline size_t cross_pattern_check(const uint8_t *buf, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t want = i < 8 ? (uint8_t)(seq >> (8 * i)) : (uint8_t)((seq * 131u + i * 7u) & 0xffu);
		if (buf[i] != want)
			return i + 1;
	}
	return 0;
}

static inline uint64_t cross_arg_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "bad %s: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

#endif
