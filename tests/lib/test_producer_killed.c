/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_producer_killed.c: a SIGKILLed producer: readers get -EOWNERDEAD within a second, nothing of the channel remains, the name is free at once. */
#include "common.h"

static char chan[64];
static struct gate up, down; /* child to parent, parent to child */

static int producer(void *arg)
{
	(void)arg;
	struct shmring_producer_options o = {.queue_len = 4};
	shmring_producer *p = t_producer(chan, &o);
	gate_post(&up, 'p');
	gate_wait(&down, 10000); /* the parent's reader is attached: produce 3 frames */
	uint8_t buf[100];
	for (uint64_t s = 0; s < 3; s++) {
		fill_frame(buf, sizeof(buf), s);
		CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, 10 * SEC));
	}
	gate_post(&up, 'w');
	pause();
	return 1;
}

int main(void)
{
	t_name(chan, sizeof(chan), "producer-killed");
	gate_init(&up);
	gate_init(&down);
	pid_t pid = t_spawn(producer, NULL);
	CHECK_EQ(gate_wait(&up, 10000), 'p');
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&down, 'g');
	CHECK_EQ(gate_wait(&up, 10000), 'w');
	struct shmring_frame f;
	kill(pid, SIGKILL);
	uint64_t t0 = t_now();
	for (uint64_t s = 0; s < 3; s++) { /* queued frames stay readable */
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
		CHECK(f.seq == s && frame_ok(f.data, f.size, s));
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_ERR(shmring_consumer_next(c, &f, 5 * SEC, 0), -EOWNERDEAD);
	CHECK(t_now() - t0 < (uint64_t)SEC);
	CHECK_MSG("died");
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -EOWNERDEAD);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
	CHECK(!t_leftover(chan));
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, NULL, &p)); /* the name is free at once */
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK(!t_leftover(chan));
	return 0;
}
