/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hold_release: several frames held at once, released in any order (and from another thread); space returns only behind the oldest. */
#include "common.h"

#include <pthread.h>

static shmring_consumer *cons;
static struct shmring_frame thread_frame;

static void *release_in_thread(void *arg)
{
	(void)arg;
	CHECK_OK(shmring_consumer_release(cons, &thread_frame));
	return NULL;
}

int main(void)
{
	const char *name = t_channel("hold");
	shmring_producer *p = t_producer(name, 16384, SHMRING_POLICY_LOSSLESS);
	struct shmring_frame f[8];
	struct shmring_stats st;
	pthread_t th;
	int n = 0;

	cons = t_consumer(name);
	while (n < 8 && t_write_pattern(p, 2000, (uint64_t)n, 0) == 0)
		n++;
	CHECK(n >= 5 && n < 8); /* the ring is full */
	for (int i = 0; i < n; i++) {
		CHECK_EQ(shmring_consumer_next(cons, &f[i], 0, 0), 1);
		CHECK_EQ(f[i].seq, i);
		CHECK_EQ(shmring_consumer_held(cons), i + 1);
	}
	/* Releasing newer frames frees nothing while the oldest is held. */
	for (int i = n - 1; i >= 1; i--)
		CHECK_OK(shmring_consumer_release(cons, &f[i]));
	CHECK_EQ(shmring_consumer_held(cons), 1);
	CHECK_ERR(t_write_pattern(p, 2000, 100, 0), -ETIMEDOUT);
	CHECK_EQ(t_pattern_check(f[0].data, f[0].size, 0), 0);
	/* Releasing the same frame twice is an error, not a corruption. */
	CHECK_ERR(shmring_consumer_release(cons, &f[1]), -EINVAL);
	CHECK_EQ(shmring_consumer_held(cons), 1);

	/* The oldest is released from another thread: all space is back. */
	thread_frame = f[0];
	CHECK_EQ(pthread_create(&th, NULL, release_in_thread, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(shmring_consumer_held(cons), 0);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.lag_frames, 0);
	for (int i = 0; i < n; i++)
		CHECK_OK(t_write_pattern(p, 2000, (uint64_t)(n + i), 0));

	/* Interleaved: hold a, b, c; release b, a (space up to c returns), c. */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(shmring_consumer_next(cons, &f[i], 0, 0), 1);
		CHECK_EQ(f[i].seq, n + i);
	}
	CHECK_OK(shmring_consumer_release(cons, &f[1]));
	CHECK_OK(shmring_consumer_release(cons, &f[0]));
	CHECK_EQ(t_pattern_check(f[2].data, f[2].size, f[2].seq), 0);
	CHECK_OK(t_write_pattern(p, 2000, 2 * (uint64_t)n, 0));
	CHECK_EQ(t_pattern_check(f[2].data, f[2].size, f[2].seq), 0);
	CHECK_OK(shmring_consumer_release(cons, &f[2]));
	CHECK_EQ(shmring_consumer_held(cons), 0);

	/* Closing the reader with frames held releases them. */
	CHECK_EQ(shmring_consumer_next(cons, &f[0], 0, 0), 1);
	shmring_consumer_close(cons);
	cons = t_consumer(name);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.reader_alive, 1);
	{
		struct shmring_frame g;
		uint64_t last = f[0].seq;
		while (shmring_consumer_next(cons, &g, 0, 0) == 1) {
			CHECK(g.seq > last);
			last = g.seq;
			CHECK_OK(shmring_consumer_release(cons, &g));
		}
		CHECK_EQ(last, 2 * (uint64_t)n);
	}
	/* Everything is free again: a full ring's worth fits. */
	for (int i = 0; i < n; i++)
		CHECK_OK(t_write_pattern(p, 2000, 100 + (uint64_t)i, 0));

	shmring_consumer_close(cons);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
