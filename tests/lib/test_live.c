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
	uint64_t seq = 0, last;

	/* The reader reads nothing: the producer keeps writing without
	 * waiting, reclaiming the oldest unread frames. */
	for (; seq < 100; seq++)
		CHECK_OK(t_write_pattern(p, 3000, seq, SHMRING_FOREVER));
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written, 100);
	CHECK(st.frames_dropped > 0);
	CHECK(st.frames_dropped < 100);
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
	 * touches it.  It cannot reuse space before the held frame, so new
	 * frames are dropped once the ring is full, but the unread frames
	 * are reclaimed all but the newest: the reader is not handed a
	 * backlog of stale frames when it comes back. */
	CHECK_OK(t_write_pattern(p, 3000, seq, 0));
	CHECK_EQ(shmring_consumer_next(c, &held, 0, 0), 1);
	CHECK_EQ(held.seq, seq);
	seq++;
	{
		int written = 0, dropped = 0;
		uint64_t newest_written = 0;
		for (int i = 0; i < 50; i++, seq++) {
			int r = t_write_pattern(p, 3000, seq, SHMRING_FOREVER);
			CHECK(r == 0 || r == -ENOBUFS);
			if (r == 0) {
				written++;
				newest_written = seq;
			} else {
				dropped++;
			}
		}
		CHECK(written > 1);
		CHECK(dropped > 0);
		CHECK_EQ(t_pattern_check(held.data, held.size, held.seq), 0);
		/* Exactly one frame is waiting: the newest one written. */
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(f.seq, newest_written);
		CHECK_EQ(t_pattern_check(f.data, f.size, f.seq), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	}
	CHECK_EQ(t_pattern_check(held.data, held.size, held.seq), 0);
	CHECK_OK(shmring_consumer_release(c, &held));
	/* Once the reader lets go, the next frame goes through at once. */
	CHECK_OK(t_write_pattern(p, 3000, seq, 0));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, seq);
	CHECK_OK(shmring_consumer_release(c, &f));
	seq++;

	/* Accounting: every sequence number was either read or counted as
	 * dropped (reclaimed unread, or dropped new). */
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_read + st.frames_dropped, seq);

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
