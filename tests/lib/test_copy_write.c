/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_copy_write: copied frames arrive intact, in order, with their metadata and commit time. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("copy");
	shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	static const size_t sizes[] = {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096, 20000};
	const size_t n = sizeof sizes / sizeof sizes[0];
	uint64_t before[32], after[32];
	struct shmring_frame f;
	uint8_t buf[20000];

	for (size_t i = 0; i < n; i++) {
		struct shmring_meta m = {1000 + i, 500 + i, 33, (uint32_t)(i & SHMRING_FLAGS_ALL)};
		if (i == 3)
			m.pts = m.dts = m.duration = SHMRING_NO_TIME;
		t_pattern_fill(buf, sizes[i], i);
		before[i] = shmring_now_ns();
		CHECK_OK(shmring_producer_write(p, buf, sizes[i], &m, 0));
		after[i] = shmring_now_ns();
	}
	/* Metadata may be NULL: no times, no flags. */
	CHECK_OK(shmring_producer_write(p, "x", 1, NULL, 0));

	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(f.seq, i);
		CHECK_EQ(f.size, sizes[i]);
		CHECK_EQ(t_pattern_check(f.data, f.size, i), 0);
		CHECK_EQ((uintptr_t)f.data % 64, 0);
		if (i == 3) {
			CHECK_EQ(f.meta.pts, SHMRING_NO_TIME);
			CHECK_EQ(f.meta.dts, SHMRING_NO_TIME);
			CHECK_EQ(f.meta.duration, SHMRING_NO_TIME);
		} else {
			CHECK_EQ(f.meta.pts, 1000 + i);
			CHECK_EQ(f.meta.dts, 500 + i);
			CHECK_EQ(f.meta.duration, 33);
		}
		CHECK_EQ(f.meta.flags, i & SHMRING_FLAGS_ALL);
		CHECK(f.commit_ns >= before[i] && f.commit_ns <= after[i]);
		CHECK_EQ(shmring_consumer_held(c), 1);
		CHECK_OK(shmring_consumer_release(c, &f));
		CHECK_EQ(shmring_consumer_held(c), 0);
	}
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.size, 1);
	CHECK_EQ(((const char *)f.data)[0], 'x');
	CHECK_EQ(f.meta.pts, SHMRING_NO_TIME);
	CHECK_EQ(f.meta.flags, 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	/* Nothing more: timeout 0 returns at once. */
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);

	/* Unknown metadata flags never reach the reader (refused or masked). */
	{
		struct shmring_meta bad = SHMRING_META_INIT;
		bad.flags = 0xff01;
		if (shmring_producer_write(p, "x", 1, &bad, 0) == 0) {
			CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
			CHECK_EQ(f.meta.flags, 0x01);
			CHECK_OK(shmring_consumer_release(c, &f));
		}
	}

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);

	/* Large frames take the streaming-store copy: a 1080p BGR frame, and
	 * odd sizes from a source that is not aligned, arrive intact. */
	{
		static const size_t big[] = {1920 * 1080 * 3, 262144, 262144 + 63, 700001};
		const char *bname = t_channel("copy-big");
		shmring_producer *bp = t_producer(bname, 8u << 20, SHMRING_POLICY_LOSSLESS);
		shmring_consumer *bc = t_consumer(bname);
		uint8_t *src = malloc(1920 * 1080 * 3 + 1);
		CHECK(src != NULL);
		for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
			uint8_t *from = src + (i & 1); /* odd source address every other frame */
			t_pattern_fill(from, big[i], 100 + i);
			CHECK_OK(shmring_producer_write(bp, from, big[i], NULL, 0));
			CHECK_EQ(shmring_consumer_next(bc, &f, 0, 0), 1);
			CHECK_EQ(f.size, big[i]);
			CHECK_EQ(t_pattern_check(f.data, f.size, 100 + i), 0);
			CHECK_OK(shmring_consumer_release(bc, &f));
		}
		free(src);
		shmring_consumer_close(bc);
		shmring_producer_close(bp);
		CHECK_NO_LEFTOVER(bname);
	}
	return 0;
}
