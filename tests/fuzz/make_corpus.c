/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make_corpus: writes seed inputs for fuzz_segment from segments made by the real producer. */
#include "../lib/common.h"
#include "fuzz_input.h"

static const char *outdir;
static uint8_t seg[SHMRING_RING_OFFSET + 4096];

static void snapshot(const char *name, const char *tag, uint8_t ctl)
{
	char path[512];
	static uint8_t in[FUZZ_RING + 4096];
	int fd;
	FILE *out;

	t_path(path, sizeof path, name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, seg, sizeof seg, 0), (ssize_t)sizeof seg);
	close(fd);
	in[FUZZ_CTL] = ctl;
	memcpy(in + FUZZ_HDR, seg, FUZZ_HDR_LEN);
	memcpy(in + FUZZ_SLOT1, seg + SHMRING_DESC_OFFSET + SHMRING_DESC_SLOT_SIZE, FUZZ_SLOT_LEN);
	memcpy(in + FUZZ_SLOT2, seg + SHMRING_DESC_OFFSET + 2 * SHMRING_DESC_SLOT_SIZE, FUZZ_SLOT_LEN);
	memcpy(in + FUZZ_RING, seg + SHMRING_RING_OFFSET, 4096);
	snprintf(path, sizeof path, "%s/%s", outdir, tag);
	out = fopen(path, "wb");
	CHECK(out != NULL);
	CHECK_EQ(fwrite(in, 1, sizeof in, out), sizeof in);
	CHECK_EQ(fclose(out), 0);
}

static shmring_producer *t_producer_opts(const char *name, uint32_t policy, uint32_t flags)
{
	struct shmring_producer_options o = {4096, 0, policy, flags};
	shmring_producer *p = NULL;
	CHECK_OK(shmring_producer_create(name, &o, &p));
	return p;
}

/* snapshot() with the header's read_pos replaced by pos. */
static void snapshot_read_pos(const char *name, const char *tag, uint64_t pos)
{
	char path[512];
	uint64_t old;
	int fd;
	t_path(path, sizeof path, name);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &old, 8, offsetof(struct shmring_header, read_pos)), 8);
	CHECK_EQ(pwrite(fd, &pos, 8, offsetof(struct shmring_header, read_pos)), 8);
	snapshot(name, tag, FUZZ_CTL_LOCK);
	CHECK_EQ(pwrite(fd, &old, 8, offsetof(struct shmring_header, read_pos)), 8);
	close(fd);
}

int main(int argc, char **argv)
{
	char caps[2][256];
	struct shmring_stream_info a = t_bgr_info(5, 3, caps[0], sizeof caps[0]);
	struct shmring_stream_info b = t_bgr_info(3, 2, caps[1], sizeof caps[1]);
	struct shmring_stream_info i420 = {
		.caps = "video/x-raw, format=(string)I420, width=(int)5, height=(int)3",
		.format = "I420", .width = 5, .height = 3, .n_planes = 3, .frame_size = 48,
		.plane_offset = {0, 32, 40}, .plane_stride = {8, 4, 4},
	};
	const char *name = t_channel("corpus");
	shmring_producer *p;
	shmring_consumer *c;
	struct shmring_frame f;

	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);

	/* Empty channel, then one frame. */
	p = t_producer_bare(name, 4096, SHMRING_POLICY_LOSSLESS);
	snapshot(name, "empty", FUZZ_CTL_LOCK);
	CHECK_OK(shmring_producer_set_stream(p, &a));
	CHECK_OK(t_write_pattern(p, a.frame_size, 0, 0));
	snapshot(name, "one-frame", FUZZ_CTL_LOCK);
	snapshot(name, "one-frame-dead", 0);
	/* Caps change, frames, EOS. */
	CHECK_OK(t_write_pattern(p, 1000, 1, 0));
	CHECK_OK(shmring_producer_set_stream(p, &b));
	CHECK_OK(t_write_pattern(p, b.frame_size, 2, 0));
	CHECK_OK(shmring_producer_eos(p, 0));
	snapshot(name, "caps-change-eos", FUZZ_CTL_LOCK | FUZZ_CTL_HOLD);
	snapshot(name, "caps-change-eos-latest", FUZZ_CTL_LOCK | FUZZ_CTL_LATEST);
	shmring_producer_close(p);

	/* Wrapped ring with a PAD record; the reader is part way. */
	p = t_producer_bare(name, 4096, SHMRING_POLICY_LOSSLESS);
	CHECK_OK(shmring_producer_set_stream(p, &a));
	c = t_consumer(name);
	CHECK_OK(t_write_pattern(p, 2500, 0, 0));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(t_write_pattern(p, 900, 1, 0));
	CHECK_OK(t_write_pattern(p, 2000, 2, 0));
	CHECK_OK(shmring_producer_set_stream(p, &b));
	CHECK_OK(t_write_pattern(p, b.frame_size, 3, 0));
	shmring_consumer_close(c);
	snapshot(name, "wrapped-pad", FUZZ_CTL_LOCK);
	shmring_producer_close(p);

	/* Live policy, a frame held by a reader, many small frames. */
	p = t_producer_bare(name, 4096, SHMRING_POLICY_LIVE);
	CHECK_OK(shmring_producer_set_stream(p, &b));
	c = t_consumer(name);
	CHECK_OK(t_write_pattern(p, 100, 0, 0));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	for (uint64_t i = 1; i < 40; i++)
		(void)t_write_pattern(p, b.frame_size + i * 3, i, 0);
	snapshot(name, "live-held", FUZZ_CTL_LOCK | FUZZ_CTL_LATEST);
	shmring_consumer_close(c);
	shmring_producer_close(p);

	/* Keep-newest with no reader: only the newest frame is left, after
	 * reclaimed ones and a PAD record. */
	p = t_producer_opts(name, SHMRING_POLICY_LOSSLESS, SHMRING_PRODUCER_KEEP_NEWEST);
	CHECK_OK(shmring_producer_set_stream(p, &b));
	for (uint64_t i = 0; i < 9; i++)
		CHECK_OK(t_write_pattern(p, b.frame_size + 500, i, 0));
	snapshot(name, "keep-newest", FUZZ_CTL_LOCK);
	/* The same with read_pos moved 8 bytes before the end of the ring. */
	snapshot_read_pos(name, "read-pos-near-end", 4096 - 8);
	shmring_producer_close(p);

	/* Planar raw frames (I420 5x3, GStreamer's layout). */
	p = t_producer_bare(name, 4096, SHMRING_POLICY_LOSSLESS);
	CHECK_OK(shmring_producer_set_stream(p, &i420));
	CHECK_OK(t_write_pattern(p, i420.frame_size, 0, 0));
	CHECK_OK(t_write_pattern(p, i420.frame_size, 1, 0));
	snapshot(name, "i420", FUZZ_CTL_LOCK | FUZZ_CTL_HOLD);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
