/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_dead_producer: a reader blocked without a timeout learns of its producer's death within a second. */
#include "common.h"

#include <pthread.h>

static pid_t child;
static uint64_t killed_at;

static void *killer(void *arg)
{
	(void)arg;
	killed_at = t_now();
	CHECK_EQ(kill(child, SIGKILL), 0);
	return NULL;
}

int main(void)
{
	const char *name = t_channel("dead");
	int fds[2];
	char b = 0;
	shmring_consumer *c;
	struct shmring_frame f;
	pthread_t th;
	uint64_t told_at;
	int r;

	CHECK_EQ(pipe(fds), 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		shmring_producer *p;
		close(fds[0]);
		p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
		t_write_all(fds[1], &b, 1);
		for (;;)
			pause();
		shmring_producer_close(p);
	}
	close(fds[1]);
	CHECK_EQ(t_read_all(fds[0], &b, 1), 0);
	c = t_consumer(name);
	CHECK_EQ(shmring_consumer_producer_alive(c), 1);
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);

	CHECK_EQ(pthread_create(&th, NULL, killer, NULL), 0);
	r = shmring_consumer_next(c, &f, SHMRING_FOREVER, 0);
	told_at = t_now();
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_ERR(r, -EOWNERDEAD);
	CHECK_MSG(name);
	fprintf(stderr, "death noticed after %.1f ms\n", (double)(told_at - killed_at) / 1e6);
	CHECK(told_at - killed_at < 1000000000ull);
	CHECK_EQ(t_wait(child), 128 + SIGKILL);

	shmring_consumer_close(c);
	/* The crashed producer left its segment; replace and close it. */
	CHECK(t_exists(name));
	shmring_producer_close(t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS));
	CHECK_NO_LEFTOVER(name);
	return 0;
}
