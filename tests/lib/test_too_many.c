/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_too_many.c: one reader over max_readers is refused with a message naming the channel, the limit and the readers' pids. */
#include "common.h"

static char chan[64];
static struct gate ready, done[2]; /* done[i]: reader i may leave */

static int reader(void *arg)
{
	struct gate *done_i = arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&ready, 'r');
	gate_wait(done_i, 20000);
	shmring_consumer_close(c);
	return 0;
}

int main(void)
{
	t_name(chan, sizeof(chan), "too-many");
	gate_init(&ready);
	gate_init(&done[0]);
	gate_init(&done[1]);
	pid_t a = t_spawn(reader, &done[0]), b = t_spawn(reader, &done[1]);
	struct shmring_producer_options o = {.slot_size = 4096, .max_readers = 2};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	gate_wait(&ready, 10000);
	gate_wait(&ready, 10000);
	shmring_consumer *c = NULL;
	CHECK_ERR(shmring_consumer_attach(chan, NULL, SEC, &c), -EBUSY);
	CHECK(c == NULL);
	char pa[32], pb[32];
	snprintf(pa, sizeof(pa), " %d", (int)a);
	snprintf(pb, sizeof(pb), " %d", (int)b);
	CHECK_MSG(chan);
	CHECK_MSG("has 2 readers, its limit (max_readers)");
	CHECK_MSG(pa);
	CHECK_MSG(pb);
	/* A reader that leaves makes room for the next. */
	gate_post(&done[0], 'd');
	CHECK_EQ(t_reap(a), 0);
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	gate_post(&done[1], 'd');
	CHECK_EQ(t_reap(b), 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
