/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_segment: libFuzzer harness; attaches to and reads a segment made of arbitrary bytes. */
#include "fuzz_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(int fd, const uint8_t *data, size_t size, size_t from, size_t len, uint64_t to)
{
	if (size <= from)
		return;
	if (len > size - from)
		len = size - from;
	if (pwrite(fd, data + from, len, (off_t)to) != (ssize_t)len)
		abort();
}

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char name[64], path[128];
	uint8_t ctl = size ? data[FUZZ_CTL] : 0;
	uint64_t ring = 4096, rs = 0;
	shmring_consumer *c = NULL;
	struct shmring_frame held[4], f;
	int nheld = 0, fd, r;

	if (!name[0]) {
		snprintf(name, sizeof name, "fuzz-%ld", (long)getpid());
		snprintf(path, sizeof path, "%s%s", SHMRING_PATH_PREFIX, name);
	}
	if (size >= FUZZ_HDR + 40)
		memcpy(&rs, data + FUZZ_HDR + 32, 8);
	if (rs >= 4096 && rs <= FUZZ_MAX_RING)
		ring = (rs + 4095) & ~4095ull;

	/* Allocated, not sparse: readers refuse sparse segments. */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || posix_fallocate(fd, 0, (off_t)(SHMRING_RING_OFFSET + ring)) != 0)
		abort();
	put(fd, data, size, FUZZ_HDR, FUZZ_HDR_LEN, 0);
	put(fd, data, size, FUZZ_SLOT1, FUZZ_SLOT_LEN, SHMRING_DESC_OFFSET + 1 * SHMRING_DESC_SLOT_SIZE);
	put(fd, data, size, FUZZ_SLOT2, FUZZ_SLOT_LEN, SHMRING_DESC_OFFSET + 2 * SHMRING_DESC_SLOT_SIZE);
	put(fd, data, size, FUZZ_RING, ring, SHMRING_RING_OFFSET);
	if (ctl & FUZZ_CTL_LOCK) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = SHMRING_LOCK_PRODUCER, .l_len = 1};
		if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
			abort();
	}

	r = shmring_consumer_attach(name, 0, &c);
	if (r == 0) {
		struct shmring_desc d;
		struct shmring_stats st;
		(void)shmring_consumer_current_desc(c, &d);
		(void)shmring_consumer_stats(c, &st);
		for (int i = 0; i < 1000; i++) {
			r = shmring_consumer_next(c, &f, 0, (ctl & FUZZ_CTL_LATEST) ? SHMRING_NEXT_LATEST : 0);
			if (r != 1)
				break;
			/* Every payload byte and the description must be readable. */
			uint8_t x = 0;
			for (uint64_t k = 0; k < f.size; k++)
				x ^= ((const uint8_t *)f.data)[k];
			x ^= (uint8_t)strlen(f.desc->caps) ^ (uint8_t)strlen(f.desc->format);
			sink = x;
			if (ctl & FUZZ_CTL_HOLD) {
				held[nheld++] = f;
				if (nheld == 4)
					while (nheld)
						if (shmring_consumer_release(c, &held[--nheld]) < 0)
							abort();
			} else if (shmring_consumer_release(c, &f) < 0) {
				abort();
			}
		}
		while (nheld)
			if (shmring_consumer_release(c, &held[--nheld]) < 0)
				abort();
		shmring_consumer_close(c);
	} else if (c) {
		abort();
	}
	/* Refusing the input is fine; gcc does not let a cast discard the result. */
	r = shmring_inspect(name, &(struct shmring_stats){0}, &(struct shmring_desc){0});
	(void)r;
	unlink(path);
	close(fd);
	return 0;
}
