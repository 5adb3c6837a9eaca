/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_drop_count: a write or reserve that returns -ENOBUFS counts exactly one drop and uses exactly one sequence number; gaps in seq equal frames_dropped. */
#include "common.h"

#define RING 16384u

static uint64_t dropped(shmring_producer *p)
{
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	return st.frames_dropped;
}

static void count(uint32_t policy)
{
	const char *name = t_channel("dropcount");
	shmring_producer *p = t_producer(name, RING, policy);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f, held;
	uint64_t enobufs = 0, gaps = 0, next = 0, got = 0;
	int holding = 0;

	for (uint64_t i = 0; i < 300; i++) {
		uint64_t before = dropped(p);
		size_t size = 500 + (i * 977) % 3500;
		int r;
		if (i % 2) {
			r = t_write_pattern(p, size, i, 0);
		} else {
			void *d;
			uint64_t id;
			r = shmring_producer_reserve(p, size, 0, &d, &id);
			if (r == 0)
				r = shmring_producer_commit(p, id, size, NULL);
		}
		if (r == -ENOBUFS) {
			/* Exactly one drop for this frame (live may also have
			 * reclaimed older frames before it gave up: those are
			 * counted in dropped() too, and seen as gaps below). */
			enobufs++;
			if (policy == SHMRING_POLICY_DROP_NEW)
				CHECK_EQ(dropped(p), before + 1);
			else
				CHECK(dropped(p) >= before + 1);
		} else {
			CHECK_OK(r);
		}
		/* The reader reads in bursts and, in live, holds a frame meanwhile. */
		if (i % 7 == 6) {
			if (holding)
				CHECK_OK(shmring_consumer_release(c, &held));
			holding = 0;
			while (shmring_consumer_next(c, &f, 0, 0) == 1) {
				gaps += f.seq - next;
				next = f.seq + 1;
				got++;
				if (policy == SHMRING_POLICY_LIVE && !holding) {
					held = f;
					holding = 1;
				} else {
					CHECK_OK(shmring_consumer_release(c, &f));
				}
			}
		}
	}
	if (holding)
		CHECK_OK(shmring_consumer_release(c, &held));
	while (shmring_consumer_next(c, &f, 0, 0) == 1) {
		gaps += f.seq - next;
		next = f.seq + 1;
		got++;
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK(enobufs > 0);
	CHECK_EQ(gaps, dropped(p));
	CHECK_EQ(got + dropped(p), 300);
	if (policy == SHMRING_POLICY_DROP_NEW)
		CHECK_EQ(enobufs, dropped(p));
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
}

int main(void)
{
	count(SHMRING_POLICY_DROP_NEW);
	count(SHMRING_POLICY_LIVE);
	return 0;
}
