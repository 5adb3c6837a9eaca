/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_keep_newest_race: readers attach and leave while a keep-newest lossless producer writes; each gets a current frame first, then every frame, intact. */
#include "../lib/common.h"

#include <poll.h>
#include <sched.h>

#define RING (64u * 1024u)
#define CYCLES 300

static size_t size_of(uint64_t seq)
{
	return 64 + (size_t)((seq * 7919) % 5000);
}

/* Write frames until the driver closes stop_fd. */
static int produce(const char *name, int stop_fd, int ready_fd)
{
	struct shmring_producer_options o = {RING, 0, SHMRING_POLICY_LOSSLESS, SHMRING_PRODUCER_KEEP_NEWEST};
	struct shmring_stream_info si;
	shmring_producer *p = NULL;
	struct pollfd pfd = {stop_fd, POLLIN, 0};
	memset(&si, 0, sizeof si);
	si.caps = T_TEST_CAPS;
	CHECK_OK(shmring_producer_create(name, &o, &p));
	CHECK_OK(shmring_producer_set_stream(p, &si));
	t_write_all(ready_fd, "r", 1);
	for (uint64_t seq = 0;; seq++) {
		if (seq % 16 == 0 && poll(&pfd, 1, 0) > 0)
			break;
		CHECK_OK(t_write_pattern(p, size_of(seq), seq, 20 * 1000000000ll));
	}
	shmring_producer_close(p);
	return 0;
}

/* Wait (5 s at most) until the producer committed n more frames. */
static void wait_commits(const char *name, uint64_t n)
{
	struct shmring_stats st;
	uint64_t t0 = t_now(), from;
	CHECK_OK(shmring_inspect(name, &st, NULL));
	from = st.frames_written;
	do {
		if (t_now() - t0 > 5000000000ull)
			FAIL("the producer committed nothing for 5 s");
		sched_yield();
		CHECK_OK(shmring_inspect(name, &st, NULL));
	} while (st.frames_written < from + n);
}

int main(void)
{
	const char *name = t_channel("keeprace");
	int stop[2], ready[2];
	uint64_t frames = 0;
	char b;
	pid_t pid;

	CHECK_EQ(pipe(stop), 0);
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(stop[1]);
		close(ready[0]);
		_exit(produce(name, stop[0], ready[1]));
	}
	close(stop[0]);
	close(ready[1]);
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);
	for (int cycle = 0; cycle < CYCLES; cycle++) {
		struct shmring_stats st;
		struct shmring_frame f;
		shmring_consumer *c;
		uint64_t expect;
		CHECK_OK(shmring_inspect(name, &st, NULL));
		c = t_consumer(name);
		/* The newest frame when it attached, or the one before it (whose
		 * commit may still be reclaiming): one frame period at most. */
		CHECK_EQ(shmring_consumer_next(c, &f, 5000000000ll, 0), 1);
		if (f.seq + 2 < st.frames_written)
			FAIL("cycle %d: first frame %llu, %llu were committed before attaching", cycle,
			     (unsigned long long)f.seq, (unsigned long long)st.frames_written);
		for (int k = 0;; k++) {
			CHECK_EQ(f.size, size_of(f.seq));
			CHECK_EQ(t_pattern_check(f.data, f.size, f.seq), 0);
			expect = f.seq + 1;
			CHECK_OK(shmring_consumer_release(c, &f));
			frames++;
			if (k == cycle % 23)
				break;
			/* Attached, lossless: no frame is missed. */
			CHECK_EQ(shmring_consumer_next(c, &f, 5000000000ll, 0), 1);
			CHECK_EQ(f.seq, expect);
		}
		shmring_consumer_close(c);
		/* The producer drops what the last reader left at its next
		 * commit: let two commits happen before the next attach. */
		wait_commits(name, 2);
	}
	close(stop[1]);
	CHECK_EQ(t_wait(pid), 0);
	printf("%d attaches, %llu frames read intact\n", CYCLES, (unsigned long long)frames);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
