/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_eos_close: end-of-stream in order, clean close without EOS, and a crash are told apart. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("eos");
	shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f;
	struct shmring_stats st;
	int fds[2];
	pid_t pid;

	/* EOS comes after the frames written before it, and stays. */
	for (int i = 0; i < 3; i++)
		CHECK_OK(t_write_pattern(p, 100, i, 0));
	CHECK_OK(shmring_producer_eos(p, 0));
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(f.seq, i);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 0);
	CHECK_EQ(shmring_consumer_held(c), 0);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	shmring_consumer_close(c);

	/* EOS already queued when the producer closes: seen, not an error. */
	name = t_channel("eos");
	p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	c = t_consumer(name);
	CHECK_OK(t_write_pattern(p, 100, 0, 0));
	CHECK_OK(shmring_producer_eos(p, 0));
	shmring_producer_close(p);
	CHECK_EQ(shmring_consumer_next(c, &f, SHMRING_FOREVER, 0), 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, SHMRING_FOREVER, 0), 0);
	shmring_consumer_close(c);
	CHECK_NO_LEFTOVER(name);

	/* Clean close without EOS: frames first, then -ESHUTDOWN. */
	name = t_channel("eos");
	p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	c = t_consumer(name);
	CHECK_OK(t_write_pattern(p, 10, 0, 0));
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.state, SHMRING_STATE_CLOSED);
	CHECK_EQ(shmring_consumer_producer_alive(c), 0);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_ERR(shmring_consumer_next(c, &f, SHMRING_FOREVER, 0), -ESHUTDOWN);
	shmring_consumer_close(c);

	/* A crash (SIGKILL): frames first, then -EOWNERDEAD, and the
	 * segment is left behind (state OPEN, lock free). */
	name = t_channel("eos");
	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char b = 1;
		close(fds[0]);
		p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
		CHECK_OK(t_write_pattern(p, 10, 0, 0));
		t_write_all(fds[1], &b, 1);
		for (;;)
			pause();
	}
	close(fds[1]);
	{
		char b;
		CHECK_EQ(t_read_all(fds[0], &b, 1), 0);
	}
	c = t_consumer(name);
	CHECK_EQ(shmring_consumer_producer_alive(c), 1);
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(t_wait(pid), 128 + SIGKILL);
	CHECK_EQ(shmring_consumer_producer_alive(c), 0);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(t_pattern_check(f.data, f.size, 0), 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_ERR(shmring_consumer_next(c, &f, SHMRING_FOREVER, 0), -EOWNERDEAD);
	CHECK_MSG(name);
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.state, SHMRING_STATE_OPEN);
	CHECK_EQ(st.producer_alive, 0);
	shmring_consumer_close(c);
	CHECK(t_exists(name));
	/* A new producer replaces the stale segment; its close cleans up. */
	p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	close(fds[0]);
	return 0;
}
