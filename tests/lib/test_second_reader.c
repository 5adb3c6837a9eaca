/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_second_reader: a second reader is refused, naming the channel and the reader's pid; a dead reader's place is free. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("secondreader");
	shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = NULL;
	struct shmring_frame f;
	int ready[2];
	char b = 0, pidstr[32];
	pid_t pid;

	CHECK_OK(t_write_pattern(p, 10, 0, 0));
	CHECK_OK(t_write_pattern(p, 10, 1, 0));
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		c = t_consumer(name);
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		/* Hold frame 0 and die holding it. */
		t_write_all(ready[1], &b, 1);
		for (;;)
			pause();
	}
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);

	CHECK_ERR(shmring_consumer_attach(name, 0, &c), -EBUSY);
	CHECK(c == NULL);
	snprintf(pidstr, sizeof pidstr, "%ld", (long)pid);
	CHECK_MSG(name);
	CHECK_MSG(pidstr);
	CHECK_EQ(shmring_producer_reader_alive(p), 1);

	/* The reader dies holding a frame: a new reader takes over, the
	 * dead reader's frame is free again, reading goes on after it. */
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(t_wait(pid), 128 + SIGKILL);
	CHECK_EQ(shmring_producer_reader_alive(p), 0);
	c = t_consumer(name);
	CHECK_EQ(shmring_producer_reader_alive(p), 1);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	{
		struct shmring_stats st;
		CHECK_OK(shmring_producer_stats(p, &st));
		CHECK_EQ(st.lag_bytes, 0);
		CHECK_EQ(st.reader_pid, getpid());
	}
	/* And from this process, while this reader is attached. */
	{
		shmring_consumer *d = NULL;
		snprintf(pidstr, sizeof pidstr, "%ld", (long)getpid());
		CHECK_ERR(shmring_consumer_attach(name, 0, &d), -EBUSY);
		CHECK(d == NULL);
		CHECK_MSG(pidstr);
	}
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
