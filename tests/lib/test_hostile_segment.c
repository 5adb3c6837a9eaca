/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hostile_segment: corrupt header, description and record bytes give errors naming the problem, never a crash or hang. */
#include "common.h"

#include <sys/mman.h>

#define RING 8192u
#define SEG (SHMRING_RING_OFFSET + RING)

static uint8_t snapshot[SEG];
static const char *name;

/* Put bytes in place as the segment of channel name, with the producer
 * lock held by this test so the reader sees a live producer. */
static int install(const uint8_t *bytes, size_t len)
{
	char path[512];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = SHMRING_LOCK_PRODUCER, .l_len = 1};
	int fd;
	t_path(path, sizeof path, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, bytes, len, 0), (ssize_t)len);
	CHECK_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
	return fd;
}

static void uninstall(int fd)
{
	char path[512];
	t_path(path, sizeof path, name);
	CHECK_EQ(unlink(path), 0);
	close(fd);
}

/* Attach and read everything with timeout 0, touching every payload
 * byte; returns the first error (attach or next), or 0 / 1 at EOS or
 * when nothing more is there. */
static volatile uint8_t sink;
static int read_all(int *attach_rc, int *frames)
{
	shmring_consumer *c = NULL;
	struct shmring_frame f;
	int r;
	*frames = 0;
	*attach_rc = shmring_consumer_attach(name, 0, &c);
	if (*attach_rc < 0) {
		CHECK(c == NULL);
		return *attach_rc;
	}
	while ((r = shmring_consumer_next(c, &f, 0, 0)) == 1) {
		const uint8_t *d = f.data;
		uint8_t x = 0;
		for (uint64_t i = 0; i < f.size; i++)
			x ^= d[i];
		sink = x;
		CHECK(f.desc != NULL);
		CHECK(f.desc->caps[SHMRING_CAPS_MAX - 1] == 0 || f.desc->caps_len < SHMRING_CAPS_MAX);
		(*frames)++;
		CHECK_OK(shmring_consumer_release(c, &f));
		CHECK(*frames < 1000);
	}
	shmring_consumer_close(c);
	return r;
}

static void expect_error(size_t off, const void *val, size_t len, int err, const char *word)
{
	static uint8_t seg[SEG];
	int fd, arc, frames, r;
	memcpy(seg, snapshot, SEG);
	memcpy(seg + off, val, len);
	fd = install(seg, SEG);
	r = read_all(&arc, &frames);
	if (r != err)
		FAIL("bytes at offset %zu (value %#llx): attach %d, %d frames, got %d (%s), expected %d (%s)",
		     off, len == 2 ? (unsigned long long)*(const uint16_t *)val
				   : len == 4 ? (unsigned long long)*(const uint32_t *)val
					      : (unsigned long long)*(const uint64_t *)val,
		     arc, frames, r, shmring_strerror(r), err, shmring_strerror(err));
	if (word)
		CHECK_MSG(word);
	uninstall(fd);
}

#define PUT64(off, v, err, word)                                                  \
	do {                                                                      \
		uint64_t _v = (v);                                                \
		expect_error((off), &_v, 8, (err), (word));                       \
	} while (0)
#define PUT32(off, v, err, word)                                                  \
	do {                                                                      \
		uint32_t _v = (v);                                                \
		expect_error((off), &_v, 4, (err), (word));                       \
	} while (0)
#define PUT16(off, v, err, word)                                                  \
	do {                                                                      \
		uint16_t _v = (v);                                                \
		expect_error((off), &_v, 2, (err), (word));                       \
	} while (0)

