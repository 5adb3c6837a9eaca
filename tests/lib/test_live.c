/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_live: a slow reader never stalls the producer, gets the freshest frames, and its held frames stay intact. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("live");
	shmring_producer *p = t_producer(name, 16384, SHMRING_POLICY_LIVE);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f, held;
	struct shmring_stats st;
	uint64_t seq = 0, last, reclaimed;

	/* The reader reads nothing: the producer keeps writing without
	 * waiting, reclaiming the oldest unread frames. */
	for (; seq < 100; seq++)
		CHECK_OK(t_write_pattern(p, 3000, seq, SHMRING_FOREVER));
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written, 100);
	CHECK(st.frames_dropped > 0);
	CHECK(st.frames_dropped < 100);
	reclaimed = st.frames_dropped;
	/* What is left are the newest frames, in order. */
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, st.frames_dropped);
	CHECK_EQ(t_pattern_check(f.data, f.size, f.seq), 0);
	last = f.seq;
	CHECK_OK(shmring_consumer_release(c, &f));
	while (shmring_consumer_next(c, &f, 0, 0) == 1) {
		CHECK_EQ(f.seq, last + 1);
		CHECK_EQ(t_pattern_check(f.data, f.size, f.seq), 0);
		last = f.seq;
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_EQ(last, 99);

	/* The reader holds a frame: the producer never waits and never
	 * touches it, it drops new frames instead of reclaiming. */
	CHECK_OK(t_write_pattern(p, 3000, seq, 0));
	CHECK_EQ(shmring_consumer_next(c, &held, 0, 0), 1);
	CHECK_EQ(held.seq, seq);
	seq++;
	{
		int written = 0, dropped = 0;
		for (int i = 0; i < 50; i++, seq++) {
			int r = t_write_pattern(p, 3000, seq, SHMRING_FOREVER);
			CHECK(r == 0 || r == -ENOBUFS);
			if (r == 0)
				written++;
			else
				dropped++;
		}
		CHECK(written > 0);
		CHECK(dropped > 0);
	}
	CHECK_EQ(t_pattern_check(held.data, held.size, held.seq), 0);
	/* Frames after the held one are readable, increasing, and intact,
	 * and none is older than the held one. */
	last = held.seq;
	while (shmring_consumer_next(c, &f, 0, 0) == 1) {
		CHECK(f.seq > last);
		CHECK_EQ(t_pattern_check(f.data, f.size, f.seq), 0);
		last = f.seq;
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_EQ(t_pattern_check(held.data, held.size, held.seq), 0);
	CHECK_OK(shmring_consumer_release(c, &held));

	/* Accounting: every frame is written or dropped; reclaimed frames
	 * were written first, frames dropped while the reader held one
	 * never were. */
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written + (st.frames_dropped - reclaimed), seq);

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
