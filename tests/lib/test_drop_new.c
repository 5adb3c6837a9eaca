/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_drop_new: a full ring drops the new frame at once, counts it, and leaves a gap in sequence numbers. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("dropnew");
	shmring_producer *p = t_producer(name, 16384, SHMRING_POLICY_DROP_NEW);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f;
	struct shmring_stats st;
	int n = 0;
	void *d;
	uint64_t id;

	while (t_write_pattern(p, 3000, (uint64_t)n, 0) == 0)
		n++;
	CHECK(n >= 3);
	/* The failed write above was a drop: never a wait, even forever. */
	CHECK_ERR(t_write_pattern(p, 3000, (uint64_t)n + 1, SHMRING_FOREVER), -ENOBUFS);
	CHECK_ERR(shmring_producer_reserve(p, 3000, SHMRING_FOREVER, &d, &id), -ENOBUFS);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written, n);
	CHECK_EQ(st.frames_dropped, 3);

	for (int i = 0; i < n; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(f.seq, i);
		CHECK_EQ(t_pattern_check(f.data, f.size, (uint64_t)i), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	/* The next frame written carries a sequence number after the gap. */
	CHECK_OK(t_write_pattern(p, 3000, (uint64_t)n + 3, 0));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, n + 3);
	CHECK_EQ(t_pattern_check(f.data, f.size, (uint64_t)n + 3), 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_dropped, 3);
	CHECK_EQ(st.frames_read, n + 1);

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
