/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_reader_killed.c: a reader SIGKILLed while holding frames: its queue and holds come back within a second, a lossless producer goes on. */
#include "common.h"

static char chan[64];
static struct gate ready;
static unsigned frames;

/* Holds its most (2 frames), with a full queue behind, then stops. */
static int holder(void *arg)
{
	(void)arg;
	struct shmring_consumer_options co = {.holds = 2};
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, &co, 10 * SEC, &c));
	gate_post(&ready, 'h');
	struct shmring_frame f[2];
	CHECK_EQ(shmring_consumer_next(c, &f[0], 10 * SEC, 0), 1);
	CHECK_EQ(shmring_consumer_next(c, &f[1], 10 * SEC, 0), 1);
	gate_post(&ready, 'H');
	pause();
	return 1;
}

static int honest(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&ready, 'r');
	CHECK_EQ(t_read_in_order(c, 10 * SEC), frames);
	shmring_consumer_close(c);
	return 0;
}

static void write_one(shmring_producer *p, uint64_t s, int64_t timeout)
{
	uint8_t buf[4096];
	fill_frame(buf, sizeof(buf), s);
	CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, timeout));
}

int main(void)
{
	t_name(chan, sizeof(chan), "reader-killed");
	frames = t_scale(2000);
	gate_init(&ready);
	pid_t h = t_spawn(holder, NULL), r = t_spawn(honest, NULL);
	struct shmring_producer_options o = {.slot_size = 4096, .max_readers = 2, .queue_len = 2,
					      .max_holds = 2, .policy = SHMRING_POLICY_LOSSLESS};
	shmring_producer *p = t_producer(chan, &o);
	gate_wait(&ready, 10000);
	gate_wait(&ready, 10000);
	uint64_t s = 0;
	for (; s < 4; s++) /* 2 held + 2 queued: the holder's queue is full */
		write_one(p, s, 10 * SEC);
	CHECK_EQ(gate_wait(&ready, 10000), 'H');
	void *dst;
	uint64_t id;
	CHECK_ERR(shmring_producer_reserve(p, 16, 0, &dst, &id), -ETIMEDOUT); /* lossless: waits for it */
	uint64_t t0 = t_now();
	kill(h, SIGKILL);
	write_one(p, s++, SEC); /* goes on within a second */
	CHECK(t_now() - t0 < (uint64_t)SEC);
	waitpid(h, NULL, 0);
	CHECK_EQ(shmring_producer_readers(p), 1);
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.reader[0].pid + st.reader[1].pid, r);
	/* Every slot can be used again: the dead reader pins nothing. */
	for (; s < frames; s++)
		write_one(p, s, 10 * SEC);
	CHECK_OK(shmring_producer_eos(p, 10 * SEC));
	CHECK_EQ(t_reap(r), 0);
	shmring_producer_close(p);
	return 0;
}
