/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hold_release.c: a reader holds up to its limit (-ENOBUFS beyond), gives frames back in any order and from any thread; a frame given back twice is refused. */
#include "common.h"

#include <pthread.h>

static shmring_consumer *c;

static void *release_in_thread(void *arg)
{
	return (void *)(intptr_t)shmring_consumer_release(c, arg);
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "hold_release");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 8, .max_holds = 4};
	shmring_producer *p = t_producer(chan, &o);
	struct shmring_consumer_options co = {.holds = 3};
	CHECK_OK(shmring_consumer_attach(chan, &co, 5 * SEC, &c));

	uint8_t b[256];
	for (uint64_t s = 0; s < 8; s++) {
		fill_frame(b, sizeof b, s);
		CHECK_OK(shmring_producer_write(p, b, sizeof b, NULL, SEC));
	}
	struct shmring_frame f[8];
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f[i], SEC, 0), 1);
		CHECK_EQ(f[i].seq, (uint64_t)i);
	}
	CHECK_EQ(shmring_consumer_held(c), 3);
	CHECK_ERR(shmring_consumer_next(c, &f[3], SEC, 0), -ENOBUFS);
	CHECK_MSG("release");
	/* The middle one first: the others stay intact. */
	CHECK_OK(shmring_consumer_release(c, &f[1]));
	CHECK(shmring_consumer_release(c, &f[1]) < 0);
	CHECK(frame_ok(f[0].data, f[0].size, 0));
	CHECK(frame_ok(f[2].data, f[2].size, 2));
	CHECK_EQ(shmring_consumer_next(c, &f[3], SEC, 0), 1);
	CHECK_EQ(f[3].seq, 3);
	/* From another thread. */
	struct shmring_frame tf = f[0];
	pthread_t t;
	void *rc;
	CHECK(pthread_create(&t, NULL, release_in_thread, &tf) == 0);
	CHECK(pthread_join(t, &rc) == 0);
	CHECK_EQ((intptr_t)rc, 0);
	CHECK_EQ(shmring_consumer_held(c), 2);
	CHECK(frame_ok(f[2].data, f[2].size, 2));
	CHECK(frame_ok(f[3].data, f[3].size, 3));
	/* Newest first, then the rest arrive whole. */
	CHECK_OK(shmring_consumer_release(c, &f[3]));
	CHECK_OK(shmring_consumer_release(c, &f[2]));
	CHECK_EQ(shmring_consumer_held(c), 0);
	for (uint64_t s = 4; s < 8; s++) {
		CHECK_EQ(shmring_consumer_next(c, &f[s], SEC, 0), 1);
		CHECK_EQ(f[s].seq, s);
		CHECK(frame_ok(f[s].data, f[s].size, s));
		CHECK_OK(shmring_consumer_release(c, &f[s]));
	}
	/* A frame that is not this reader's hold is refused. */
	struct shmring_frame bogus = f[7];
	bogus._hold = 999;
	CHECK(shmring_consumer_release(c, &bogus) < 0);
	CHECK(shmring_consumer_release(c, NULL) < 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
