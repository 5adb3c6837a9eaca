/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_lend.c: a lent slot never waits at lend, its lossless commit waits for room instead, it stays
 * pinned and unchanged after its commit until given back, and the calls refuse each other's reservations. */
#include "common.h"

#include <pthread.h>

struct waiter {
	shmring_producer *p;
	uint64_t id;
	int rc;
};

static void *commit_forever(void *arg)
{
	struct waiter *w = arg;
	w->rc = shmring_producer_commit_lent(w->p, w->id, 100, NULL, SHMRING_FOREVER);
	return NULL;
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "lend");
	/* Lossless, a queue of 2, three reservations. */
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 2, .max_reserved = 3,
					      .max_holds = 1, .policy = SHMRING_POLICY_LOSSLESS};
	shmring_producer *p = t_producer(chan, &o);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	void *a, *b, *x;
	uint64_t ia, ib, ix;

	/* Fill the reader's queue: two frames. */
	for (int i = 0; i < 2; i++) {
		CHECK_OK(shmring_producer_reserve(p, 100, 0, &x, &ix));
		fill_frame(x, 100, i);
		CHECK_OK(shmring_producer_commit(p, ix, 100, NULL));
	}
	/* A claimed reservation has no room now; a lent one is made at once. */
	CHECK_ERR(shmring_producer_reserve(p, 100, 0, &x, &ix), -ETIMEDOUT);
	CHECK_OK(shmring_producer_lend(p, 100, &a, &ia));
	CHECK_OK(shmring_producer_lend(p, 100, &b, &ib));
	CHECK(a != b);
	fill_frame(a, 100, 2);
	fill_frame(b, 100, 3);
	/* Each call takes its own kind of reservation only. */
	CHECK_ERR(shmring_producer_commit(p, ia, 100, NULL), -EINVAL);
	CHECK_MSG("commit_lent");
	/* Its commit waits for room: none yet. */
	CHECK_ERR(shmring_producer_commit_lent(p, ia, 100, NULL, 0), -ETIMEDOUT);

	/* A commit waiting for room: interrupted, the slot stays lent. */
	struct waiter w = {p, ia, 1};
	pthread_t t;
	shmring_producer_interrupt(p);
	CHECK_EQ(pthread_create(&t, NULL, commit_forever, &w), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(w.rc, -EINTR);
	shmring_producer_resume(p);

	/* The reader takes a frame: one frame of room, and the first lent
	 * slot is published; the second waits for the next take. */
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(shmring_producer_commit_lent(p, ia, 100, NULL, 0));
	CHECK_ERR(shmring_producer_commit_lent(p, ia, 100, NULL, 0), -EINVAL); /* committed already */
	CHECK_ERR(shmring_producer_commit_lent(p, ib, 100, NULL, 0), -ETIMEDOUT);
	w = (struct waiter){p, ib, 1};
	CHECK_EQ(pthread_create(&t, NULL, commit_forever, &w), 0);
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(w.rc, 0);

	/* Both lent slots are committed and still the producer's: three
	 * reservations, two of them kept, leave room for one more. */
	CHECK_OK(shmring_producer_lend(p, 100, &x, &ix));
	CHECK_ERR(shmring_producer_lend(p, 100, &x, &ix), -EINVAL); /* max_reserved */
	CHECK_OK(shmring_producer_abort(p, ix));

	/* The reader takes and releases both: the kept slots are not reused
	 * while lent, whatever is reserved and committed meanwhile. */
	for (uint64_t seq = 2; seq < 4; seq++) {
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
		CHECK_EQ(f.seq, seq);
		CHECK(frame_ok(f.data, f.size, (unsigned)seq));
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	for (int i = 0; i < 20; i++) {
		CHECK_OK(shmring_producer_reserve(p, 100, SEC, &x, &ix));
		CHECK(x != a && x != b);
		fill_frame(x, 100, 10 + i);
		CHECK_OK(shmring_producer_commit(p, ix, 100, NULL));
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
		CHECK(frame_ok(f.data, f.size, 10 + i));
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK(frame_ok(a, 100, 2));
	CHECK(frame_ok(b, 100, 3));

	/* Given back: the slots are free again.  The lowest free slot is
	 * taken first: with the two below them reserved, the next two
	 * reservations are the slots just given back. */
	CHECK_OK(shmring_producer_abort(p, ia));
	CHECK_OK(shmring_producer_abort(p, ib));
	CHECK_ERR(shmring_producer_abort(p, ia), -EINVAL);
	void *y, *z;
	uint64_t iy, iz;
	CHECK_OK(shmring_producer_lend(p, 100, &y, &iy));
	CHECK_OK(shmring_producer_lend(p, 100, &z, &iz));
	CHECK_OK(shmring_producer_lend(p, 100, &x, &ix));
	CHECK(x == a);
	CHECK_OK(shmring_producer_abort(p, ix));
	CHECK_OK(shmring_producer_abort(p, iz));

	/* Two claimed reservations would need room for two frames in a
	 * queue of two: a lossless queue that can never give it is an error
	 * at once, not a wait without end. */
	CHECK_OK(shmring_producer_abort(p, iy));
	CHECK_OK(shmring_producer_reserve(p, 100, SEC, &y, &iy));
	CHECK_OK(shmring_producer_reserve(p, 100, SEC, &z, &iz));
	CHECK_ERR(shmring_producer_reserve(p, 100, SHMRING_FOREVER, &x, &ix), -EINVAL);
	CHECK_MSG("lossless queue of 2");
	CHECK_OK(shmring_producer_commit(p, iy, 100, NULL));
	CHECK_OK(shmring_producer_commit(p, iz, 100, NULL));
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_OK(shmring_producer_reserve(p, 100, SEC, &x, &ix));

	/* A claimed reservation refuses commit_lent. */
	CHECK_ERR(shmring_producer_commit_lent(p, ix, 100, NULL, 0), -EINVAL);
	CHECK_MSG("not lent");
	CHECK_OK(shmring_producer_commit(p, ix, 100, NULL));

	/* Not a frame's worth of queue lost on the way: nothing dropped. */
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_dropped, 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_EQ(t_leftover(chan), 0);
	printf("ok\n");
	return 0;
}
