/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib2_bench: protocol 2's hand-off (reserve + commit) cost in the producer with one and with four reader processes. */
#include "shmring2.h"
#include <errno.h>

#define T_LAST_ERROR() shmring2_last_error()
#include "../check.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000ll

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A reader process: attach, say so, read (and release) every frame until
 * the end of stream; report how many through fd. */
static void reader(const char *name, int ready_fd, int fd)
{
	shmring2_consumer *c;
	if (shmring2_consumer_attach(name, NULL, 10 * SEC, &c) < 0) {
		fprintf(stderr, "lib2_bench: attach: %s\n", shmring2_last_error());
		_exit(1);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	struct shmring2_frame f;
	uint64_t n = 0;
	while (shmring2_consumer_next(c, &f, 10 * SEC, 0) == 1) {
		shmring2_consumer_release(c, &f);
		n++;
	}
	shmring2_consumer_close(c);
	_exit(write(fd, &n, sizeof n) == sizeof n ? 0 : 1);
}

struct row {
	unsigned readers;
	size_t size;
	int fill;
	uint64_t frames, read_min;
	double cpu_ns, wall_ns;
};

/* fill: also write every byte of each frame, as a producer of real frames does. */
static struct row run(unsigned readers, size_t size, uint64_t frames, int fill)
{
	char name[64];
	snprintf(name, sizeof name, "bench2-%d-%u-%zu", (int)getpid(), readers, size);
	struct shmring2_producer_options o = {.slot_size = size, .policy = SHMRING_POLICY_LIVE};
	shmring2_producer *p;
	CHECK_OK(shmring2_producer_create(name, &o, &p));
	struct shmring_stream_info si = {.caps = "application/x-bench"};
	CHECK_OK(shmring2_producer_set_stream(p, &si));
	int ready[2], res[2];
	CHECK(pipe(ready) == 0 && pipe(res) == 0);
	pid_t pid[8];
	for (unsigned i = 0; i < readers; i++)
		if ((pid[i] = fork()) == 0)
			reader(name, ready[1], res[1]);
	char b;
	for (unsigned i = 0; i < readers; i++)
		CHECK(read(ready[0], &b, 1) == 1);
	while (shmring2_producer_readers(p) < (int)readers)
		usleep(1000); /* the door admits the last reader after its WELCOME is sent */

	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = clock_ns(CLOCK_MONOTONIC);
	for (uint64_t s = 0; s < frames; s++) {
		void *dst;
		uint64_t id;
		CHECK_OK(shmring2_producer_reserve(p, size, 0, &dst, &id));
		if (fill)
			memset(dst, (int)s, size);
		CHECK_OK(shmring2_producer_commit(p, id, size, NULL));
	}
	uint64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t1 = clock_ns(CLOCK_MONOTONIC);
	CHECK_OK(shmring2_producer_eos(p, 10 * SEC));
	struct row r = {readers, size, fill, frames, UINT64_MAX, (double)(c1 - c0) / (double)frames,
			(double)(t1 - t0) / (double)frames};
	for (unsigned i = 0; i < readers; i++) {
		uint64_t n = 0;
		CHECK(read(res[0], &n, sizeof n) == sizeof n);
		r.read_min = n < r.read_min ? n : r.read_min;
		int st;
		waitpid(pid[i], &st, 0);
	}
	shmring2_producer_close(p);
	close(ready[0]);
	close(ready[1]);
	close(res[0]);
	close(res[1]);
	return r;
}

int main(void)
{
	static const size_t sizes[] = {64, 65536, 1920 * 1080 * 3};
	uint64_t frames = getenv("LIB2_BENCH_FRAMES") ? strtoull(getenv("LIB2_BENCH_FRAMES"), NULL, 10) : 100000;
	printf("### Protocol 2: the producer's cost per frame with 1 and 4 reader processes (live policy)\n\n"
	       "hand-off = reserve + commit alone; written = each frame's bytes written too (memset), as a\n"
	       "producer of real frames does.  Up to %" PRIu64 " frames a row (1080p rows: a tenth).\n\n", frames);
	printf("| frame size | producer work | readers | producer CPU ns/frame | wall ns/frame | "
	       "frames the slowest reader got | CPU vs 1 reader |\n|---|---|---|---|---|---|---|\n");
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
		for (int fill = 0; fill <= (sizes[k] > 64); fill++) {
			double one = 0;
			uint64_t n = sizes[k] > 1000000 ? frames / 10 : frames;
			for (unsigned readers = 1; readers <= 4; readers += 3) {
				struct row r = run(readers, sizes[k], n, fill);
				if (readers == 1)
					one = r.cpu_ns;
				printf("| %zu | %s | %u | %.0f | %.0f | %" PRIu64 " of %" PRIu64 " | %.2fx |\n", r.size,
				       fill ? "written" : "hand-off", r.readers, r.cpu_ns, r.wall_ns, r.read_min, n,
				       r.cpu_ns / one);
				fflush(stdout);
			}
		}
	return 0;
}
