/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_caps_change: description changes reach the reader in order with the frames, even held ones. */
#include "common.h"

static char caps[20][256];

static void check_frame(const struct shmring_frame *f, uint64_t j)
{
	uint32_t i = (uint32_t)(j / 3);
	CHECK_EQ(f->seq, j);
	CHECK_EQ(f->desc->width, 8 + i);
	CHECK_EQ(f->desc->height, 2 + i);
	CHECK_EQ(strcmp(f->desc->caps, caps[i]), 0);
	CHECK_EQ(f->size, f->desc->frame_size);
	CHECK_EQ(t_pattern_check(f->data, f->size, j), 0);
}

int main(void)
{
	const char *name = t_channel("capschange");
	shmring_producer *p = t_producer(name, 1024 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f[60];
	uint64_t next = 0, released = 0;

	/* 20 descriptions (more than the 8 slots), 3 frames each.  Up to 4
	 * descriptions and their frames are queued before the reader reads;
	 * the frames it reads are held while the next group changes the
	 * descriptions again, and their copies must not change. */
	for (uint32_t i = 0; i < 20; i++) {
		struct shmring_stream_info si = t_bgr_info(8 + i, 2 + i, caps[i], sizeof caps[i]);
		CHECK_OK(shmring_producer_set_stream(p, &si));
		for (int j = 0; j < 3; j++)
			CHECK_OK(t_write_pattern(p, si.frame_size, i * 3 + j, 0));
		if (i % 4 == 3) {
			for (; released < next; released++) {
				check_frame(&f[released], released);
				CHECK_OK(shmring_consumer_release(c, &f[released]));
			}
			for (; next < (i + 1) * 3; next++) {
				CHECK_EQ(shmring_consumer_next(c, &f[next], 0, 0), 1);
				CHECK_EQ(f[next].desc_changed, next % 3 == 0);
				check_frame(&f[next], next);
			}
		}
	}
	CHECK_EQ(next, 60);
	/* Release the last group in reverse order. */
	while (released < next) {
		next--;
		check_frame(&f[next], next);
		CHECK_OK(shmring_consumer_release(c, &f[next]));
	}
	CHECK_EQ(shmring_consumer_held(c), 0);

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
