/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wait_reader: shmring_producer_wait_reader() returns once a reader attaches, times out, or is interrupted. */
#include "common.h"

#include <pthread.h>

static shmring_producer *prod;
static int wait_rc = 1;

static void *waiter(void *arg)
{
	(void)arg;
	__atomic_store_n(&wait_rc, shmring_producer_wait_reader(prod, 10000000000ll), __ATOMIC_RELEASE);
	return NULL;
}

/* Poll the channel's statistics until producer_waiting is 1 (5 s at most). */
static void until_waiting(const char *name)
{
	struct shmring_stats st;
	uint64_t t0 = t_now();
	for (;;) {
		CHECK_OK(shmring_inspect(name, &st, NULL));
		if (st.producer_waiting)
			return;
		if (t_now() - t0 > 5000000000ull)
			FAIL("the producer never said it waits for a reader");
		sched_yield();
	}
}

int main(void)
{
	const char *name = t_channel("waitreader");
	shmring_consumer *c;
	pthread_t th;

	prod = t_producer(name, 16384, SHMRING_POLICY_LOSSLESS);
	CHECK_ERR(shmring_producer_wait_reader(prod, 20000000), -ETIMEDOUT);
	CHECK_MSG("no reader attached");

	/* Interrupted while it waits. */
	CHECK_EQ(pthread_create(&th, NULL, waiter, NULL), 0);
	until_waiting(name);
	shmring_producer_interrupt(prod);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(wait_rc, -EINTR);
	shmring_producer_resume(prod);

	/* A reader attaching ends the wait; "waiting for a reader" is cleared. */
	CHECK_EQ(pthread_create(&th, NULL, waiter, NULL), 0);
	until_waiting(name);
	c = t_consumer(name);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(wait_rc, 0);
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(prod, &st));
	CHECK_EQ(st.producer_waiting, 0);
	/* With a reader attached it returns at once, even without a timeout. */
	CHECK_OK(shmring_producer_wait_reader(prod, 0));

	shmring_consumer_close(c);
	shmring_producer_close(prod);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