int main(void)
{
	char caps[2][256];
	shmring_producer *p;
	struct shmring_stream_info a = t_bgr_info(5, 3, caps[0], sizeof caps[0]);
	struct shmring_stream_info b = t_bgr_info(7, 2, caps[1], sizeof caps[1]);
	const size_t H = 0, R0 = SHMRING_RING_OFFSET, D1 = SHMRING_DESC_OFFSET + SHMRING_DESC_SLOT_SIZE;
	int fd, arc, frames, r, tried = 0;
	char path[512];

	/* A real segment: description 1, two frames, description 2, a frame
	 * that wraps (PAD before it), a frame, end of stream. */
	name = t_channel("hostile");
	p = t_producer_bare(name, RING, SHMRING_POLICY_LOSSLESS);
	{
		shmring_consumer *c = t_consumer(name);
		struct shmring_frame f;
		CHECK_OK(shmring_producer_set_stream(p, &a));
		CHECK_OK(t_write_pattern(p, 6000, 0, 0));
		CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
		CHECK_OK(shmring_consumer_release(c, &f));
		shmring_consumer_close(c);
	}
	CHECK_OK(t_write_pattern(p, a.frame_size, 1, 0));
	CHECK_OK(shmring_producer_set_stream(p, &b));
	CHECK_OK(t_write_pattern(p, 3000, 2, 0));
	CHECK_OK(t_write_pattern(p, b.frame_size, 3, 0));
	CHECK_OK(shmring_producer_eos(p, 0));
	t_path(path, sizeof path, name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, snapshot, SEG, 0), (ssize_t)SEG);
	close(fd);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);

	/* Control: the snapshot as it is reads fine to the end. */
	fd = install(snapshot, SEG);
	CHECK_EQ(read_all(&arc, &frames), 0);
	CHECK_EQ(frames, 3);
	uninstall(fd);

	/* Identity line: each wrong field is named. */
	PUT64(H + 0, 0x1234, -EBADMSG, "magic");
	PUT32(H + 8, 2, -EPROTO, "2");
	PUT32(H + 12, 4097, -EBADMSG, "header_size");
	PUT64(H + 16, SEG + 4096, -EBADMSG, "segment_size");
	PUT64(H + 24, R0 + 64, -EBADMSG, "ring_offset");
	PUT64(H + 32, RING * 2, -EBADMSG, "size");
	PUT64(H + 32, RING + 64, -EBADMSG, "size");
	PUT32(H + 48, 8192, -EBADMSG, "desc_offset");
	PUT32(H + 52, 64, -EBADMSG, "desc_slot_size");
	PUT32(H + 56, 1000000, -EBADMSG, "desc_slots");
	PUT32(H + 60, 3, -EBADMSG, "policy");
	PUT32(H + 116, 1, -EBADMSG, "reserved");
	PUT64(H + 184, 1, -EBADMSG, "reserved");
	PUT32(H + 2000, 1, -EBADMSG, "reserved");
	/* Positions that cannot be. */
	PUT64(H + 128, 1ull << 40, -EBADMSG, NULL);   /* read_pos > write_pos */
	PUT64(H + 64, 1ull << 40, -EBADMSG, NULL);    /* write_pos - read_pos > ring */
	PUT64(H + 128, 0, -EBADMSG, NULL);            /* read_pos not at a record */
	/* read_pos unaligned, 8 bytes before the end of the ring: the record
	 * header there would reach past the mapping, so it is never read. */
	{
		const struct shmring_header *h = (const void *)snapshot;
		uint64_t near_end = h->write_pos / RING * RING + RING - 8;
		char val[32];
		if (near_end > h->write_pos)
			near_end -= RING;
		snprintf(val, sizeof val, "read_pos %llu", (unsigned long long)near_end);
		PUT64(H + 128, near_end, -EBADMSG, val);
		PUT64(H + 128, near_end - 112, -EBADMSG, "read_pos"); /* aligned to 8, not 64 */
	}
	/* A state other than OPEN or CLOSED with the producer lock held: a
	 * corrupt segment, refused at attach, never waited on. */
	PUT32(H + 76, 0, -EBADMSG, "state = 0");
	PUT32(H + 76, 7, -EBADMSG, "state = 7");
	/* Records.  The first unread record is at read_pos in the ring. */
	{
		const struct shmring_header *h = (const void *)snapshot;
		size_t rec = R0 + h->read_pos % RING;
		const struct shmring_record *first = (const void *)(snapshot + rec);
		CHECK_EQ(first->type, SHMRING_RECORD_FRAME);
		PUT16(rec + 0, 9, -EBADMSG, "type");
		PUT16(rec + 0, 0, -EBADMSG, "type");
		PUT64(rec + 8, 0, -EBADMSG, "length");
		PUT64(rec + 8, 100, -EBADMSG, "length");
		PUT64(rec + 8, RING + 64, -EBADMSG, "length");
		PUT64(rec + 8, 1ull << 63, -EBADMSG, "length");
		PUT64(rec + 16, first->length, -EBADMSG, "payload");
		PUT64(rec + 16, UINT64_MAX, -EBADMSG, "payload");
		PUT32(rec + 4, 0, -EBADMSG, NULL);     /* no description */
		PUT32(rec + 4, 3, -EBADMSG, NULL);     /* never published */
		PUT32(rec + 4, 9, -EBADMSG, NULL);     /* slot 1 holds id 1 */
		/* The description it names. */
		PUT32(D1 + 4, SHMRING_CAPS_MAX, -EBADMSG, "caps");
		PUT32(D1 + 4, 3, -EBADMSG, "caps"); /* caps[3] is not NUL */
		PUT32(D1 + 32, 5, -EBADMSG, "planes");
		expect_error(D1 + 8, "0123456789abcdef", 16, -EBADMSG, "format");
		PUT32(D1 + 96, 1000, -EBADMSG, NULL);  /* stride beyond the frame */
		PUT64(D1 + 64, 1ull << 62, -EBADMSG, NULL); /* plane offset beyond */
		/* One row fits, the whole plane (3 rows of 17) does not. */
		PUT32(D1 + 96, 17, -EBADMSG, "plane 0");
		/* Shorter rows than 5 BGR pixels. */
		PUT32(D1 + 96, 12, -EBADMSG, "plane 0");
		/* BGR has one plane. */
		PUT32(D1 + 32, 2, -EBADMSG, "planes");
		/* A frame with fewer bytes than the raw frame size. */
		PUT64(rec + 16, a.frame_size - 1, -EBADMSG, "fewer than");
	}

	/* Every byte of the header's live part, of description slot 1 and
	 * of the ring, changed three ways: an error or valid frames, never
	 * a crash or a hang. */
	{
		static uint8_t seg[SEG];
		static const uint8_t how[3] = {0xff, 0x01, 0x80};
		for (size_t off = 0; off < SEG; off++) {
			if (off >= 192 && off < SHMRING_DESC_OFFSET && off % 97)
				continue;
			if (off >= SHMRING_DESC_OFFSET && off < R0 && (off < D1 || off >= D1 + 256))
				continue;
			for (int k = 0; k < 3; k++) {
				memcpy(seg, snapshot, SEG);
				seg[off] ^= how[k];
				fd = install(seg, SEG);
				r = read_all(&arc, &frames);
				if (!(arc == 0 || arc == -EBADMSG || arc == -EPROTO))
					FAIL("byte %zu ^ %#x: attach returned %d (%s)", off, how[k], arc,
					     shmring_strerror(arc));
				if (!(r == 0 || r == -EBADMSG || r == -EPROTO || r == -ETIMEDOUT || r == -ESHUTDOWN))
					FAIL("byte %zu ^ %#x: next returned %d (%s)", off, how[k], r,
					     shmring_strerror(r));
				uninstall(fd);
				tried++;
			}
		}
	}
	/* Files of the wrong size. */
	{
		static const size_t sizes[] = {0, 1, 4095, 4096, R0 - 1, R0, R0 + 4095, SEG - 1};
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			fd = install(snapshot, sizes[i]);
			r = read_all(&arc, &frames);
			if (arc != -EBADMSG)
				FAIL("file of %zu bytes: attach returned %d", sizes[i], arc);
			uninstall(fd);
		}
		/* Larger than the header says. */
		{
			static uint8_t big[SEG + 4096];
			memcpy(big, snapshot, SEG);
			fd = install(big, sizeof big);
			CHECK_ERR(read_all(&arc, &frames), -EBADMSG);
			CHECK_MSG("size");
			uninstall(fd);
		}
	}
	/* A state other than OPEN or CLOSED: inspection says so too. */
	{
		static uint8_t seg[SEG];
		struct shmring_stats st;
		uint32_t bad = 9;
		memcpy(seg, snapshot, SEG);
		memcpy(seg + 76, &bad, 4);
		fd = install(seg, SEG);
		CHECK_ERR(shmring_inspect(name, &st, NULL), -EBADMSG);
		CHECK_MSG("state = 9");
		CHECK_MSG(name);
		uninstall(fd);
	}
	fprintf(stderr, "%d corrupted segments refused or read safely\n", tried);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
