/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make_corpus: writes seed inputs for fuzz_pool from the pools and reader blocks of the real producer. */
#include "../lib/common.h"
#include "fuzz_input.h"
#include "internal.h" /* the producer's pool and reader blocks, to copy them */

#include <sys/mman.h>

static const char *outdir;

/* Append the nonzero runs of what (len bytes) as chunks for target. */
static size_t chunks(uint8_t *in, size_t at, size_t cap, int target, const uint8_t *what, uint64_t len)
{
	for (uint64_t i = 0; i < len;) {
		if (!what[i]) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < len && j - i < 4096 && (what[j] || (j + 8 < len && what[j + 8])))
			j++;
		uint32_t off = (uint32_t)i;
		uint16_t n = (uint16_t)(j - i);
		CHECK(at + FUZZ_CHUNK_HEADER + n <= cap);
		in[at] = (uint8_t)target;
		memcpy(in + at + 1, &off, 4);
		memcpy(in + at + 5, &n, 2);
		memcpy(in + at + FUZZ_CHUNK_HEADER, what + i, n);
		at += FUZZ_CHUNK_HEADER + n;
		i = j;
	}
	return at;
}

/* The input that rebuilds producer p's pool and reader 0's block. */
static void snapshot(shmring_producer *p, const char *tag, uint8_t ctl)
{
	static uint8_t in[1u << 20];
	memset(in, 0, sizeof in);
	struct reader *r = &p->r[0];
	CHECK(r->active);
	struct shmring_msg_welcome w = {SHMRING_MSG_WELCOME, sizeof(w), SHMRING_VERSION, 0,
					 p->m.id.pool_size, p->m.id.generation, r->holds, r->mode};
	in[FUZZ_CTL] = ctl;
	memcpy(in + FUZZ_WELCOME, &w, sizeof w);
	memcpy(in + FUZZ_POOL_SIZE, &p->m.id.pool_size, 8);
	size_t n = chunks(in, FUZZ_CHUNKS, sizeof in, 0, p->m.base, p->m.id.pool_size);
	n = chunks(in, n, sizeof in, 1, (const uint8_t *)r->b, SHMRING_BLOCK_SIZE);
	char path[512];
	snprintf(path, sizeof path, "%s/%s", outdir, tag);
	FILE *out = fopen(path, "wb");
	CHECK(out != NULL);
	CHECK_EQ(fwrite(in, 1, n, out), n);
	CHECK_EQ(fclose(out), 0);
}

static shmring_producer *producer(const char *name, uint32_t policy, const char *caps)
{
	struct shmring_producer_options o = {.slot_size = 4096, .policy = policy, .max_readers = 1};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(name, &o, &p));
	struct shmring_stream_info si;
	t_opaque(&si, caps);
	CHECK_OK(shmring_producer_set_stream(p, &si));
	return p;
}

static void write_frames(shmring_producer *p, unsigned n, uint64_t first)
{
	uint8_t buf[600];
	for (unsigned i = 0; i < n; i++) {
		size_t len = 1 + (size_t)((first + i) * 97 % sizeof buf);
		fill_frame(buf, len, first + i);
		CHECK_OK(shmring_producer_write(p, buf, len, NULL, SEC));
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus DIR: writes the fuzz seeds into DIR\n");
		return 2;
	}
	outdir = argv[1];
	char name[64];
	t_name(name, sizeof name, "corpus");
	shmring_consumer *c;
	struct shmring_frame f;

	/* An empty queue, then two frames queued, then one of them held. */
	shmring_producer *p = producer(name, SHMRING_POLICY_LOSSLESS, "application/x-seed");
	CHECK_OK(shmring_consumer_attach(name, NULL, 5 * SEC, &c));
	snapshot(p, "empty", 0);
	write_frames(p, 2, 0);
	snapshot(p, "two-frames", 0);
	snapshot(p, "two-frames-hold", FUZZ_CTL_HOLD);
	snapshot(p, "two-frames-hangup", FUZZ_CTL_HANGUP);
	snapshot(p, "two-frames-unsealed", FUZZ_CTL_UNSEALED);
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	snapshot(p, "one-held", FUZZ_CTL_HOLD);
	CHECK_OK(shmring_consumer_release(c, &f));
	/* A caps change between frames: two descriptions in use. */
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-seed, changed=(int)1");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	write_frames(p, 1, 2);
	CHECK_OK(shmring_producer_eos(p, SEC));
	snapshot(p, "caps-change-eos", 0);
	snapshot(p, "caps-change-eos-latest", FUZZ_CTL_LATEST);
	shmring_consumer_close(c);
	shmring_producer_close(p);

	/* Live: the queue wrapped around several times. */
	p = producer(name, SHMRING_POLICY_LIVE, "video/x-raw, format=BGR, width=5, height=3");
	struct shmring_consumer_options lo = {.mode = SHMRING_MODE_LIVE};
	CHECK_OK(shmring_consumer_attach(name, &lo, 5 * SEC, &c));
	write_frames(p, 9, 0);
	snapshot(p, "live-wrapped", FUZZ_CTL_LIVE);
	snapshot(p, "live-wrapped-latest", FUZZ_CTL_LIVE | FUZZ_CTL_LATEST);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
