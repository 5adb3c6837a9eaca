/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wakeup: 100,000 (SHMRING_STRESS_FRAMES) ping-pong round trips between two processes, each side sleeping on its futex every time; a lost wake-up stalls it past the timeout. */
#include "stress.h"

/*
 * Two channels, "ping" (parent -> child) and "pong" (child -> parent),
 * each with a 4 KiB ring that holds one 2000-byte frame.  The child
 * replies before it releases the ping frame, so the parent's next ping
 * usually has to wait for space: both the reader's wait for a frame and
 * the writer's wait for space are exercised on every round trip, in both
 * processes, with one frame in flight.  Waits are bounded at 200 ms
 * slices inside the library, so a lost wake-up shows as a round trip of
 * about 200 ms: 100,000 round trips then take far longer than the meson
 * timeout.  The slowest round trip is printed.
 */

#define FRAME 2000
#define TIMEOUT (30 * 1000000000ll)

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : stress_frames();
	const char *ping = t_channel("ping"), *pong = t_channel("pong");
	shmring_producer *p;
	shmring_consumer *c;
	struct shmring_frame f;
	uint8_t buf[FRAME];
	int ready[2];
	char b = 0;
	pid_t pid;
	uint64_t worst = 0, t0, start;

	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		p = t_producer(pong, 4096, SHMRING_POLICY_LOSSLESS);
		t_write_all(ready[1], &b, 1);
		CHECK_OK(shmring_consumer_attach(ping, TIMEOUT, &c));
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
	p = t_producer(ping, 4096, SHMRING_POLICY_LOSSLESS);
	CHECK_EQ(shmring_producer_max_frame(p) < 2 * (FRAME + 64), 1);
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);
	c = t_consumer(pong);
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
	CHECK_NO_LEFTOVER(ping);
	CHECK_NO_LEFTOVER(pong);
	return 0;
}
