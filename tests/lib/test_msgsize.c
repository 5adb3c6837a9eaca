/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_msgsize: a frame larger than the ring is refused with both sizes in the message; the largest frame fits. */
#include "common.h"

#include <pthread.h>

#define ROUNDS 50

static const char *name;

static void *reader(void *arg)
{
	shmring_consumer *c = arg;
	struct shmring_frame f;
	for (uint64_t i = 0; i < 2 * ROUNDS; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f, 10 * 1000000000ll, 0), 1);
		CHECK_EQ(f.seq, i);
		CHECK_EQ(t_pattern_check(f.data, f.size, i), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_EQ(shmring_consumer_next(c, &f, 10 * 1000000000ll, 0), 0);
	return NULL;
}

int main(void)
{
	shmring_producer *p;
	shmring_consumer *c;
	uint64_t max;
	char num[32];
	void *d;
	uint64_t id;
	pthread_t th;

	name = t_channel("msgsize");
	p = t_producer(name, 8192, SHMRING_POLICY_LOSSLESS);
	c = t_consumer(name);
	max = shmring_producer_max_frame(p);
	CHECK_EQ(max, 8192 - SHMRING_RECORD_HEADER_SIZE);
	CHECK_ERR(t_write_pattern(p, max + 1, 0, SHMRING_FOREVER), -EMSGSIZE);
	snprintf(num, sizeof num, "%llu", (unsigned long long)(max + 1));
	CHECK_MSG(num);
	CHECK_MSG("8192");
	CHECK_ERR(shmring_producer_reserve(p, 1000000, SHMRING_FOREVER, &d, &id), -EMSGSIZE);
	CHECK_MSG("1000000");
	CHECK_MSG("8192");

	/* The largest frame goes through again and again, each one after a
	 * small frame, so it always needs padding and the whole ring. */
	CHECK_EQ(pthread_create(&th, NULL, reader, c), 0);
	for (uint64_t i = 0; i < ROUNDS; i++) {
		CHECK_OK(t_write_pattern(p, max, 2 * i, 10 * 1000000000ll));
		CHECK_OK(t_write_pattern(p, 100, 2 * i + 1, 10 * 1000000000ll));
	}
	CHECK_OK(shmring_producer_eos(p, 10 * 1000000000ll));
	CHECK_EQ(pthread_join(th, NULL), 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
