/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_batch_take.c: a reader that is not live takes every queued entry it has holds for at once (the lossless
 * producer gets room for all of them), hands them out one by one in order, counts them against its holds, and
 * with SHMRING_NEXT_LATEST skips those not handed out (a gap counted as dropped). */
#include "common.h"

static void write_n(shmring_producer *p, uint64_t from, uint64_t n, int64_t timeout)
{
	uint8_t b[64];
	for (uint64_t s = from; s < from + n; s++) {
		fill_frame(b, sizeof b, s);
		CHECK_OK(shmring_producer_write(p, b, sizeof b, NULL, timeout));
	}
}

static void next_is(shmring_consumer *c, struct shmring_frame *f, uint64_t seq, unsigned flags)
{
	CHECK_EQ(shmring_consumer_next(c, f, SEC, flags), 1);
	CHECK_EQ(f->seq, seq);
	CHECK(frame_ok(f->data, f->size, seq));
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "batch_take");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 4, .max_holds = 4};
	shmring_producer *p = t_producer(chan, &o);
	shmring_consumer *c;
	struct shmring_consumer_options co = {.holds = 4};
	CHECK_OK(shmring_consumer_attach(chan, &co, 5 * SEC, &c));
	struct shmring_frame f[4];

	/* The queue of 4 is full: a lossless producer has no room. */
	write_n(p, 0, 4, 0);
	CHECK_ERR(shmring_producer_write(p, "x", 1, NULL, 0), -ETIMEDOUT);
	/* One next() takes all 4 queued entries: room for 4 more at once. */
	next_is(c, &f[0], 0, 0);
	CHECK_EQ(shmring_consumer_held(c), 1);
	write_n(p, 4, 4, 0);
	/* The others are handed out in order, each held. */
	next_is(c, &f[1], 1, 0);
	next_is(c, &f[2], 2, 0);
	next_is(c, &f[3], 3, 0);
	CHECK_EQ(shmring_consumer_held(c), 4);
	struct shmring_frame g;
	CHECK_ERR(shmring_consumer_next(c, &g, SEC, 0), -ENOBUFS); /* holding its 4 */
	for (unsigned i = 0; i < 4; i++)
		CHECK_OK(shmring_consumer_release(c, &f[i]));

	/* Every hold free again: next() takes 4..7 at once. */
	next_is(c, &f[0], 4, 0);
	next_is(c, &f[1], 5, 0);
	CHECK_OK(shmring_consumer_release(c, &f[0]));
	CHECK_OK(shmring_consumer_release(c, &f[1]));
	next_is(c, &f[0], 6, 0);
	/* Latest: 7 (taken, not handed out) and 8 are skipped for the newest. */
	write_n(p, 8, 2, 0);
	next_is(c, &f[1], 9, SHMRING_NEXT_LATEST);
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_read, 8);
	CHECK_EQ(st.frames_dropped, 2);
	CHECK_OK(shmring_consumer_release(c, &f[0]));
	CHECK_OK(shmring_consumer_release(c, &f[1]));
	CHECK_EQ(shmring_consumer_held(c), 0);
	/* Every hold given back: the producer can fill the queue again. */
	write_n(p, 10, 3, 0);
	CHECK_OK(shmring_producer_eos(p, 0));
	for (uint64_t s = 10; s < 13; s++) {
		next_is(c, &f[0], s, 0);
		CHECK_OK(shmring_consumer_release(c, &f[0]));
	}
	CHECK_EQ(shmring_consumer_next(c, &g, SEC, 0), 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
