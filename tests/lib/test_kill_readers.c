/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_kill_readers.c: readers SIGKILLed at random moments (attaching, reading, holding): a lossless producer and an honest reader go on. */
#include "common.h"

static char chan[64];
static struct gate up;
static unsigned kills;

static int honest(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&up, 'r');
	t_read_in_order(c, 10 * SEC);
	shmring_consumer_close(c);
	return 0;
}

/* Attaches, then takes frames and keeps up to its most, until killed. */
static int victim(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	if (shmring_consumer_attach(chan, NULL, 10 * SEC, &c) < 0)
		return 0;
	struct shmring_frame f[2];
	for (unsigned i = 0;; i++) {
		if (shmring_consumer_next(c, &f[i % 2], 10 * SEC, 0) != 1)
			return 0;
		if (i % 3 && i >= 1)
			shmring_consumer_release(c, &f[(i + 1) % 2]);
	}
}

int main(void)
{
	t_name(chan, sizeof(chan), "kill-readers");
	kills = t_scale(200);
	gate_init(&up);
	pid_t h = t_spawn(honest, NULL);
	struct shmring_producer_options o = {.slot_size = 4096, .max_readers = 3,
					      .policy = SHMRING_POLICY_LOSSLESS};
	shmring_producer *p = t_producer(chan, &o);
	gate_wait(&up, 10000);
	uint64_t s = 0, x = 12345;
	for (unsigned k = 0; k < kills; k++) {
		pid_t v = t_spawn(victim, NULL);
		/* A random number of frames before the kill: the victim dies
		 * anywhere from connecting to holding. */
		for (unsigned n = (unsigned)(t_next(&x) % 40); n > 0; n--, s++) {
			uint8_t buf[512];
			fill_frame(buf, sizeof(buf), s);
			uint64_t t0 = t_now();
			CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, 5 * SEC));
			/* A reader's death ends the producer's wait at once; a
			 * lost wake-up would show as a 200 ms slice (valgrind,
			 * without futex_waitv, waits out the slice). */
			uint64_t dt = t_now() - t0;
			if (dt > (RUNNING_ON_VALGRIND ? (uint64_t)SEC : 150000000ull))
				FAIL("write %" PRIu64 " waited %.0f ms", s, (double)dt / 1e6);
		}
		kill(v, SIGKILL);
		waitpid(v, NULL, 0);
	}
	CHECK_OK(shmring_producer_eos(p, 5 * SEC));
	CHECK_EQ(t_reap(h), 0);
	fprintf(stderr, "%u readers killed over %" PRIu64 " frames\n", kills, s);
	shmring_producer_close(p);
	return 0;
}
