/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_latest: a reader can ask for the newest frame, skipping (and counting) the backlog. */
#include "common.h"

int main(void)
{
	const char *name = t_channel("latest");
	shmring_producer *p = t_producer(name, 64 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f;
	struct shmring_stats st;
	char caps[2][256];
	struct shmring_stream_info a = t_bgr_info(4, 4, caps[0], sizeof caps[0]);
	struct shmring_stream_info b = t_bgr_info(8, 2, caps[1], sizeof caps[1]);

	CHECK_OK(shmring_producer_set_stream(p, &a));
	for (uint64_t i = 0; i < 5; i++)
		CHECK_OK(t_write_pattern(p, a.frame_size, i, 0));
	/* The newest carries a different description: LATEST still reports
	 * the change, as the skipped frames had the old one. */
	CHECK_OK(shmring_producer_set_stream(p, &b));
	for (uint64_t i = 5; i < 10; i++)
		CHECK_OK(t_write_pattern(p, b.frame_size, i, 0));

	CHECK_EQ(shmring_consumer_next(c, &f, 0, SHMRING_NEXT_LATEST), 1);
	CHECK_EQ(f.seq, 9);
	CHECK_EQ(t_pattern_check(f.data, f.size, 9), 0);
	CHECK_EQ(f.desc->width, 8);
	CHECK_EQ(f.desc_changed, 1);
	CHECK_EQ(shmring_consumer_held(c), 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_skipped, 9);
	CHECK_EQ(st.frames_read, 1); /* handed to the application */
	CHECK_EQ(st.lag_frames, 0);
	CHECK_EQ(st.lag_bytes, 0);

	/* Nothing new: LATEST waits like next() does. */
	CHECK_ERR(shmring_consumer_next(c, &f, 0, SHMRING_NEXT_LATEST), -ETIMEDOUT);
	/* One new frame: LATEST returns it. */
	CHECK_OK(t_write_pattern(p, b.frame_size, 10, 0));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, SHMRING_NEXT_LATEST), 1);
	CHECK_EQ(f.seq, 10);
	CHECK_EQ(f.desc_changed, 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	/* LATEST stops at end of stream without skipping past it. */
	CHECK_OK(t_write_pattern(p, b.frame_size, 11, 0));
	CHECK_OK(t_write_pattern(p, b.frame_size, 12, 0));
	CHECK_OK(shmring_producer_eos(p, 0));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, SHMRING_NEXT_LATEST), 1);
	CHECK_EQ(f.seq, 12);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, SHMRING_NEXT_LATEST), 0);

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
