/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_plane_geometry: a description is accepted only if every plane lies whole inside the frame, rows per plane from the format's subsampling. */
#include "common.h"

/* GStreamer's default I420 layout for w x h (as python/shmring/_video.py). */
static struct shmring_stream_info i420(uint32_t w, uint32_t h)
{
	struct shmring_stream_info si;
	uint32_t ys = (w + 3) & ~3u, uvs = (((w + 1) / 2) + 3) & ~3u, h2 = (h + 1) & ~1u;
	memset(&si, 0, sizeof si);
	si.caps = "video/x-raw, format=(string)I420";
	si.format = "I420";
	si.width = w;
	si.height = h;
	si.n_planes = 3;
	si.plane_stride[0] = ys;
	si.plane_stride[1] = si.plane_stride[2] = uvs;
	si.plane_offset[1] = (uint64_t)ys * h2;
	si.plane_offset[2] = si.plane_offset[1] + (uint64_t)uvs * (h2 / 2);
	si.frame_size = si.plane_offset[2] + (uint64_t)uvs * (h2 / 2);
	return si;
}

static void refused(shmring_producer *p, const struct shmring_stream_info *si, const char *word)
{
	CHECK_ERR(shmring_producer_set_stream(p, si), -EINVAL);
	CHECK_MSG(word);
}

int main(void)
{
	const char *name = t_channel("planes");
	shmring_producer *p = t_producer_bare(name, 1 << 20, SHMRING_POLICY_LOSSLESS);
	shmring_consumer *c = t_consumer(name);
	struct shmring_frame f;
	struct shmring_stream_info si;
	char caps[256];

	/* GStreamer's layouts, odd sizes included, are accepted and read. */
	for (uint32_t w = 1; w <= 9; w += 4)
		for (uint32_t h = 1; h <= 7; h += 3) {
			si = i420(w, h);
			CHECK_OK(shmring_producer_set_stream(p, &si));
			CHECK_OK(t_write_pattern(p, si.frame_size, w * 100 + h, 0));
			CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
			CHECK_EQ(f.desc->frame_size, si.frame_size);
			CHECK_OK(shmring_consumer_release(c, &f));
		}
	si = t_bgr_info(5, 3, caps, sizeof caps);
	CHECK_OK(shmring_producer_set_stream(p, &si));

	/* I420 5x3: the chroma planes have ceil(3/2) = 2 rows.  A frame one
	 * byte short of the last chroma row is refused, naming the plane. */
	si = i420(5, 3);
	si.frame_size -= 1;
	refused(p, &si, "plane 2");
	/* The same layout described as one chroma row per plane would fit a
	 * one-row check; the plane's second row does not. */
	si = i420(5, 3);
	si.plane_offset[2] = si.frame_size - si.plane_stride[2];
	refused(p, &si, "plane 2");
	/* NV12: plane 1 holds ceil(h/2) rows of interleaved U and V. */
	memset(&si, 0, sizeof si);
	si.caps = "video/x-raw, format=(string)NV12";
	si.format = "NV12";
	si.width = 6;
	si.height = 5;
	si.n_planes = 2;
	si.plane_stride[0] = si.plane_stride[1] = 8;
	si.plane_offset[1] = 8 * 6;
	si.frame_size = 8 * 6 + 8 * 3;
	CHECK_OK(shmring_producer_set_stream(p, &si));
	si.frame_size -= 8;
	refused(p, &si, "plane 1");
	/* A known format with another number of planes. */
	si.frame_size += 8;
	si.n_planes = 3;
	refused(p, &si, "has 2 planes, not 3");
	/* Rows shorter than the plane's pixels: BGR 5 wide needs 15 bytes. */
	si = t_bgr_info(5, 3, caps, sizeof caps);
	si.plane_stride[0] = 12;
	refused(p, &si, "plane 0");
	/* BGR: every row of the plane, not only the first. */
	si = t_bgr_info(5, 3, caps, sizeof caps);
	si.frame_size = si.plane_stride[0] * 2 + 1;
	refused(p, &si, "plane 0");

	/* A format the library does not know: one plane is checked with the
	 * full height; several planes too, so a subsampled layout is refused
	 * (describe it without planes instead). */
	si = t_bgr_info(5, 3, caps, sizeof caps);
	si.format = "NOTAFORMAT";
	CHECK_OK(shmring_producer_set_stream(p, &si));
	si.frame_size -= 1;
	refused(p, &si, "plane 0");
	si = i420(5, 3);
	si.format = "NOTAFORMAT";
	refused(p, &si, "plane 2");
	si.n_planes = 0;
	si.frame_size = 0;
	CHECK_OK(shmring_producer_set_stream(p, &si));
	/* Planes need a frame size to be checked against. */
	si = i420(5, 3);
	si.frame_size = 0;
	refused(p, &si, "frame_size");

	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
