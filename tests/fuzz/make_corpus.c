/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make_corpus: writes the seed inputs of fuzz_pool (valid pools and blocks a real producer would make) into a directory. */
#include "fuzz_pool_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t in[FP_PAYLOAD + 3 * 4096];

static void put(size_t at, const void *src, size_t n)
{
	memcpy(in + at, src, n);
}

/* One reader, queue 2, one hold, one reservation: 5 slots of 4096 bytes. */
static void base(const char *caps)
{
	memset(in, 0, sizeof in);
	in[FP_CTL] = FP_CTL_MATCH;
	struct shmring_pool_header h = {0};
	h.magic = SHMRING_MAGIC;
	h.version = SHMRING_VERSION;
	h.header_size = SHMRING_HEADER_SIZE;
	h.slot_table_offset = SHMRING_SLOT_TABLE_OFFSET;
	h.n_slots = 5;
	h.max_readers = 1;
	h.queue_len = 2;
	h.max_holds = 1;
	h.max_reserved = 1;
	h.slot_size = 4096;
	h.payload_offset = SHMRING_SLOT_TABLE_OFFSET + 4096;
	h.pool_size = h.payload_offset + 5 * 4096;
	h.generation = 42;
	h.block_size = SHMRING_BLOCK_SIZE;
	h.desc_offset = SHMRING_DESC_OFFSET;
	h.desc_slot_size = SHMRING_DESC_SLOT_SIZE;
	h.desc_slots = SHMRING_DESC_SLOTS;
	h.reader_lines_offset = SHMRING_READER_LINES_OFFSET;
	h.state = SHMRING_STATE_OPEN;
	h.desc_id = 1;
	h.producer_pid = 1;
	put(FP_HDR, &h, FP_HDR_LEN);
	struct shmring_desc d = {0};
	d.id = 1;
	d.caps_len = (uint32_t)strlen(caps);
	memcpy(d.caps, caps, d.caps_len);
	put(FP_DESC1, &d, 128);
	put(FP_DESC1 + 128, d.caps, FP_DESC_LEN - 128);
	uint32_t none[64];
	memset(none, 0xff, sizeof none);
	put(FP_BLOCK + 384, none, 256);
}

static void frame(uint32_t slot, uint64_t seq, uint64_t size, uint16_t type, uint32_t desc)
{
	struct shmring_slot s = {seq, size, seq * 1000, SHMRING_NO_TIME, 33, 7, desc, type, 0, 0};
	put(FP_SLOTS + slot * SHMRING_SLOT_HEADER_SIZE, &s, sizeof s);
	for (uint64_t i = 0; i < size && FP_PAYLOAD + slot * 4096 + i < sizeof in; i++)
		in[FP_PAYLOAD + slot * 4096 + i] = (uint8_t)(seq + i);
}

static void queue(uint64_t head, const uint32_t *slots, unsigned n)
{
	uint64_t tail = head + n;
	put(FP_BLOCK + 0, &head, 8);
	put(FP_BLOCK + 64, &tail, 8);
	for (unsigned i = 0; i < n; i++)
		put(FP_BLOCK + 128 + 4 * ((head + i) % 2), &slots[i], 4);
}

static void save(const char *dir, const char *name, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(in, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	size_t all = sizeof in;
	uint32_t q01[2] = {0, 1}, q23[2] = {2, 3};

	base("application/x-test");
	frame(0, 0, 100, SHMRING_SLOT_FRAME, 1);
	queue(0, q01, 1);
	save(dir, "one-frame", all);

	frame(1, 1, 0, SHMRING_SLOT_EOS, 0);
	queue(0, q01, 2);
	save(dir, "frame-eos", all);

	in[FP_CTL] |= FP_CTL_DEAD;
	save(dir, "frame-eos-dead", all);

	base("application/x-test");
	frame(2, 5, 4096, SHMRING_SLOT_FRAME, 1);
	frame(3, 6, 10, SHMRING_SLOT_FRAME, 1);
	queue(7, q23, 2);
	in[FP_CTL] |= FP_CTL_LATEST | FP_CTL_HOLD;
	save(dir, "two-frames-latest-hold", all);

	base("video/x-raw, format=(string)I420, width=(int)16, height=(int)16");
	struct shmring_desc d = {0};
	memcpy(&d, in + FP_DESC1, 128);
	memcpy(d.format, "I420", 5);
	d.width = d.height = 16;
	d.n_planes = 3;
	d.frame_size = 384;
	d.plane_offset[1] = 256;
	d.plane_offset[2] = 320;
	d.plane_stride[0] = 16;
	d.plane_stride[1] = d.plane_stride[2] = 8;
	put(FP_DESC1, &d, 128);
	frame(0, 0, 384, SHMRING_SLOT_FRAME, 1);
	queue(0, q01, 1);
	save(dir, "i420", all);

	base("application/x-test");
	uint32_t st = SHMRING_STATE_CLOSED, eos = 1;
	put(FP_HDR + 132, &st, 4);
	put(FP_HDR + 164, &eos, 4);
	in[FP_CTL] |= FP_CTL_DEAD | FP_CTL_LIVE;
	save(dir, "closed-empty", FP_PAYLOAD);
	return 0;
}
