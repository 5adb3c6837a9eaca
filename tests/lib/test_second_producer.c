/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_second_producer: a second producer on a live channel is refused, naming the channel and the holder's pid. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("secondprod");
	shmring_producer *p = NULL;
	struct shmring_stats st;
	int ready[2], quit[2];
	char b = 0, pidstr[32];
	pid_t pid;

	CHECK_EQ(pipe(ready), 0);
	CHECK_EQ(pipe(quit), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
		CHECK_OK(t_write_pattern(p, 10, 0, 0));
		t_write_all(ready[1], &b, 1);
		CHECK_EQ(t_read_all(quit[0], &b, 1), 0);
		shmring_producer_close(p);
		_exit(0);
	}
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);

	CHECK_ERR(shmring_producer_create(name, NULL, &p), -EBUSY);
	CHECK(p == NULL);
	snprintf(pidstr, sizeof pidstr, "%ld", (long)pid);
	CHECK_MSG(name);
	CHECK_MSG(pidstr);
	/* The live producer's segment is untouched. */
	CHECK_OK(shmring_inspect(name, &st, NULL));
	CHECK_EQ(st.producer_pid, pid);
	CHECK_EQ(st.frames_written, 1);
	/* Also refused from this process while it holds the channel. */
	t_write_all(quit[1], &b, 1);
	CHECK_EQ(t_wait(pid), 0);
	CHECK_NO_LEFTOVER(name);
	p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	{
		shmring_producer *q = NULL;
		snprintf(pidstr, sizeof pidstr, "%ld", (long)getpid());
		CHECK_ERR(shmring_producer_create(name, NULL, &q), -EBUSY);
		CHECK(q == NULL);
		CHECK_MSG(pidstr);
	}
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
