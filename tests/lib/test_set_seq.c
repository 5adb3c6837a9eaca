/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_set_seq.c: a producer that republishes numbered frames keeps their numbers: the first sets where the
 * numbering starts (no loss), a later jump is frames lost before the channel, seen by every reader as
 * dropped and counted in frames_lost; a number going back is refused and changes nothing. */
#include "common.h"

static void next_is(shmring_consumer *c, uint64_t seq)
{
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, seq);
	CHECK(frame_ok(f.data, f.size, seq));
	CHECK_OK(shmring_consumer_release(c, &f));
}

static void write_seq(shmring_producer *p, uint64_t seq)
{
	uint8_t buf[64];
	fill_frame(buf, sizeof buf, seq);
	CHECK_OK(shmring_producer_set_seq(p, seq));
	CHECK_OK(shmring_producer_write(p, buf, sizeof buf, NULL, SEC));
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "set_seq");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 8};
	shmring_producer *p = t_producer(chan, &o);
	shmring_consumer *a, *b;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &a));
	struct shmring_consumer_options lo = {.mode = SHMRING_MODE_LIVE};
	CHECK_OK(shmring_consumer_attach(chan, &lo, 5 * SEC, &b));

	write_seq(p, 1000); /* the first: where the numbering starts, nothing lost */
	write_seq(p, 1001); /* the next number: nothing lost */
	write_seq(p, 1005); /* 1002..1004 lost before the channel */
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written, 3);
	CHECK_EQ(st.frames_lost, 3);

	/* Behind the next number: refused, naming both, and nothing changes. */
	CHECK_EQ(shmring_producer_set_seq(p, 1002), -EINVAL);
	CHECK(strstr(shmring_last_error(), "1002") && strstr(shmring_last_error(), "1006"));
	uint8_t buf[64];
	fill_frame(buf, sizeof buf, 1006);
	CHECK_OK(shmring_producer_write(p, buf, sizeof buf, NULL, SEC));

	shmring_consumer *r[2] = {a, b};
	for (unsigned i = 0; i < 2; i++) {
		next_is(r[i], 1000);
		next_is(r[i], 1001);
		next_is(r[i], 1005);
		next_is(r[i], 1006);
		CHECK_OK(shmring_consumer_stats(r[i], &st));
		CHECK_EQ(st.frames_read, 4);
		CHECK_EQ(st.frames_dropped, 3); /* the gap: the frames lost before the channel */
		CHECK_EQ(st.frames_lost, 3);    /* what an observer reads from the header */
	}
	CHECK_OK(shmring_inspect(chan, &st, NULL));
	CHECK_EQ(st.frames_lost, 3);
	shmring_consumer_close(a);
	shmring_consumer_close(b);
	shmring_producer_close(p);
	return 0;
}
