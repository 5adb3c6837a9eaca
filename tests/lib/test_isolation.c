/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_isolation.c: a reader that holds its most and stops costs the producer and the other readers nothing (live; lossless + live reader). */
#include "common.h"

#define QUEUE 64
/* 1000 frames/s; under valgrind, which runs every process ~30x slower, 100;
 * under AddressSanitizer 250.  A live reader loses frames only when it falls
 * a whole queue behind (QUEUE periods): at 1 ms a sanitized reader on a busy
 * machine was descheduled that long, which the stalled reader did not cause. */
#if defined(__SANITIZE_ADDRESS__)
#define PERIOD_NS (RUNNING_ON_VALGRIND ? 10000000ull : 4000000ull)
#else
#define PERIOD_NS (RUNNING_ON_VALGRIND ? 10000000ull : 1000000ull)
#endif
static char chan[64];
static struct gate up, down;
static unsigned frames;

/* Holds 2 frames, then stops until the parent is done; its frames must
 * still be intact then. */
static int stalled(void *arg)
{
	struct shmring_consumer_options co = {.holds = 2, .mode = (uint32_t)(uintptr_t)arg};
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, &co, 10 * SEC, &c));
	gate_post(&up, 's');
	struct shmring_frame f[3];
	CHECK_EQ(shmring_consumer_next(c, &f[0], 10 * SEC, 0), 1);
	CHECK_EQ(shmring_consumer_next(c, &f[1], 10 * SEC, 0), 1);
	CHECK_ERR(shmring_consumer_next(c, &f[2], 10 * SEC, 0), -ENOBUFS);
	CHECK_MSG("holds 2 frames");
	gate_wait(&down, 30000);
	for (int i = 0; i < 2; i++)
		CHECK(frame_ok(f[i].data, f[i].size, f[i].seq));
	shmring_consumer_close(c);
	return 0;
}

/* Reads everything; fails if it missed 1 % or more. */
static int reader(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&up, 'r');
	struct shmring_frame f;
	uint64_t got = 0;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, 10 * SEC, 0)) == 1) {
		if (!frame_ok(f.data, f.size, f.seq))
			FAIL("frame %" PRIu64 " is wrong", f.seq);
		CHECK_OK(shmring_consumer_release(c, &f));
		got++;
	}
	CHECK_EQ(rc, 0);
	if (got * 100 < frames * 99)
		FAIL("got %" PRIu64 " of %u frames", got, frames);
	shmring_consumer_close(c);
	return 0;
}

/* Paced at PERIOD_NS.  Live: the producer never waits (a zero timeout
 * would fail if it had to).  Lossless: it may wait for the lossless
 * reader, never for the stalled live one (that wait would never end). */
static void run(uint32_t policy, uint32_t stalled_mode, int n_readers)
{
	pid_t pid[4];
	int n = 0;
	pid[n++] = t_spawn(stalled, (void *)(uintptr_t)stalled_mode);
	for (int i = 0; i < n_readers; i++)
		pid[n++] = t_spawn(reader, NULL);
	struct shmring_producer_options o = {.slot_size = 8192, .queue_len = QUEUE, .policy = policy};
	shmring_producer *p = t_producer(chan, &o);
	for (int i = 0; i < n; i++)
		gate_wait(&up, 10000);
	uint64_t t = t_now();
	for (uint64_t s = 0; s < frames; s++) {
		uint8_t buf[8192];
		size_t len = t_size(s, 8, sizeof(buf));
		fill_frame(buf, len, s);
		CHECK_OK(shmring_producer_write(p, buf, len, NULL,
						 policy == SHMRING_POLICY_LIVE ? 0 : 5 * SEC));
		t += PERIOD_NS;
		struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* the frame rate */
	}
	CHECK_OK(shmring_producer_eos(p, policy == SHMRING_POLICY_LIVE ? 0 : 5 * SEC));
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	unsigned k = 0; /* the stalled reader's line */
	while (k < SHMRING_MAX_READERS && st.reader[k].pid != pid[0])
		k++;
	CHECK(k < SHMRING_MAX_READERS && st.reader[k].frames_dropped >= frames - QUEUE - 2);
	for (int i = 1; i < n; i++)
		CHECK_EQ(t_reap(pid[i]), 0);
	gate_post(&down, 'd');
	CHECK_EQ(t_reap(pid[0]), 0);
	shmring_producer_close(p);
}

int main(void)
{
	t_name(chan, sizeof(chan), "isolation");
	frames = t_scale(1000);
	gate_init(&up);
	gate_init(&down);
	run(SHMRING_POLICY_LIVE, SHMRING_MODE_CHANNEL, 2);
	/* A lossless channel: the lossless reader misses nothing, the stalled
	 * live reader holds nobody back. */
	run(SHMRING_POLICY_LOSSLESS, SHMRING_MODE_LIVE, 1);
	return 0;
}
