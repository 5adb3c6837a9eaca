/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_lossless: a full ring makes the producer wait until the reader (another process) frees space. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("lossless");
	shmring_producer *p = t_producer(name, 16384, SHMRING_POLICY_LOSSLESS);
	int go[2], done[2];
	pid_t pid;
	int n = 0;
	char b = 1;
	struct shmring_stats st;

	CHECK_EQ(pipe(go), 0);
	CHECK_EQ(pipe(done), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Reader: attach, wait for "go", then read 500 frames. */
		shmring_consumer *c = t_consumer(name);
		struct shmring_frame f;
		t_write_all(done[1], &b, 1);
		CHECK_EQ(t_read_all(go[0], &b, 1), 0);
		for (uint64_t i = 0; i < 500; i++) {
			CHECK_EQ(shmring_consumer_next(c, &f, 10 * 1000000000ll, 0), 1);
			CHECK_EQ(f.seq, i);
			CHECK_EQ(t_pattern_check(f.data, f.size, i), 0);
			CHECK_OK(shmring_consumer_release(c, &f));
		}
		CHECK_EQ(shmring_consumer_next(c, &f, 10 * 1000000000ll, 0), 0);
		shmring_consumer_close(c);
		_exit(0);
	}
	CHECK_EQ(t_read_all(done[0], &b, 1), 0);
	CHECK_EQ(shmring_producer_reader_alive(p), 1);

	/* Fill the ring; the next write cannot complete now. */
	while (t_write_pattern(p, 3000, (uint64_t)n, 0) == 0)
		n++;
	CHECK(n >= 3);
	CHECK_ERR(t_write_pattern(p, 3000, (uint64_t)n, 0), -ETIMEDOUT);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_dropped, 0);
	CHECK_EQ(st.frames_written, n);

	/* Let the reader go: every remaining write waits for space and
	 * succeeds; nothing is lost. */
	t_write_all(go[1], &b, 1);
	for (uint64_t i = (uint64_t)n; i < 500; i++)
		CHECK_OK(t_write_pattern(p, 1 + (i * 37) % 6000, i, 10 * 1000000000ll));
	CHECK_OK(shmring_producer_eos(p, 10 * 1000000000ll));
	CHECK_EQ(t_wait(pid), 0);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written, 500);
	CHECK_EQ(st.frames_dropped, 0);
	CHECK_EQ(st.frames_read, 500);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
