/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wakeup.c: a sleeping reader is woken at once, every time (ping-pong); a lost wake-up would cost a 200 ms slice. */
#include "common.h"

static char ping[64], pong[64];
static unsigned rounds;

static shmring_producer *make(const char *name)
{
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(name, NULL, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	return p;
}

/* Wait for frame seq on c, then write it to p. */
static void bounce(shmring_consumer *c, shmring_producer *p, uint64_t seq)
{
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, 5 * SEC, 0), 1);
	CHECK_EQ(f.seq, seq);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(shmring_producer_write(p, &seq, sizeof(seq), NULL, 5 * SEC));
}

static int other(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(ping, NULL, 10 * SEC, &c));
	shmring_producer *p = make(pong);
	for (uint64_t s = 0; s < rounds; s++)
		bounce(c, p, s);
	struct shmring_frame f; /* the other side has read the last frame */
	CHECK_EQ(shmring_consumer_next(c, &f, 5 * SEC, 0), 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}

int main(void)
{
	t_name(ping, sizeof(ping), "ping");
	t_name(pong, sizeof(pong), "pong");
	rounds = t_scale(3000);
	pid_t pid = t_spawn(other, NULL);
	shmring_producer *p = make(ping);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(pong, NULL, 10 * SEC, &c));
	uint64_t worst = 0;
	for (uint64_t s = 0; s < rounds; s++) {
		uint64_t t0 = t_now();
		CHECK_OK(shmring_producer_write(p, &s, sizeof(s), NULL, 5 * SEC));
		struct shmring_frame f;
		CHECK_EQ(shmring_consumer_next(c, &f, 5 * SEC, 0), 1);
		CHECK_EQ(f.seq, s);
		CHECK_OK(shmring_consumer_release(c, &f));
		uint64_t dt = t_now() - t0;
		worst = dt > worst ? dt : worst;
	}
	CHECK_OK(shmring_producer_eos(p, 5 * SEC));
	shmring_consumer_close(c);
	CHECK_EQ(t_reap(pid), 0);
	shmring_producer_close(p);
	/* A wake-up lost in either direction shows as a 200 ms slice. */
	if (worst >= 150000000ull)
		FAIL("a round trip took %.1f ms: a wake-up was lost", (double)worst / 1e6);
	return 0;
}
