/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_create: the segment's name, mode, size, up-front allocation, header, and unlink at close. */
#include "common.h"

#include <sys/mman.h>

static void check_segment(const char *name, uint64_t ring_size, mode_t mode, uint32_t policy)
{
	char path[512];
	struct stat st;
	int fd;
	const struct shmring_header *h;

	t_path(path, sizeof path, name);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, mode);
	CHECK_EQ(st.st_size, SHMRING_RING_OFFSET + ring_size);
	/* Allocated up front: every byte has a page behind it already. */
	CHECK((uint64_t)st.st_blocks * 512 >= SHMRING_RING_OFFSET + ring_size);

	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	h = mmap(NULL, sizeof *h, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(h != MAP_FAILED);
	CHECK_EQ(h->magic, SHMRING_MAGIC);
	CHECK(!memcmp(&h->magic, "SHMRING1", 8));
	CHECK_EQ(h->version, SHMRING_VERSION);
	CHECK_EQ(h->header_size, SHMRING_HEADER_SIZE);
	CHECK_EQ(h->segment_size, (uint64_t)st.st_size);
	CHECK_EQ(h->ring_offset, SHMRING_RING_OFFSET);
	CHECK_EQ(h->ring_size, ring_size);
	CHECK(h->generation != 0);
	CHECK_EQ(h->desc_offset, SHMRING_DESC_OFFSET);
	CHECK_EQ(h->desc_slot_size, SHMRING_DESC_SLOT_SIZE);
	CHECK_EQ(h->desc_slots, SHMRING_DESC_SLOTS);
	CHECK_EQ(h->policy, policy);
	CHECK_EQ(h->state, SHMRING_STATE_OPEN);
	CHECK_EQ(h->producer_pid, getpid());
	CHECK_EQ(h->write_pos, 0);
	CHECK_EQ(h->read_pos, 0);
	CHECK(h->release_pos & SHMRING_RELEASE_NONE);
	CHECK_EQ(h->reserved0, 0);
	CHECK_EQ(h->reserved1, 0);
	for (size_t i = 0; i < sizeof h->reserved; i++)
		CHECK_EQ(h->reserved[i], 0);
	munmap((void *)h, sizeof *h);
	close(fd);
}

int main(void)
{
	const char *a = t_channel("create"), *b = t_channel("create"), *c = t_channel("create");
	struct shmring_producer_options o = {0, 0, SHMRING_POLICY_LOSSLESS, 0};
	shmring_producer *p = NULL, *q = NULL, *r = NULL;
	uint64_t gen_a;
	struct shmring_stats st;

	/* Defaults: 32 MiB ring, owner-only. */
	CHECK_OK(shmring_producer_create(a, NULL, &p));
	check_segment(a, 32ull << 20, 0600, SHMRING_POLICY_LOSSLESS);
	CHECK(shmring_producer_max_frame(p) > 0);
	CHECK(shmring_producer_max_frame(p) <= (32ull << 20) - 64);
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.ring_size, 32ull << 20);
	gen_a = st.generation;

	/* Size rounded up to 4096; mode given; policy recorded. */
	o.ring_size = 10000;
	o.mode = 0640;
	o.policy = SHMRING_POLICY_LIVE;
	CHECK_OK(shmring_producer_create(b, &o, &q));
	check_segment(b, 12288, 0640, SHMRING_POLICY_LIVE);

	/* Bad options are refused with a message. */
	o.mode = 0;
	o.policy = 7;
	CHECK_ERR(shmring_producer_create(c, &o, &r), -EINVAL);
	CHECK_MSG("7");
	CHECK(!t_exists(c));
	o.policy = 0;
	o.ring_size = SHMRING_MAX_RING_SIZE + 4096;
	CHECK_ERR(shmring_producer_create(c, &o, &r), -EINVAL);
	CHECK(!t_exists(c));
	CHECK_ERR(shmring_producer_create(c, NULL, NULL), -EINVAL);
	CHECK(!t_exists(c));

	/* A new producer of the same name gets a new generation. */
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(a);
	CHECK_OK(shmring_producer_create(a, NULL, &p));
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK(st.generation != gen_a);
	shmring_producer_close(p);
	shmring_producer_close(q);
	shmring_producer_close(NULL);
	CHECK_NO_LEFTOVER(a);
	CHECK_NO_LEFTOVER(b);
	CHECK_NO_LEFTOVER(c);
	return 0;
}
