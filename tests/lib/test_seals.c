/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_seals.c: a reader can neither write, map writable nor resize the pool, nor resize its own block. */
#include "common.h"

#include <sys/mman.h>

static char chan[64];
static struct gate up, down;

/* The call must fail with errno e. */
#define CHECK_ERRNO(call, e)                                                            \
	do {                                                                            \
		errno = 0;                                                              \
		if ((call) != -1 || errno != (e))                                       \
			FAIL("%s: errno %d (%s), expected %s", #call, errno,            \
			     strerror(errno), #e);                                      \
	} while (0)

static int reader(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	int pool = t_find_fd("memfd:shmring-pool:"), block = t_find_fd("memfd:shmring-reader:");
	CHECK(pool >= 0 && block >= 0);
	off_t size = lseek(pool, 0, SEEK_END);
	CHECK(size > 0);
	CHECK(mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, pool, 0) == MAP_FAILED);
	CHECK_EQ(errno, EPERM);
	CHECK_ERRNO(ftruncate(pool, 0), EPERM);
	CHECK_ERRNO(ftruncate(pool, size * 2), EPERM);
	CHECK_ERRNO(pwrite(pool, "x", 1, 0), EPERM);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pool);
	int again = open(path, O_RDWR);
	if (again >= 0) { /* reopened read-write: writing still fails */
		CHECK_ERRNO(write(again, "x", 1), EPERM);
		close(again);
	}
	void *ro = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, pool, 0);
	CHECK(ro != MAP_FAILED);
	CHECK_ERRNO(mprotect(ro, 4096, PROT_READ | PROT_WRITE), EACCES);
	munmap(ro, (size_t)size);
	CHECK_ERRNO(ftruncate(block, 0), EPERM);
	CHECK_ERRNO(ftruncate(block, 8192), EPERM);
	CHECK_ERRNO(fallocate(block, 0, 0, 8192), EPERM);
	CHECK_ERRNO(fcntl(block, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	gate_post(&up, 'a');
	gate_wait(&down, 10000);
	struct shmring_frame f; /* the channel works as before */
	CHECK_EQ(shmring_consumer_next(c, &f, 10 * SEC, 0), 1);
	CHECK(f.seq == 0 && frame_ok(f.data, f.size, 0));
	CHECK_OK(shmring_consumer_release(c, &f));
	shmring_consumer_close(c);
	return 0;
}

int main(void)
{
	t_name(chan, sizeof(chan), "seals");
	gate_init(&up);
	gate_init(&down);
	pid_t pid = t_spawn(reader, NULL);
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, NULL, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	CHECK_EQ(gate_wait(&up, 10000), 'a');
	uint8_t buf[1000];
	fill_frame(buf, sizeof(buf), 0);
	CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, 10 * SEC));
	gate_post(&down, 'g');
	CHECK_EQ(t_reap(pid), 0);
	shmring_producer_close(p);
	return 0;
}
