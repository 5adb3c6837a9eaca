/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_eos_close.c: EOS then close reads as end of stream (again and again), close without EOS as -ESHUTDOWN. */
#include "common.h"

static char chan[64];
static struct gate up, down;

static int producer(void *arg)
{
	int with_eos = (int)(uintptr_t)arg;
	struct shmring_producer_options o = {.queue_len = 8};
	shmring_producer *p = t_producer(chan, &o);
	gate_post(&up, 'p');
	gate_wait(&down, 10000);
	uint8_t buf[64];
	for (uint64_t s = 0; s < 3; s++) {
		fill_frame(buf, sizeof(buf), s);
		CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, 10 * SEC));
	}
	if (with_eos)
		CHECK_OK(shmring_producer_eos(p, 10 * SEC));
	shmring_producer_close(p);
	return 0;
}

static void run(int with_eos)
{
	pid_t pid = t_spawn(producer, (void *)(uintptr_t)with_eos);
	CHECK_EQ(gate_wait(&up, 10000), 'p');
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&down, 'g');
	CHECK_EQ(t_reap(pid), 0); /* closed before we read: frames stay readable */
	struct shmring_frame f;
	for (uint64_t s = 0; s < 3; s++) {
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
		CHECK(f.seq == s && frame_ok(f.data, f.size, s));
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	if (with_eos) {
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 0);
		CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 0);
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 0);
	} else {
		CHECK_ERR(shmring_consumer_next(c, &f, SEC, 0), -ESHUTDOWN);
		CHECK_MSG("without end of stream");
		CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ESHUTDOWN);
	}
	shmring_consumer_close(c);
	CHECK(!t_leftover(chan));
}

int main(void)
{
	t_name(chan, sizeof(chan), "eos-close");
	gate_init(&up);
	gate_init(&down);
	run(1);
	run(0);
	return 0;
}
