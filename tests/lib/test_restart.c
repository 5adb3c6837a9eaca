/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_restart.c: a new producer of the same name starts right after the old one closes; a reader of the old one sees the end and attaches to the new one, of a new generation. */
#include "common.h"

static shmring_producer *start(const char *chan)
{
	struct shmring_producer_options o = {.slot_size = 4096};
	shmring_producer *p = t_producer(chan, &o);
	return p;
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "restart");
	uint64_t gen = 0;
	for (int round = 0; round < 3; round++) {
		shmring_producer *p = start(chan);
		shmring_consumer *c;
		CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
		struct shmring_stats st;
		CHECK_OK(shmring_consumer_stats(c, &st));
		if (round)
			CHECK(st.generation != gen);
		gen = st.generation;
		uint8_t b[32];
		fill_frame(b, sizeof b, 0);
		CHECK_OK(shmring_producer_write(p, b, sizeof b, NULL, SEC));
		struct shmring_frame f;
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
		CHECK_EQ(f.seq, 0); /* each producer counts from 0 */
		CHECK(frame_ok(f.data, f.size, 0));
		CHECK_OK(shmring_consumer_release(c, &f));
		shmring_producer_close(p); /* no EOS */
		CHECK_ERR(shmring_consumer_next(c, &f, 5 * SEC, 0), -ESHUTDOWN);
		shmring_consumer_close(c);
		CHECK(!t_leftover(chan));
	}
	return 0;
}
