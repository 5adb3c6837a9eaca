/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stream_desc: the caps string and binary frame layout reach the reader, late joiners included. */
#include "common.h"

static void check_bgr(const struct shmring_desc *d, uint32_t w, uint32_t h, const char *caps)
{
	CHECK(d != NULL);
	CHECK(d->id != 0);
	CHECK_EQ(strcmp(d->format, "BGR"), 0);
	CHECK_EQ(d->width, w);
	CHECK_EQ(d->height, h);
	CHECK_EQ(d->n_planes, 1);
	CHECK_EQ(d->fps_n, 30);
	CHECK_EQ(d->fps_d, 1);
	CHECK_EQ(d->plane_offset[0], 0);
	CHECK_EQ(d->plane_stride[0], (w * 3 + 3) & ~3u);
	CHECK_EQ(d->frame_size, (uint64_t)((w * 3 + 3) & ~3u) * h);
	CHECK_EQ(d->caps_len, strlen(caps));
	CHECK_EQ(strcmp(d->caps, caps), 0);
}

int main(void)
{
	const char *name = t_channel("desc");
	char caps[256], caps2[SHMRING_CAPS_MAX + 10];
	shmring_producer *p = t_producer_bare(name, 256 * 1024, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	/* Odd width: BGR rows are padded to 4 bytes. */
	struct shmring_stream_info si = t_bgr_info(33, 17, caps, sizeof caps);
	struct shmring_desc d, d2;
	struct shmring_stats st;
	struct shmring_frame f;
	uint8_t frame[100 * 17];

	CHECK_EQ(si.plane_stride[0], 100);
	CHECK_ERR(shmring_consumer_current_desc(c, &d), -ENODATA);
	/* A frame without a description is refused. */
	memset(frame, 0x5a, sizeof frame);
	CHECK_ERR(shmring_producer_write(p, frame, sizeof frame, NULL, 0), -EINVAL);
	CHECK_MSG("description");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	/* Published at the latest with the next frame. */
	CHECK_OK(shmring_producer_write(p, frame, sizeof frame, NULL, 0));
	CHECK_OK(shmring_consumer_current_desc(c, &d));
	check_bgr(&d, 33, 17, caps);
	CHECK_OK(shmring_inspect(name, &st, &d2));
	check_bgr(&d2, 33, 17, caps);

	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	check_bgr(f.desc, 33, 17, caps);
	CHECK_EQ(f.desc_changed, 1);
	CHECK_OK(shmring_consumer_release(c, &f));

	/* A reader that joins late learns the caps in force. */
	shmring_consumer_close(c);
	CHECK_OK(shmring_producer_write(p, frame, sizeof frame, NULL, 0));
	c = t_consumer(name);
	CHECK_OK(shmring_consumer_current_desc(c, &d));
	check_bgr(&d, 33, 17, caps);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	check_bgr(f.desc, 33, 17, caps);
	CHECK_EQ(f.desc_changed, 1);
	CHECK_OK(shmring_consumer_release(c, &f));

	/* Variable-size stream (JPEG): no format, no planes, frame_size 0. */
	{
		struct shmring_stream_info j;
		memset(&j, 0, sizeof j);
		j.caps = "image/jpeg, width=(int)640, height=(int)480";
		CHECK_OK(shmring_producer_set_stream(p, &j));
		CHECK_OK(shmring_producer_write(p, "jpeg", 4, NULL, 0));
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_EQ(f.desc_changed, 1);
		CHECK_EQ(f.desc->format[0], 0);
		CHECK_EQ(f.desc->frame_size, 0);
		CHECK_EQ(f.desc->n_planes, 0);
		CHECK_EQ(strcmp(f.desc->caps, j.caps), 0);
		CHECK_OK(shmring_consumer_release(c, &f));
	}

	/* Bad descriptions are refused with a reason. */
	{
		struct shmring_stream_info b = si;
		b.caps = NULL;
		CHECK_ERR(shmring_producer_set_stream(p, &b), -EINVAL);
		b = si;
		memset(caps2, 'c', sizeof caps2 - 1);
		caps2[sizeof caps2 - 1] = 0;
		b.caps = caps2;
		CHECK_ERR(shmring_producer_set_stream(p, &b), -EINVAL);
		CHECK_MSG("caps");
		b = si;
		b.n_planes = 5;
		CHECK_ERR(shmring_producer_set_stream(p, &b), -EINVAL);
		b = si;
		b.plane_stride[0] = 2000; /* a row larger than the frame */
		CHECK_ERR(shmring_producer_set_stream(p, &b), -EINVAL);
		b = si;
		b.format = "AVERYLONGFORMATNAME";
		CHECK_ERR(shmring_producer_set_stream(p, &b), -EINVAL);
	}
	/* The refused descriptions changed nothing. */
	CHECK_OK(shmring_consumer_current_desc(c, &d));
	CHECK_EQ(d.frame_size, 0);

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
