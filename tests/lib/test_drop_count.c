/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_drop_count.c: drop-new keeps a full queue's frames and drops the new ones for that reader only; each drop is counted once and seq gaps equal the drops. */
#include "common.h"

static uint64_t drops_of(shmring_producer *p, pid_t pid, uint32_t mode)
{
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	for (unsigned i = 0; i < SHMRING_MAX_READERS; i++)
		if (st.reader[i].pid == (int32_t)pid && st.reader[i].mode == mode)
			return st.reader[i].frames_dropped;
	FAIL("reader of pid %d not in the table", (int)pid);
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "drop_count");
	struct shmring_producer_options o = {.slot_size = 4096, .policy = SHMRING_POLICY_DROP_NEW,
					      .queue_len = 3};
	shmring_producer *p = t_producer(chan, &o);
	shmring_consumer *slow, *fast;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &slow));
	struct shmring_consumer_options lo = {.mode = SHMRING_MODE_LIVE};
	CHECK_OK(shmring_consumer_attach(chan, &lo, 5 * SEC, &fast));

	/* 10 frames, nobody reads: the queue of 3 keeps 0..2; 3..9 are
	 * dropped for the drop-new reader; the live reader keeps 7..9. */
	uint8_t buf[64];
	for (uint64_t s = 0; s < 10; s++) {
		fill_frame(buf, sizeof buf, s);
		CHECK_OK(shmring_producer_write(p, buf, sizeof buf, NULL, 0)); /* never waits */
	}
	CHECK_EQ(drops_of(p, getpid(), SHMRING_MODE_CHANNEL), 7);
	CHECK_EQ(drops_of(p, getpid(), SHMRING_MODE_LIVE), 7);
	struct shmring_frame f;
	for (uint64_t s = 0; s < 3; s++) {
		CHECK_EQ(shmring_consumer_next(slow, &f, SEC, 0), 1);
		CHECK_EQ(f.seq, s);
		CHECK(frame_ok(f.data, f.size, s));
		CHECK_OK(shmring_consumer_release(slow, &f));
	}
	for (uint64_t s = 7; s < 10; s++) {
		CHECK_EQ(shmring_consumer_next(fast, &f, SEC, 0), 1);
		CHECK_EQ(f.seq, s);
		CHECK(frame_ok(f.data, f.size, s));
		CHECK_OK(shmring_consumer_release(fast, &f));
	}
	/* Room again: the next frame arrives, after a gap of exactly the drops. */
	fill_frame(buf, sizeof buf, 10);
	CHECK_OK(shmring_producer_write(p, buf, sizeof buf, NULL, 0));
	CHECK_EQ(shmring_consumer_next(slow, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 10);
	CHECK_EQ(f.seq - 2 - 1, drops_of(p, getpid(), SHMRING_MODE_CHANNEL));
	CHECK_OK(shmring_consumer_release(slow, &f));
	CHECK_EQ(shmring_consumer_next(fast, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 10);
	CHECK_OK(shmring_consumer_release(fast, &f));
	/* Counted once: reading did not change the counts. */
	CHECK_EQ(drops_of(p, getpid(), SHMRING_MODE_CHANNEL), 7);
	CHECK_EQ(drops_of(p, getpid(), SHMRING_MODE_LIVE), 7);
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(slow, &st));
	CHECK_EQ(st.frames_read, 4);
	CHECK_EQ(st.frames_dropped, 7);
	CHECK_EQ(st.frames_written, 11);
	shmring_consumer_close(slow);
	shmring_consumer_close(fast);
	shmring_producer_close(p);
	return 0;
}
