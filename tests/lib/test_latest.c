/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_latest.c: next() with SHMRING_NEXT_LATEST skips to the newest queued frame; the gap counts as dropped. */
#include "common.h"

int main(void)
{
	char chan[64];
	t_name(chan, sizeof(chan), "latest");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 8};
	shmring_producer *p = t_producer(chan, &o);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	uint8_t b[64];
	for (uint64_t s = 0; s < 6; s++) {
		fill_frame(b, sizeof(b), s);
		CHECK_OK(shmring_producer_write(p, b, sizeof(b), NULL, 0));
	}
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, SHMRING_NEXT_LATEST), 1);
	CHECK(f.seq == 5 && frame_ok(f.data, f.size, 5));
	CHECK_OK(shmring_consumer_release(c, &f));
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_read, 2);
	CHECK_EQ(st.frames_dropped, 4);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, SHMRING_NEXT_LATEST), -ETIMEDOUT);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
