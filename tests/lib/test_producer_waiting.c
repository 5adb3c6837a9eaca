/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_producer_waiting: shmring_inspect() shows a producer blocked for space, waiting for a reader or with the ring full. */
#include "common.h"

#include <pthread.h>

#define FSIZE 3000u

static shmring_producer *prod;
static int write_rc;

/* The ring is full: this write blocks until the reader frees space. */
static void *blocked_write(void *arg)
{
	write_rc = t_write_pattern(prod, FSIZE, (uint64_t)(uintptr_t)arg, 10000000000ll);
	return NULL;
}

/* Poll the channel's statistics until producer_waiting == want (5 s at most). */
static void wait_waiting(const char *name, int want, struct shmring_stats *st)
{
	uint64_t t0 = t_now();
	for (;;) {
		CHECK_OK(shmring_inspect(name, st, NULL));
		if (st->producer_waiting == want)
			return;
		if (t_now() - t0 > 5000000000ull)
			FAIL("producer_waiting stayed %d, expected %d", st->producer_waiting, want);
		sched_yield();
	}
}

static void drain(shmring_consumer *c, uint64_t first, uint64_t n)
{
	struct shmring_frame f;
	for (uint64_t s = first; s < first + n; s++) {
		CHECK_EQ(shmring_consumer_next(c, &f, 1000000000ll, 0), 1);
		CHECK_EQ(f.seq, s);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
}

int main(void)
{
	const char *name = t_channel("waiting");
	shmring_consumer *c;
	struct shmring_stats st;
	pthread_t th;
	uint64_t n = 0;

	prod = t_producer(name, 16384, SHMRING_POLICY_LOSSLESS);
	CHECK_OK(shmring_inspect(name, &st, NULL));
	CHECK_EQ(st.producer_waiting, 0);
	while (t_write_pattern(prod, FSIZE, n, 0) == 0)
		n++;

	/* No reader: "waiting for a reader". */
	CHECK_EQ(pthread_create(&th, NULL, blocked_write, (void *)(uintptr_t)n), 0);
	wait_waiting(name, 1, &st);
	CHECK_EQ(st.reader_alive, 0);
	/* A reader attaches and reads: the write completes, the flag clears. */
	c = t_consumer(name);
	drain(c, 0, n + 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_OK(write_rc);
	wait_waiting(name, 0, &st);

	/* A reader attached that does not read: "blocked: ring full". */
	uint64_t first = n + 1, m = first;
	while (t_write_pattern(prod, FSIZE, m, 0) == 0)
		m++;
	CHECK_EQ(pthread_create(&th, NULL, blocked_write, (void *)(uintptr_t)m), 0);
	wait_waiting(name, 1, &st);
	CHECK_EQ(st.reader_alive, 1);
	drain(c, first, m + 1 - first);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_OK(write_rc);
	wait_waiting(name, 0, &st);

	shmring_consumer_close(c);
	shmring_producer_close(prod);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
