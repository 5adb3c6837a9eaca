/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_restart: a producer replaces a dead producer's segment; its reader sees a new generation and re-attaches. */
#include "common.h"

static pid_t start_producer(const char *name, uint64_t first_seq, int quit_fd_out[2])
{
	int ready[2];
	char b = 0;
	pid_t pid;

	CHECK_EQ(pipe(ready), 0);
	CHECK_EQ(pipe(quit_fd_out), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
		for (uint64_t i = 0; i < 3; i++)
			CHECK_OK(t_write_pattern(p, 500, first_seq + i, 0));
		t_write_all(ready[1], &b, 1);
		if (t_read_all(quit_fd_out[0], &b, 1) == 0) {
			CHECK_OK(shmring_producer_eos(p, 0));
			shmring_producer_close(p);
		}
		_exit(0);
	}
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

int main(void)
{
	const char *name = t_channel("restart");
	shmring_consumer *c;
	struct shmring_frame f;
	int q1[2], q2[2];
	uint64_t gen1, gen2;
	char b = 1;
	int r;
	pid_t p1, p2;

	p1 = start_producer(name, 0, q1);
	c = t_consumer(name);
	gen1 = shmring_consumer_generation(c);
	CHECK(gen1 != 0);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, 0);
	CHECK_OK(shmring_consumer_release(c, &f));

	/* The producer crashes. */
	CHECK_EQ(kill(p1, SIGKILL), 0);
	CHECK_EQ(t_wait(p1), 128 + SIGKILL);
	CHECK(t_exists(name));

	/* A new producer replaces the stale segment instead of refusing. */
	p2 = start_producer(name, 1000, q2);
	{
		struct shmring_stats st;
		CHECK_OK(shmring_inspect(name, &st, NULL));
		CHECK_EQ(st.producer_pid, p2);
		CHECK(st.generation != gen1);
		CHECK_EQ(st.frames_written, 3);
		CHECK_EQ(st.reader_pid, 0);
	}

	/* The old reader drains what it can of the old segment, is told the
	 * producer died, re-attaches and finds the new generation. */
	for (;;) {
		r = shmring_consumer_next(c, &f, SHMRING_FOREVER, 0);
		if (r != 1)
			break;
		CHECK(f.seq == 1 || f.seq == 2);
		CHECK_EQ(t_pattern_check(f.data, f.size, f.seq), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_ERR(r, -EOWNERDEAD);
	shmring_consumer_close(c);
	c = t_consumer(name);
	gen2 = shmring_consumer_generation(c);
	CHECK(gen2 != gen1);
	for (uint64_t i = 0; i < 3; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(t_pattern_check(f.data, f.size, 1000 + i), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	t_write_all(q2[1], &b, 1);
	CHECK_EQ(shmring_consumer_next(c, &f, SHMRING_FOREVER, 0), 0);
	CHECK_EQ(t_wait(p2), 0);
	shmring_consumer_close(c);
	CHECK_NO_LEFTOVER(name);
	for (int i = 0; i < 2; i++) {
		close(q1[i]);
		close(q2[i]);
	}
	return 0;
}
