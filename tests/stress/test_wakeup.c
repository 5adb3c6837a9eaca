/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wakeup: 100,000 (SHMRING_STRESS_FRAMES) ping-pong round trips between two processes, each side sleeping on its futex every time; a lost wake-up stalls it past the timeout. */
#include "stress.h"

/*
 * Two channels, "ping" (parent -> child) and "pong" (child -> parent),
 * lossless with a queue of one frame.  The child replies before it gives
 * the ping frame back, so both the reader's wait for a frame and the
 * producer's wait for room in a reader's queue are exercised on every
 * round trip, in both processes, with one frame in flight.  Waits are
 * bounded at 200 ms slices inside the library, so a lost wake-up shows
 * as a round trip of about 200 ms: 100,000 round trips then take far
 * longer than the meson timeout.  The slowest round trip is printed.
 */

#define FRAME 2000
#define TIMEOUT (30 * SEC)

static shmring_producer *producer(const char *name)
{
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 1};
	struct shmring_stream_info si;
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(name, &o, &p));
	t_opaque(&si, "application/x-ping");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	return p;
}

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : stress_frames();
	char ping[64], pong[64];
	t_name(ping, sizeof ping, "ping");
	t_name(pong, sizeof pong, "pong");
	shmring_producer *p;
	shmring_consumer *c;
	struct shmring_frame f;
	uint8_t buf[FRAME];
	int ready[2];
	char b = 0;
	uint64_t worst = 0, t0, start;

	CHECK_EQ(pipe(ready), 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		p = producer(pong);
		t_write_all(ready[1], &b, 1);
		CHECK_OK(shmring_consumer_attach(ping, NULL, TIMEOUT, &c));
		/* The parent attached to pong before it writes the first ping. */
		for (uint64_t i = 0; i < rounds; i++) {
			CHECK_EQ(shmring_consumer_next(c, &f, TIMEOUT, 0), 1);
			CHECK_EQ(f.seq, i);
			CHECK_EQ(((const uint8_t *)f.data)[FRAME - 1], (uint8_t)i);
			memcpy(buf, f.data, FRAME);
			CHECK_OK(shmring_producer_write(p, buf, FRAME, NULL, TIMEOUT));
			CHECK_OK(shmring_consumer_release(c, &f));
		}
		CHECK_EQ(shmring_consumer_next(c, &f, TIMEOUT, 0), 0);
		CHECK_OK(shmring_producer_eos(p, TIMEOUT));
		shmring_consumer_close(c);
		shmring_producer_close(p);
		_exit(0);
	}
	close(ready[1]);
	p = producer(ping);
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);
	CHECK_OK(shmring_consumer_attach(pong, NULL, TIMEOUT, &c));
	CHECK_OK(shmring_producer_wait_reader(p, TIMEOUT));
	start = t_now();
	for (uint64_t i = 0; i < rounds; i++) {
		t0 = t_now();
		memset(buf, (int)(uint8_t)i, FRAME);
		CHECK_OK(shmring_producer_write(p, buf, FRAME, NULL, TIMEOUT));
		CHECK_EQ(shmring_consumer_next(c, &f, TIMEOUT, 0), 1);
		CHECK_EQ(f.seq, i);
		CHECK_EQ(((const uint8_t *)f.data)[0], (uint8_t)i);
		CHECK_OK(shmring_consumer_release(c, &f));
		if (t_now() - t0 > worst)
			worst = t_now() - t0;
	}
	CHECK_OK(shmring_producer_eos(p, TIMEOUT));
	CHECK_EQ(shmring_consumer_next(c, &f, TIMEOUT, 0), 0);
	CHECK_EQ(t_wait(pid), 0);
	printf("%llu round trips in %.2f s, slowest %.2f ms\n", (unsigned long long)rounds,
	       (double)(t_now() - start) / 1e9, (double)worst / 1e6);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK(!t_leftover(ping));
	CHECK(!t_leftover(pong));
	return 0;
}
