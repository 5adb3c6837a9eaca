/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_reserve_commit: frames written in place are published in reservation order; aborts vanish. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("reserve");
	shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	struct shmring_meta m = SHMRING_META_INIT;
	struct shmring_frame f;
	void *d[4];
	uint64_t id[4];

	/* One reservation, committed shorter than reserved. */
	CHECK_OK(shmring_producer_reserve(p, 5000, 0, &d[0], &id[0]));
	CHECK(d[0] != NULL);
	CHECK_EQ((uintptr_t)d[0] % 64, 0);
	t_pattern_fill(d[0], 3000, 0);
	m.pts = 42;
	CHECK_OK(shmring_producer_commit(p, id[0], 3000, &m));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, 0);
	CHECK_EQ(f.size, 3000);
	CHECK_EQ(f.meta.pts, 42);
	CHECK_EQ(t_pattern_check(f.data, f.size, 0), 0);
	/* Zero copy: the consumer sees the very bytes the producer wrote. */
	CHECK_OK(shmring_consumer_release(c, &f));

	/* Committing more than was reserved is refused. */
	CHECK_OK(shmring_producer_reserve(p, 100, 0, &d[0], &id[0]));
	CHECK_ERR(shmring_producer_commit(p, id[0], 101, NULL), -EINVAL);
	CHECK_OK(shmring_producer_abort(p, id[0]));
	/* An unknown id is refused. */
	CHECK_ERR(shmring_producer_commit(p, id[0] + 1000, 1, NULL), -EINVAL);

	/* Several outstanding: committed out of order, published in order,
	 * nothing visible until the oldest is committed; an abort vanishes. */
	for (int i = 0; i < 4; i++)
		CHECK_OK(shmring_producer_reserve(p, 1000, 0, &d[i], &id[i]));
	for (int i = 0; i < 4; i++)
		t_pattern_fill(d[i], 1000, 100 + i);
	CHECK_OK(shmring_producer_commit(p, id[3], 1000, NULL));
	CHECK_OK(shmring_producer_commit(p, id[1], 1000, NULL));
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	CHECK_OK(shmring_producer_abort(p, id[2]));
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	CHECK_OK(shmring_producer_commit(p, id[0], 1000, NULL));
	{
		int expect[] = {0, 1, 3};
		uint64_t last = 0;
		for (int k = 0; k < 3; k++) {
			CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
			CHECK_EQ(t_pattern_check(f.data, f.size, 100 + expect[k]), 0);
			if (k)
				CHECK(f.seq > last);
			last = f.seq;
			CHECK_OK(shmring_consumer_release(c, &f));
		}
	}
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);

	/* Many cycles through the ring in place, wrapping with padding. */
	for (uint64_t i = 0; i < 500; i++) {
		size_t n = 1 + (i * 7919) % 30000;
		void *dd;
		uint64_t ii;
		CHECK_OK(shmring_producer_reserve(p, n, 0, &dd, &ii));
		t_pattern_fill(dd, n, i);
		CHECK_OK(shmring_producer_commit(p, ii, n, NULL));
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(f.size, n);
		CHECK_EQ(t_pattern_check(f.data, n, i), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
	}

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
