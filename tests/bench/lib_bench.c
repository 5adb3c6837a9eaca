/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib_bench: cross-process throughput, wake-up latency and idle CPU of libshmring, next to memcpy measured in the same run. */
#include "../lib/common.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define FRAME_1080P (1920u * 1080u * 3u)
#define RING (32u << 20)

enum mode { READ_ONLY, LATENCY, IDLE };

struct result {
	uint64_t frames;
	uint64_t p50, p99; /* latency, ns */
	uint64_t cpu_ns;   /* idle: CPU time used while waiting */
	uint64_t wait_ns;  /* idle: wall time waited */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* The reader process: read until EOS, report through fd. */
static void reader(const char *name, enum mode mode, int ready_fd, int fd)
{
	shmring_consumer *c;
	struct shmring_frame f;
	struct result res = {0};
	size_t cap = 1 << 20;
	uint64_t *lat = mode == LATENCY ? malloc(cap * sizeof *lat) : NULL;
	int r;

	CHECK_OK(shmring_consumer_attach(name, 10 * 1000000000ll, &c));
	t_write_all(ready_fd, "r", 1);
	if (mode == IDLE) {
		uint64_t c0 = cpu_ns(), t0 = t_now();
		r = shmring_consumer_next(c, &f, SHMRING_FOREVER, 0);
		res.cpu_ns = cpu_ns() - c0;
		res.wait_ns = t_now() - t0;
		CHECK_EQ(r, 0);
	} else {
		while ((r = shmring_consumer_next(c, &f, 30 * 1000000000ll, 0)) == 1) {
			if (lat && res.frames < cap)
				lat[res.frames] = shmring_now_ns() - f.commit_ns;
			res.frames++;
			CHECK_OK(shmring_consumer_release(c, &f));
		}
		CHECK_EQ(r, 0);
		if (lat && res.frames) {
			size_t n = res.frames < cap ? res.frames : cap;
			qsort(lat, n, sizeof *lat, cmp_u64);
			res.p50 = lat[n / 2];
			res.p99 = lat[(n * 99) / 100];
		}
	}
	shmring_consumer_close(c);
	t_write_all(fd, &res, sizeof res);
	free(lat);
	_exit(0);
}

struct run {
	shmring_producer *p;
	const char *name;
	pid_t pid;
	int fd;
};

static struct run start(enum mode mode)
{
	struct run run;
	int fds[2], ready[2];
	char b;
	run.name = t_channel("bench");
	run.p = t_producer(run.name, RING, SHMRING_POLICY_LOSSLESS);
	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(pipe(ready), 0);
	run.pid = fork();
	CHECK(run.pid >= 0);
	if (run.pid == 0)
		reader(run.name, mode, ready[1], fds[1]);
	close(fds[1]);
	close(ready[1]);
	CHECK_EQ(t_read_all(ready[0], &b, 1), 0);
	close(ready[0]);
	run.fd = fds[0];
	return run;
}

static struct result finish(struct run *run)
{
	struct result res;
	CHECK_OK(shmring_producer_eos(run->p, 30 * 1000000000ll));
	CHECK_EQ(t_read_all(run->fd, &res, sizeof res), 0);
	CHECK_EQ(t_wait(run->pid), 0);
	close(run->fd);
	shmring_producer_close(run->p);
	CHECK_NO_LEFTOVER(run->name);
	return res;
}

/* ns per frame of count frames of size n through the ring to another
 * process; in place = reserve/commit without writing the payload. */
static double ring_ns(size_t n, uint64_t count, int in_place, const uint8_t *src)
{
	struct run run = start(READ_ONLY);
	uint64_t t0 = t_now(), t;
	struct result res;
	for (uint64_t i = 0; i < count; i++) {
		if (in_place) {
			void *d;
			uint64_t id;
			CHECK_OK(shmring_producer_reserve(run.p, n, 30 * 1000000000ll, &d, &id));
			CHECK_OK(shmring_producer_commit(run.p, id, n, NULL));
		} else {
			CHECK_OK(shmring_producer_write(run.p, src, n, NULL, 30 * 1000000000ll));
		}
	}
	/* The loop alone: EOS, the reader's exit and the unmapping are not
	 * per-frame costs. */
	t = t_now() - t0;
	res = finish(&run);
	CHECK_EQ(res.frames, count);
	return (double)t / (double)count;
}

/* memcpy of n bytes into successive places of a ring-sized buffer, as
 * the ring's copy mode does (same destination footprint, same caches). */
static double memcpy_ns(size_t n, uint64_t count, const uint8_t *src, uint8_t *dst)
{
	uint64_t t0 = t_now(), off = 0;
	size_t step = (n + 64 + 63) & ~(size_t)63;
	for (uint64_t i = 0; i < count; i++) {
		if (off + step > RING)
			off = 0;
		memcpy(dst + off, src, n);
		__asm__ volatile("" : : "r"(dst) : "memory");
		off += step;
	}
	return (double)(t_now() - t0) / (double)count;
}

static struct result latency(size_t n, uint64_t count, uint64_t period_ns, const uint8_t *src)
{
	struct run run = start(LATENCY);
	uint64_t t0 = t_now();
	for (uint64_t i = 0; i < count; i++) {
		if (period_ns) {
			uint64_t due = t0 + i * period_ns;
			struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		CHECK_OK(shmring_producer_write(run.p, src, n, NULL, 30 * 1000000000ll));
	}
	return finish(&run);
}

/* The floor under any futex-based wake-up on this machine: one process
 * stores a timestamp and FUTEX_WAKEs, the other wakes from FUTEX_WAIT and
 * reads the clock.  No shmring code involved. */
static struct result bare_futex(uint64_t count, uint64_t period_ns)
{
	struct shared {
		uint32_t seq;
		uint32_t done;
		uint64_t stamp;
	} *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fds[2];
	struct result res = {0};
	CHECK(sh != MAP_FAILED);
	CHECK_EQ(pipe(fds), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		uint64_t *lat = malloc(count * sizeof *lat);
		uint32_t seen = 0;
		close(fds[0]);
		for (uint64_t i = 0; i < count; i++) {
			while (__atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE) == seen)
				syscall(SYS_futex, &sh->seq, FUTEX_WAIT, seen, NULL, NULL, 0);
			lat[i] = shmring_now_ns() - __atomic_load_n(&sh->stamp, __ATOMIC_RELAXED);
			seen++;
			__atomic_store_n(&sh->done, seen, __ATOMIC_RELEASE);
		}
		qsort(lat, count, sizeof *lat, cmp_u64);
		res.frames = count;
		res.p50 = lat[count / 2];
		res.p99 = lat[(count * 99) / 100];
		t_write_all(fds[1], &res, sizeof res);
		_exit(0);
	}
	close(fds[1]);
	uint64_t t0 = t_now() + period_ns;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t due = t0 + i * period_ns;
		struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		__atomic_store_n(&sh->stamp, shmring_now_ns(), __ATOMIC_RELAXED);
		__atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &sh->seq, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	CHECK_EQ(t_read_all(fds[0], &res, sizeof res), 0);
	CHECK_EQ(t_wait(pid), 0);
	close(fds[0]);
	munmap(sh, 4096);
	return res;
}

int main(void)
{
	static const struct {
		const char *label;
		size_t size;
		uint64_t count;
	} sizes[] = {
		{"64 B", 64, 1000000},
		{"4 KiB", 4096, 300000},
		{"1080p BGR (6,220,800 B)", FRAME_1080P, 600},
	};
	uint8_t *src = malloc(FRAME_1080P), *dst = malloc(RING);
	CHECK(src && dst);
	memset(src, 0x5a, FRAME_1080P);
	memset(dst, 0xa5, RING);

	printf("## libshmring, cross-process (producer and reader in two processes)\n\n");
	printf("memcpy: the same bytes copied into successive places of a 32 MiB buffer (the ring's size)\n\n");
	printf("| frame | mode | frames/s | GB/s | ns/frame | memcpy ns/frame | ring / memcpy |\n");
	printf("|---|---|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i].size;
		double mc = memcpy_ns(n, sizes[i].count, src, dst);
		double cp = ring_ns(n, sizes[i].count, 0, src);
		double ip = ring_ns(n, sizes[i].count, 1, src);
		printf("| %s | copy (write) | %.0f | %.2f | %.0f | %.0f | %.2f |\n", sizes[i].label, 1e9 / cp,
		       (double)n / cp, cp, mc, cp / mc);
		printf("| %s | in place (reserve/commit, payload not written) | %.0f | %.2f | %.0f | %.0f | %.2f |\n",
		       sizes[i].label, 1e9 / ip, (double)n / ip, ip, mc, ip / mc);
		fflush(stdout);
	}

	printf("\n| wake-up latency (commit to reader holding the frame) | frames | p50 us | p99 us |\n");
	printf("|---|---:|---:|---:|\n");
	{
		struct result r = latency(4096, 90, 1000000000ull / 30, src);
		printf("| 4 KiB frames at 30 fps | %llu | %.1f | %.1f |\n", (unsigned long long)r.frames, r.p50 / 1e3,
		       r.p99 / 1e3);
		r = latency(FRAME_1080P, 90, 1000000000ull / 30, src);
		printf("| 1080p BGR frames at 30 fps | %llu | %.1f | %.1f |\n", (unsigned long long)r.frames,
		       r.p50 / 1e3, r.p99 / 1e3);
		r = bare_futex(90, 1000000000ull / 30);
		printf("| floor: bare FUTEX_WAKE to FUTEX_WAIT between two processes at 30 fps, no shmring | %llu | %.1f | %.1f |\n",
		       (unsigned long long)r.frames, r.p50 / 1e3, r.p99 / 1e3);
		r = latency(4096, 100000, 0, src);
		printf("| 4 KiB frames flat out (queueing included) | %llu | %.1f | %.1f |\n",
		       (unsigned long long)r.frames, r.p50 / 1e3, r.p99 / 1e3);
		fflush(stdout);
	}

	{
		struct run run = start(IDLE);
		struct timespec ts = {2, 0};
		struct result r;
		/* The measured idle period itself. */
		nanosleep(&ts, NULL);
		r = finish(&run);
		printf("\n| idle reader (blocked in shmring_consumer_next) | wall s | CPU ms | CPU %% |\n");
		printf("|---|---:|---:|---:|\n");
		printf("| waiting for a frame | %.2f | %.2f | %.3f |\n", r.wait_ns / 1e9, r.cpu_ns / 1e6,
		       100.0 * (double)r.cpu_ns / (double)r.wait_ns);
	}
	free(src);
	free(dst);
	return 0;
}
