/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_plane_geometry.c: a description whose planes do not lie whole inside the frame is refused naming the plane; odd-sized I420 and NV12 pass and reach the reader unchanged. */
#include "common.h"

static struct shmring_stream_info i420(uint32_t w, uint32_t h)
{
	/* GStreamer's layout: strides rounded up to 4, chroma ceil(w/2) x ceil(h/2). */
	uint32_t ys = (w + 3) & ~3u, cw = (w + 1) / 2, cs = (cw + 3) & ~3u, ch = (h + 1) / 2;
	struct shmring_stream_info si = {.caps = "video/x-raw, format=I420", .format = "I420",
					 .width = w, .height = h, .n_planes = 3};
	si.plane_stride[0] = ys;
	si.plane_stride[1] = si.plane_stride[2] = cs;
	si.plane_offset[1] = (uint64_t)ys * h;
	si.plane_offset[2] = si.plane_offset[1] + (uint64_t)cs * ch;
	si.frame_size = si.plane_offset[2] + (uint64_t)cs * ch;
	return si;
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "plane_geometry");
	struct shmring_producer_options o = {.slot_size = 4096};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));

	/* Refused, each naming what is wrong. */
	struct shmring_stream_info si = i420(5, 3);
	si.frame_size -= 1; /* the last chroma row does not fit */
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	CHECK_MSG("plane 2");
	si = i420(5, 3);
	si.plane_stride[0] = 4; /* a luma row of 5 pixels needs 5 bytes */
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	CHECK_MSG("plane 0");
	si = i420(5, 3);
	si.plane_offset[1] = si.frame_size + 1;
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	CHECK_MSG("plane 1");
	si = i420(5, 3);
	si.n_planes = 2; /* I420 has 3 */
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	CHECK_MSG("3 planes");
	si = i420(5, 3);
	si.frame_size = 0; /* planes need a frame size */
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	CHECK_MSG("frame_size");
	si = i420(5, 3);
	si.n_planes = SHMRING_MAX_PLANES + 1;
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	si = i420(5, 3);
	si.format = "NOTAFORMAT123456";
	CHECK_ERR(shmring_producer_set_stream(p, &si), -EINVAL);
	CHECK_MSG("15 characters");

	/* Odd sizes that fit exactly pass, and the reader gets the layout. */
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	si = i420(5, 3);
	CHECK_OK(shmring_producer_set_stream(p, &si));
	uint8_t b[4096];
	fill_frame(b, si.frame_size, 0);
	CHECK_OK(shmring_producer_write(p, b, si.frame_size, NULL, SEC));
	struct shmring_stream_info nv12 = {.caps = "video/x-raw, format=NV12", .format = "NV12",
					   .width = 7, .height = 5, .n_planes = 2,
					   .plane_offset = {0, 8 * 5}, .plane_stride = {8, 8}};
	nv12.frame_size = 8 * 5 + 8 * 3;
	CHECK_OK(shmring_producer_set_stream(p, &nv12));
	fill_frame(b, nv12.frame_size, 1);
	CHECK_OK(shmring_producer_write(p, b, nv12.frame_size, NULL, SEC));

	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK(strcmp(f.desc->format, "I420") == 0);
	CHECK_EQ(f.desc->width, 5);
	CHECK_EQ(f.desc->height, 3);
	CHECK_EQ(f.desc->n_planes, 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(f.desc->plane_offset[i], si.plane_offset[i]);
		CHECK_EQ(f.desc->plane_stride[i], si.plane_stride[i]);
	}
	CHECK_EQ(f.desc->frame_size, si.frame_size);
	CHECK_EQ(f.size, si.frame_size);
	CHECK(frame_ok(f.data, f.size, 0));
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK(strcmp(f.desc->format, "NV12") == 0);
	CHECK_EQ(f.desc->plane_offset[1], 40);
	CHECK_EQ(f.size, nv12.frame_size);
	CHECK(frame_ok(f.data, f.size, 1));
	CHECK_OK(shmring_consumer_release(c, &f));
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
