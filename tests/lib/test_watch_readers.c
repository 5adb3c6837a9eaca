/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_watch_readers.c: shmring_producer_watch_readers() returns when a reader attaches or leaves, with the
 * readers connected; a cancel token ends the wait; the drops of a reader that left stay counted in
 * frames_dropped_gone. */
#include "common.h"

#include <pthread.h>

static shmring_producer *p;
static struct shmring_cancel cancel;
static pid_t waiter;

static void *watch_forever(void *arg)
{
	__atomic_store_n(&waiter, gettid(), __ATOMIC_RELEASE);
	uint32_t changes = *(uint32_t *)arg;
	*(int *)arg = shmring_producer_watch_readers(p, &changes, SHMRING_FOREVER, &cancel);
	return NULL;
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "watch_readers");
	struct shmring_producer_options o = {.slot_size = 4096, .policy = SHMRING_POLICY_DROP_NEW,
					      .queue_len = 2};
	p = t_producer(chan, &o);
	uint32_t changes = 0;
	CHECK_ERR(shmring_producer_watch_readers(p, &changes, 0, NULL), -ETIMEDOUT);

	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	CHECK_EQ(shmring_producer_watch_readers(p, &changes, SHMRING_FOREVER, NULL), 1);
	CHECK_ERR(shmring_producer_watch_readers(p, &changes, 0, NULL), -ETIMEDOUT); /* seen */

	/* 5 frames into a queue of 2, nobody reads: 3 dropped for this reader. */
	uint8_t b[64];
	for (uint64_t s = 0; s < 5; s++) {
		fill_frame(b, sizeof b, s);
		CHECK_OK(shmring_producer_write(p, b, sizeof b, NULL, 0));
	}
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_dropped_gone, 0);
	shmring_consumer_close(c);
	CHECK_EQ(shmring_producer_watch_readers(p, &changes, SHMRING_FOREVER, NULL), 0);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_dropped_gone, 3);

	/* A fired token ends a wait at once; one fired while it waits, too. */
	shmring_cancel_fire(&cancel);
	CHECK_ERR(shmring_producer_watch_readers(p, &changes, SHMRING_FOREVER, &cancel), -EINTR);
	shmring_cancel_reset(&cancel);
	pthread_t t;
	uint32_t arg = changes;
	CHECK(pthread_create(&t, NULL, watch_forever, &arg) == 0);
	t_wait_asleep(&waiter);
	shmring_cancel_fire(&cancel);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ((int)arg, -EINTR);
	shmring_producer_close(p);
	return 0;
}
