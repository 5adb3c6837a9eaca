/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_reserve_commit.c: several reservations at once reach the reader in the order of their commits; an aborted one is never seen; max_reserved is enforced. */
#include "common.h"

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "reserve_commit");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 4, .max_reserved = 2};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	void *a, *b, *x;
	uint64_t ia, ib, ix;
	CHECK_ERR(shmring_producer_reserve(p, 100, SEC, &a, &ia), -EINVAL); /* no description yet */
	CHECK_OK(shmring_producer_set_stream(p, &si));
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));

	/* Two at once, committed in the other order. */
	CHECK_OK(shmring_producer_reserve(p, 1000, SEC, &a, &ia));
	CHECK_OK(shmring_producer_reserve(p, 2000, SEC, &b, &ib));
	CHECK(a != b);
	CHECK_ERR(shmring_producer_reserve(p, 10, SEC, &x, &ix), -EINVAL); /* max_reserved */
	CHECK_MSG("2");
	fill_frame(a, 1000, 0);
	fill_frame(b, 1500, 1);
	struct shmring_meta m = SHMRING_META_INIT;
	m.pts = 11;
	CHECK_OK(shmring_producer_commit(p, ib, 1500, &m));
	m.pts = 22;
	CHECK_OK(shmring_producer_commit(p, ia, 1000, &m));
	CHECK(shmring_producer_commit(p, ia, 1000, &m) < 0); /* committed already */

	/* An aborted reservation is never seen; its slot is used again. */
	CHECK_OK(shmring_producer_reserve(p, 100, SEC, &x, &ix));
	CHECK_OK(shmring_producer_abort(p, ix));
	CHECK(shmring_producer_abort(p, ix) < 0);
	CHECK(shmring_producer_commit(p, ix, 10, NULL) < 0);
	CHECK_OK(shmring_producer_reserve(p, 100, SEC, &x, &ix));
	fill_frame(x, 100, 2);
	CHECK_OK(shmring_producer_commit(p, ix, 100, NULL));

	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 0); /* sequence numbers follow the commits */
	CHECK_EQ(f.size, 1500);
	CHECK_EQ(f.meta.pts, 11);
	CHECK(frame_ok(f.data, f.size, 1));
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 1);
	CHECK_EQ(f.size, 1000);
	CHECK_EQ(f.meta.pts, 22);
	CHECK(frame_ok(f.data, f.size, 0));
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 2);
	CHECK_EQ(f.size, 100);
	CHECK(frame_ok(f.data, f.size, 2));
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_dropped, 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
