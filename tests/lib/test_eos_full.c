/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_eos_full.c: an end of stream reaches a drop-new reader whose queue is full (its oldest entry pushed out and counted), so a producer that keeps the channel open and streams again is seen to have ended the first stream. */
#include "common.h"

static uint64_t drops_of(shmring_producer *p, pid_t pid)
{
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	for (unsigned i = 0; i < SHMRING_MAX_READERS; i++)
		if (st.reader[i].pid == (int32_t)pid)
			return st.reader[i].frames_dropped;
	FAIL("reader of pid %d not in the table", (int)pid);
}

static void write_frame(shmring_producer *p, uint64_t s)
{
	uint8_t buf[64];
	fill_frame(buf, sizeof buf, s);
	CHECK_OK(shmring_producer_write(p, buf, sizeof buf, NULL, 0));
}

static void read_frame(shmring_consumer *c, uint64_t s)
{
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, s);
	CHECK(frame_ok(f.data, f.size, s));
	CHECK_OK(shmring_consumer_release(c, &f));
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "eos_full");
	struct shmring_producer_options o = {.slot_size = 4096, .policy = SHMRING_POLICY_DROP_NEW,
					      .queue_len = 2};
	shmring_producer *p = t_producer(chan, &o);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));

	write_frame(p, 0);
	read_frame(c, 0);
	/* It stops reading: 1 and 2 queued, 3 and 4 dropped (drop-new). */
	for (uint64_t s = 1; s < 5; s++)
		write_frame(p, s);
	CHECK_EQ(drops_of(p, getpid()), 2);
	/* The end of stream finds the queue full: it pushes 1 out (a drop). */
	CHECK_OK(shmring_producer_eos(p, 0));
	CHECK_EQ(drops_of(p, getpid()), 3);

	/* The channel stays open and a new stream starts. */
	write_frame(p, 5); /* the queue is full again (2, EOS): dropped */
	CHECK_EQ(drops_of(p, getpid()), 4);
	struct shmring_frame f;
	read_frame(c, 2);
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 0); /* the end of the first stream */
	write_frame(p, 6);
	read_frame(c, 6);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);

	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_read, 3);
	CHECK_EQ(st.frames_dropped, 4); /* seq gaps 1 and 3..5: every drop counted */
	CHECK_EQ(drops_of(p, getpid()), 4);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
