/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stats_alive: each side sees whether the other is alive, and the statistics count frames, lag and pids. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("stats");
	shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_DROP_NEW);
	shmring_consumer *c;
	struct shmring_stats st, si;
	struct shmring_frame f;
	int fds[2], ready[2];
	pid_t pid;
	char b = 0;

	CHECK_EQ(shmring_producer_reader_alive(p), 0);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.producer_pid, getpid());
	CHECK_EQ(st.reader_pid, 0);
	CHECK_EQ(st.producer_alive, 1);
	CHECK_EQ(st.reader_alive, 0);
	CHECK_EQ(st.policy, SHMRING_POLICY_DROP_NEW);
	CHECK_EQ(st.state, SHMRING_STATE_OPEN);

	/* The reader is another process. */
	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		c = t_consumer(name);
		CHECK_EQ(shmring_consumer_producer_alive(c), 1);
		CHECK_EQ(shmring_consumer_next(c, &f, SHMRING_FOREVER, 0), 1);
		CHECK_OK(shmring_consumer_release(c, &f));
		t_write_all(ready[1], &b, 1);
		/* Stay attached until told to go. */
		CHECK_EQ(t_read_all(fds[0], &b, 1), -1);
		_exit(0);
	}
	close(fds[0]);
	close(ready[1]);
	/* Wait until the reader has read and released frame 0. */
	CHECK_OK(t_write_pattern(p, 100, 0, 0));
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);
	close(ready[0]);
	CHECK_EQ(shmring_producer_reader_alive(p), 1);
	for (uint64_t i = 1; i < 4; i++)
		CHECK_OK(t_write_pattern(p, 100, i, 0));
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.reader_pid, pid);
	CHECK_EQ(st.reader_alive, 1);
	CHECK_EQ(st.frames_written, 4);
	CHECK_EQ(st.frames_read, 1);
	CHECK_EQ(st.lag_frames, 3);
	CHECK_EQ(st.lag_bytes, 3 * 192);
	CHECK_EQ(st.write_pos - st.read_pos, st.lag_bytes);
	/* Inspection without attaching sees the same. */
	CHECK_OK(shmring_inspect(name, &si, NULL));
	CHECK_EQ(si.generation, st.generation);
	CHECK_EQ(si.frames_written, 4);
	CHECK_EQ(si.reader_pid, pid);
	CHECK_EQ(si.producer_pid, getpid());
	CHECK_EQ(si.producer_alive, 1);
	CHECK_EQ(si.reader_alive, 1);
	CHECK_EQ(si.lag_frames, 3);

	/* The reader goes away (killed: no detach): not alive any more. */
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(t_wait(pid), 128 + SIGKILL);
	close(fds[1]);
	CHECK_EQ(shmring_producer_reader_alive(p), 0);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.reader_alive, 0);

	/* A reader in this process sees the producer alive, then closed. */
	c = t_consumer(name);
	CHECK_EQ(shmring_consumer_producer_alive(c), 1);
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.reader_pid, getpid());
	CHECK_EQ(st.frames_written, 4);
	shmring_producer_close(p);
	CHECK_EQ(shmring_consumer_producer_alive(c), 0);
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.state, SHMRING_STATE_CLOSED);
	shmring_consumer_close(c);
	CHECK_ERR(shmring_inspect(name, &si, NULL), -ENOENT);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
