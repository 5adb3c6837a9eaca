/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hostile_producer: a producer that reclaims (live, keep-newest) refuses a corrupt read_pos before reading a byte at it. */
#include "common.h"

#include <sys/mman.h>

#define RING 8192u

/* The shared header of channel name, mapped writable as a hostile reader would. */
static struct shmring_header *map_header(const char *name, int *fd)
{
	char path[512];
	void *m;
	t_path(path, sizeof path, name);
	*fd = open(path, O_RDWR);
	CHECK(*fd >= 0);
	m = mmap(NULL, sizeof(struct shmring_header), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CHECK(m != MAP_FAILED);
	return m;
}

/* After four 3000-byte frames write_pos is at 6144 bytes into its second
 * lap: read_pos 8 bytes before the end of the first lap leaves too little
 * room for the next frame, so the producer must look at read_pos. */
static uint64_t near_end(const struct shmring_header *h)
{
	uint64_t w = __atomic_load_n(&h->write_pos, __ATOMIC_ACQUIRE);
	CHECK_EQ(w, RING + 6144);
	return RING - 8;
}

static void check_refused(shmring_producer *p, uint64_t bad)
{
	char val[48];
	CHECK_ERR(t_write_pattern(p, 3000, 99, 0), -EBADMSG);
	snprintf(val, sizeof val, "read_pos %llu", (unsigned long long)bad);
	CHECK_MSG(val);
	CHECK_MSG("channel '");
}

int main(void)
{
	/* Live policy, ring full, a reader attached that reads nothing: the
	 * next write reclaims from read_pos. */
	{
		const char *name = t_channel("hostile-live");
		shmring_producer *p = t_producer(name, RING, SHMRING_POLICY_LIVE);
		shmring_consumer *c = t_consumer(name);
		int fd;
		struct shmring_header *h = map_header(name, &fd);
		for (uint64_t i = 0; i < 4; i++)
			CHECK_OK(t_write_pattern(p, 3000, i, 0));
		uint64_t bad = near_end(h);
		__atomic_store_n(&h->read_pos, bad, __ATOMIC_RELEASE);
		check_refused(p, bad);
		munmap(h, sizeof *h);
		close(fd);
		shmring_consumer_close(c);
		shmring_producer_close(p);
		CHECK_NO_LEFTOVER(name);
	}
	/* Keep-newest, no reader: every commit reclaims from read_pos. */
	{
		const char *name = t_channel("hostile-keep");
		struct shmring_producer_options o = {RING, 0, SHMRING_POLICY_LOSSLESS, SHMRING_PRODUCER_KEEP_NEWEST};
		struct shmring_stream_info si;
		shmring_producer *p = NULL;
		int fd;
		memset(&si, 0, sizeof si);
		si.caps = T_TEST_CAPS;
		CHECK_OK(shmring_producer_create(name, &o, &p));
		CHECK_OK(shmring_producer_set_stream(p, &si));
		struct shmring_header *h = map_header(name, &fd);
		for (uint64_t i = 0; i < 4; i++)
			CHECK_OK(t_write_pattern(p, 3000, i, 0));
		uint64_t bad = near_end(h);
		__atomic_store_n(&h->read_pos, bad, __ATOMIC_RELEASE);
		check_refused(p, bad);
		munmap(h, sizeof *h);
		close(fd);
		shmring_producer_close(p);
		CHECK_NO_LEFTOVER(name);
	}
	return 0;
}
