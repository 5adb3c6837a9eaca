/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_interrupt: every blocking wait honours its timeout and is woken by interrupt from another thread. */
#include "common.h"

#include <pthread.h>

static shmring_consumer *cons;
static shmring_producer *prod;
static int pipe_fd[2];

static void *interrupt_consumer(void *arg)
{
	char b;
	(void)arg;
	/* Wait until the main thread is about to block, then interrupt. */
	CHECK_EQ(t_read_all(pipe_fd[0], &b, 1), 0);
	shmring_consumer_interrupt(cons);
	return NULL;
}

static void *interrupt_producer(void *arg)
{
	char b;
	(void)arg;
	CHECK_EQ(t_read_all(pipe_fd[0], &b, 1), 0);
	shmring_producer_interrupt(prod);
	return NULL;
}

int main(void)
{
	const char *name = t_channel("intr");
	struct shmring_frame f;
	pthread_t th;
	uint64_t t0;
	char b = 1;
	void *d;
	uint64_t id;

	prod = t_producer(name, 8192, SHMRING_POLICY_LOSSLESS);
	cons = t_consumer(name);
	CHECK_EQ(pipe(pipe_fd), 0);

	/* Timeouts: never return early. */
	t0 = t_now();
	CHECK_ERR(shmring_consumer_next(cons, &f, 50000000, 0), -ETIMEDOUT);
	CHECK(t_now() - t0 >= 50000000);
	t0 = t_now();
	CHECK_ERR(shmring_consumer_next(cons, &f, 0, 0), -ETIMEDOUT);

	/* A reader blocked forever is woken by interrupt, and stays
	 * interrupted until resumed. */
	CHECK_EQ(pthread_create(&th, NULL, interrupt_consumer, NULL), 0);
	t_write_all(pipe_fd[1], &b, 1);
	CHECK_ERR(shmring_consumer_next(cons, &f, SHMRING_FOREVER, 0), -EINTR);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_ERR(shmring_consumer_next(cons, &f, SHMRING_FOREVER, 0), -EINTR);
	shmring_consumer_resume(cons);
	CHECK_OK(t_write_pattern(prod, 100, 0, 0));
	CHECK_EQ(shmring_consumer_next(cons, &f, SHMRING_FOREVER, 0), 1);
	CHECK_OK(shmring_consumer_release(cons, &f));

	/* Fill the ring (nothing is read yet). */
	{
		struct shmring_frame held[64];
		int n = 0;
		while (t_write_pattern(prod, 1000, 1 + n, 0) == 0)
			n++;
		CHECK(n > 0 && n < 64);
		CHECK_ERR(t_write_pattern(prod, 1000, 99, 0), -ETIMEDOUT);
		t0 = t_now();
		CHECK_ERR(t_write_pattern(prod, 1000, 99, 50000000), -ETIMEDOUT);
		CHECK(t_now() - t0 >= 50000000);
		CHECK_ERR(shmring_producer_reserve(prod, 1000, 0, &d, &id), -ETIMEDOUT);

		/* A writer blocked forever for space is woken by interrupt. */
		CHECK_EQ(pthread_create(&th, NULL, interrupt_producer, NULL), 0);
		t_write_all(pipe_fd[1], &b, 1);
		CHECK_ERR(t_write_pattern(prod, 1000, 99, SHMRING_FOREVER), -EINTR);
		CHECK_EQ(pthread_join(th, NULL), 0);
		CHECK_ERR(shmring_producer_reserve(prod, 1000, SHMRING_FOREVER, &d, &id), -EINTR);
		shmring_producer_resume(prod);

		for (int i = 0; i < n; i++)
			CHECK_EQ(shmring_consumer_next(cons, &held[i], 0, 0), 1);
		for (int i = 0; i < n; i++)
			CHECK_OK(shmring_consumer_release(cons, &held[i]));
		CHECK_OK(t_write_pattern(prod, 1000, 99, 0));
	}

	shmring_consumer_close(cons);
	shmring_producer_close(prod);
	CHECK_NO_LEFTOVER(name);
	close(pipe_fd[0]);
	close(pipe_fd[1]);
	return 0;
}
