/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_roundtrip.c: one producer, one reader: every frame's bytes and metadata, caps, caps change, late joiner's caps. */
#include "common.h"

#define W 64
#define H 48
#define RAW_FRAMES 40
#define JPEG_FRAMES 40
static const char *raw_caps = "video/x-raw, format=BGR, width=64, height=48, framerate=30/1";
static const char *jpeg_caps = "image/jpeg, width=64, height=48";

static char chan[64];
static struct gate ready, late_go;

static void check_meta(const struct shmring_frame *f)
{
	CHECK_EQ(f->meta.pts, f->seq * 1000);
	CHECK_EQ(f->meta.dts, f->seq % 3 ? f->seq * 1000 - 5 : SHMRING_NO_TIME);
	CHECK_EQ(f->meta.duration, 33333333);
	CHECK_EQ(f->meta.flags, f->seq % 2 ? SHMRING_FLAG_DELTA_UNIT : SHMRING_FLAG_HEADER);
	CHECK(f->commit_ns > 0 && f->commit_ns <= t_now());
}

static void check_frame(const struct shmring_frame *f)
{
	check_meta(f);
	if (f->seq < RAW_FRAMES) {
		CHECK_EQ(f->size, W * H * 3);
		CHECK(strcmp(f->desc->caps, raw_caps) == 0 && strcmp(f->desc->format, "BGR") == 0);
		CHECK(f->desc->width == W && f->desc->height == H && f->desc->n_planes == 1);
		CHECK(f->desc->plane_stride[0] == W * 3 && f->desc->frame_size == W * H * 3);
		CHECK(f->desc->fps_n == 30 && f->desc->fps_d == 1);
	} else {
		CHECK_EQ(f->size, t_size(f->seq, 1, 20000));
		CHECK(strcmp(f->desc->caps, jpeg_caps) == 0 && f->desc->n_planes == 0);
	}
	if (!frame_ok(f->data, f->size, f->seq))
		FAIL("frame %" PRIu64 " has wrong bytes", f->seq);
}

/* Read from first_seq to EOS; each frame checked. */
static void read_all(shmring_consumer *c, uint64_t first_seq)
{
	struct shmring_frame f;
	uint64_t want = first_seq;
	uint32_t last_desc = 0;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, 10 * SEC, 0)) == 1) {
		CHECK_EQ(f.seq, want);
		check_frame(&f);
		CHECK_EQ(f.desc_changed, f.desc->id != last_desc);
		last_desc = f.desc->id;
		CHECK_OK(shmring_consumer_release(c, &f));
		want++;
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(want, RAW_FRAMES + JPEG_FRAMES);
	CHECK_EQ(shmring_consumer_held(c), 0);
}

static int reader(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&ready, 'r');
	read_all(c, 0);
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_read, RAW_FRAMES + JPEG_FRAMES);
	CHECK_EQ(st.frames_dropped, 0);
	shmring_consumer_close(c);
	return 0;
}

/* Attaches after the caps changed: it learns the current caps at once. */
static int late_reader(void *arg)
{
	(void)arg;
	gate_wait(&late_go, 10000);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	struct shmring_desc d;
	CHECK_OK(shmring_consumer_current_desc(c, &d));
	CHECK(strcmp(d.caps, jpeg_caps) == 0);
	gate_post(&ready, 'l');
	read_all(c, RAW_FRAMES + 5);
	shmring_consumer_close(c);
	return 0;
}

static void produce(shmring_producer *p, uint64_t seq)
{
	size_t n = seq < RAW_FRAMES ? W * H * 3 : t_size(seq, 1, 20000);
	struct shmring_meta m = {seq * 1000, seq % 3 ? seq * 1000 - 5 : SHMRING_NO_TIME, 33333333,
				 seq % 2 ? SHMRING_FLAG_DELTA_UNIT : SHMRING_FLAG_HEADER};
	void *dst;
	uint64_t id;
	CHECK_OK(shmring_producer_reserve(p, n, 10 * SEC, &dst, &id));
	fill_frame(dst, n, seq);
	CHECK_OK(shmring_producer_commit(p, id, n, &m));
}

int main(void)
{
	t_name(chan, sizeof(chan), "roundtrip");
	gate_init(&ready);
	gate_init(&late_go);
	pid_t r = t_spawn(reader, NULL), l = t_spawn(late_reader, NULL);

	struct shmring_producer_options o = {.slot_size = 32768, .policy = SHMRING_POLICY_LOSSLESS};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	struct shmring_stream_info raw = {.caps = raw_caps, .format = "BGR", .width = W, .height = H,
					  .fps_n = 30, .fps_d = 1, .n_planes = 1,
					  .frame_size = W * H * 3, .plane_stride = {W * 3}};
	void *dst;
	uint64_t id;
	CHECK_ERR(shmring_producer_reserve(p, 10, 0, &dst, &id), -EINVAL); /* no caps yet */
	CHECK_MSG("stream description");
	CHECK_OK(shmring_producer_set_stream(p, &raw));
	CHECK_ERR(shmring_producer_reserve(p, 40000, 0, &dst, &id), -EMSGSIZE);
	CHECK_MSG("slot_size >= 40000");
	gate_wait(&ready, 10000);
	for (uint64_t s = 0; s < RAW_FRAMES; s++)
		produce(p, s);
	struct shmring_stream_info jpeg;
	t_opaque(&jpeg, jpeg_caps);
	CHECK_OK(shmring_producer_set_stream(p, &jpeg));
	for (uint64_t s = RAW_FRAMES; s < RAW_FRAMES + 5; s++)
		produce(p, s);
	gate_post(&late_go, 'g');
	gate_wait(&ready, 10000);
	for (uint64_t s = RAW_FRAMES + 5; s < RAW_FRAMES + JPEG_FRAMES; s++)
		produce(p, s);
	CHECK_OK(shmring_producer_eos(p, 10 * SEC));
	CHECK_EQ(t_reap(r), 0);
	CHECK_EQ(t_reap(l), 0);
	shmring_producer_close(p);
	CHECK(!t_leftover(chan));
	return 0;
}
