/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib_bench: hand-off cost per frame with one and four readers in other processes, wake-up latency,
 * idle CPU and the memory a channel takes, next to memcpy and a bare futex measured in the same run. */
#include "../lib/common.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define FRAME_1080P (1920u * 1080u * 3u)
#define MAX_READERS 4
#define COPY_AREA (32u << 20)

enum mode { READ_ONLY, LATENCY, IDLE };

struct result {
	uint64_t frames;
	uint64_t p50, p99; /* latency, ns */
	uint64_t cpu_ns;   /* idle: CPU time used while waiting; bare_futex: the waker's FUTEX_WAKE, mean */
	uint64_t wait_ns;  /* idle: wall time waited */
};

/* Hand-off: runs per row and reader count, the median reported. */
#define HANDOFF_RUNS 5
/* Latency rows: frames at 30 fps (10 s). */
#define LAT_FRAMES 300

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return v[n / 2];
}

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

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			FAIL("write: %s", strerror(errno));
		c += w;
		n -= (size_t)w;
	}
}

static void read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			FAIL("read: %s", r ? strerror(errno) : "the reader process ended early");
		c += r;
		n -= (size_t)r;
	}
}

struct reader_arg {
	const char *name;
	enum mode mode;
	struct gate *ready;
	int fd;
};

/* A reader process: attach, say so, read until EOS, report through fd. */
static int reader(void *arg)
{
	struct reader_arg *a = arg;
	shmring_consumer *c;
	struct shmring_frame f;
	struct result res = {0};
	size_t cap = 1 << 20;
	uint64_t *lat = a->mode == LATENCY ? malloc(cap * sizeof *lat) : NULL;
	int r;

	CHECK_OK(shmring_consumer_attach(a->name, NULL, 10 * SEC, &c));
	gate_post(a->ready, 'r');
	if (a->mode == IDLE) {
		uint64_t c0 = cpu_ns(), t0 = shmring_now_ns();
		r = shmring_consumer_next(c, &f, SHMRING_FOREVER, 0);
		res.cpu_ns = cpu_ns() - c0;
		res.wait_ns = shmring_now_ns() - t0;
		CHECK_EQ(r, 0);
	} else {
		while ((r = shmring_consumer_next(c, &f, 30 * SEC, 0)) == 1) {
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
	write_all(a->fd, &res, sizeof res);
	free(lat);
	return 0;
}

struct run {
	shmring_producer *p;
	char name[64];
	unsigned n;
	pid_t pid[MAX_READERS];
	int fd[MAX_READERS];
};

/* A channel with slots of size bytes and n readers attached, each in its own process. */
static void start(struct run *run, size_t size, unsigned n, enum mode mode, uint32_t policy)
{
	static unsigned count;
	struct shmring_producer_options o = {.slot_size = size, .policy = policy};
	struct shmring_stream_info si = {0};
	struct gate ready;
	snprintf(run->name, sizeof run->name, "bench-%d-%u", (int)getpid(), count++);
	CHECK_OK(shmring_producer_create(run->name, &o, &run->p));
	t_opaque(&si, "application/x-bench");
	CHECK_OK(shmring_producer_set_stream(run->p, &si));
	gate_init(&ready);
	run->n = n;
	for (unsigned i = 0; i < n; i++) {
		int fds[2];
		CHECK_EQ(pipe(fds), 0);
		struct reader_arg a = {run->name, mode, &ready, fds[1]};
		run->pid[i] = t_spawn(reader, &a);
		close(fds[1]);
		run->fd[i] = fds[0];
	}
	/* A reader's attach returns once the producer counts it: frames
	 * committed from here on reach every reader. */
	for (unsigned i = 0; i < n; i++)
		gate_wait(&ready, 20000);
	close(ready.fd[0]);
	close(ready.fd[1]);
}

static struct result finish(struct run *run, struct result *each)
{
	struct result res = {0}, r;
	CHECK_OK(shmring_producer_eos(run->p, 30 * SEC));
	for (unsigned i = 0; i < run->n; i++) {
		read_all(run->fd[i], &r, sizeof r);
		CHECK_EQ(t_reap(run->pid[i]), 0);
		close(run->fd[i]);
		if (each)
			each[i] = r;
		if (i == 0 || r.p50 > res.p50)
			res = r; /* the slowest reader's figures */
	}
	shmring_producer_close(run->p);
	return res;
}

/* Frames of size n handed to `readers` readers.  live: the producer is
 * never held back, *p50 is the median of one reserve + commit (payload not
 * written), what a frame costs the producer.  lossless: flat out, every
 * reader gets every frame; returns ns per frame (in place, or copied in). */
static double ring_ns(size_t n, uint64_t count, unsigned readers, uint32_t policy, int in_place,
		      const uint8_t *src, struct shmring_stats *st, double *p50)
{
	struct run run;
	uint64_t *each_ns = p50 ? malloc(count * sizeof *each_ns) : NULL;
	CHECK(!p50 || each_ns);
	start(&run, n, readers, READ_ONLY, policy);
	if (st)
		CHECK_OK(shmring_producer_stats(run.p, st));
	uint64_t t0 = shmring_now_ns(), t;
	for (uint64_t i = 0; i < count; i++) {
		if (in_place) {
			void *d;
			uint64_t id;
			uint64_t a = each_ns ? shmring_now_ns() : 0;
			CHECK_OK(shmring_producer_reserve(run.p, n, 30 * SEC, &d, &id));
			CHECK_OK(shmring_producer_commit(run.p, id, n, NULL));
			if (each_ns)
				each_ns[i] = shmring_now_ns() - a;
		} else {
			CHECK_OK(shmring_producer_write(run.p, src, n, NULL, 30 * SEC));
		}
	}
	/* The loop alone: EOS, the readers' exit and the unmapping are not
	 * per-frame costs. */
	t = shmring_now_ns() - t0;
	struct result each[MAX_READERS];
	finish(&run, each);
	for (unsigned i = 0; i < readers; i++) {
		if (policy == SHMRING_POLICY_LOSSLESS)
			CHECK_EQ(each[i].frames, count);
		else
			CHECK(each[i].frames > 0 && each[i].frames <= count);
	}
	if (each_ns) {
		qsort(each_ns, count, sizeof *each_ns, cmp_u64);
		*p50 = (double)each_ns[count / 2];
		free(each_ns);
	}
	return (double)t / (double)count;
}

/* memcpy of n bytes into successive places of a 32 MiB buffer (the
 * destination footprint of a pool of a few large slots). */
static double memcpy_ns(size_t n, uint64_t count, const uint8_t *src, uint8_t *dst)
{
	uint64_t t0 = shmring_now_ns(), off = 0;
	size_t step = (n + 63) & ~(size_t)63;
	for (uint64_t i = 0; i < count; i++) {
		if (off + step > COPY_AREA)
			off = 0;
		memcpy(dst + off, src, n);
		__asm__ volatile("" : : "r"(dst) : "memory");
		off += step;
	}
	return (double)(shmring_now_ns() - t0) / (double)count;
}

static struct result latency(size_t n, unsigned readers, uint64_t count, uint64_t period_ns, const uint8_t *src)
{
	struct run run;
	start(&run, n, readers, LATENCY, SHMRING_POLICY_LOSSLESS);
	uint64_t t0 = shmring_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		if (period_ns) {
			uint64_t due = t0 + i * period_ns;
			struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		CHECK_OK(shmring_producer_write(run.p, src, n, NULL, 30 * SEC));
	}
	return finish(&run, NULL);
}

/* The floor under any futex-based wake-up on this machine: one process
 * stores a timestamp and wakes every waiter on one word with one
 * FUTEX_WAKE, as the producer wakes its readers; each of `waiters`
 * processes wakes from FUTEX_WAIT and reads the clock.  No shmring code
 * involved.  The result is the slowest waiter's (highest p50). */
static struct result bare_futex(unsigned waiters, uint64_t count, uint64_t period_ns)
{
	struct shared {
		uint32_t seq;
		uint32_t pad;
		uint64_t stamp;
	} *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fds[2];
	struct result res = {0};
	CHECK(sh != MAP_FAILED);
	CHECK_EQ(pipe(fds), 0);
	fflush(NULL);
	pid_t pids[8];
	CHECK(waiters >= 1 && waiters <= 8);
	for (unsigned k = 0; k < waiters; k++) {
		pids[k] = fork();
		CHECK(pids[k] >= 0);
		if (pids[k] == 0) {
			uint64_t *lat = malloc(count * sizeof *lat);
			uint32_t seen = 0;
			close(fds[0]);
			for (uint64_t i = 0; i < count; i++) {
				/* Acquire: pairs with the parent's seq_cst add, after its stamp store. */
				while (__atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE) == seen)
					syscall(SYS_futex, &sh->seq, FUTEX_WAIT, seen, NULL, NULL, 0);
				/* Relaxed: ordered by the acquire load of seq above. */
				lat[i] = shmring_now_ns() - __atomic_load_n(&sh->stamp, __ATOMIC_RELAXED);
				seen++;
			}
			qsort(lat, count, sizeof *lat, cmp_u64);
			res.frames = count;
			res.p50 = lat[count / 2];
			res.p99 = lat[(count * 99) / 100];
			write_all(fds[1], &res, sizeof res);
			_exit(0);
		}
	}
	close(fds[1]);
	/* A first period for every waiter to reach its first FUTEX_WAIT. */
	uint64_t t0 = shmring_now_ns() + period_ns, wake_ns = 0;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t due = t0 + i * period_ns;
		struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		/* Relaxed: published by the seq_cst add below (the children's acquire load). */
		__atomic_store_n(&sh->stamp, shmring_now_ns(), __ATOMIC_RELAXED);
		/* Seq_cst: pairs with the children's acquire load of seq. */
		__atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
		uint64_t a = shmring_now_ns();
		syscall(SYS_futex, &sh->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		wake_ns += shmring_now_ns() - a;
	}
	for (unsigned k = 0; k < waiters; k++) {
		struct result one;
		read_all(fds[0], &one, sizeof one);
		if (one.p50 >= res.p50)
			res = one;
	}
	res.cpu_ns = wake_ns / count; /* here: the FUTEX_WAKE call's mean */
	for (unsigned k = 0; k < waiters; k++)
		CHECK_EQ(t_reap(pids[k]), 0);
	close(fds[0]);
	munmap(sh, 4096);
	return res;
}

static double mib(uint64_t n)
{
	return (double)n / (1024.0 * 1024.0);
}

int main(void)
{
	static const struct {
		const char *label;
		size_t size;
		uint64_t count;
	} sizes[] = {
		{"64 B", 64, 50000},
		{"4 KiB", 4096, 50000},
		{"1080p BGR (6,220,800 B)", FRAME_1080P, 1000},
	};
	uint8_t *src = malloc(FRAME_1080P), *dst = malloc(COPY_AREA);
	CHECK(src && dst);
	memset(src, 0x5a, FRAME_1080P);
	memset(dst, 0xa5, COPY_AREA);

	printf("## libshmring, cross-process (producer and readers in separate processes)\n\n");
	printf("hand-off = one reserve + commit of a slot (payload not written) on a live channel, whose producer\n"
	       "is never held back: what a frame costs the producer, the median frame (p50) and the mean of all\n"
	       "frames, each the median of %d runs taken in turns with one and four readers (target: under 1 us\n"
	       "with one\n"
	       "reader, four readers <= 1.3x one). lossless = flat out, every reader gets every frame: ns per\n"
	       "frame, in place or copied in (shmring_producer_write); memcpy: the same bytes into successive\n"
	       "places of a 32 MiB buffer.\n\n",
	       HANDOFF_RUNS);
	printf("| frame | frames | hand-off p50 ns, 1 reader | hand-off p50 ns, 4 readers | 4 / 1 | hand-off mean ns, "
	       "1 reader | hand-off mean ns, 4 readers | 4 / 1 | lossless in place ns, 1 reader | lossless in place "
	       "ns, 4 readers | lossless copy ns, 1 reader | memcpy ns | copy / memcpy |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	struct shmring_stats st1 = {0}, st4 = {0};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i].size;
		uint64_t count = sizes[i].count;
		double mc = memcpy_ns(n, count, src, dst);
		double h1r[HANDOFF_RUNS], h4r[HANDOFF_RUNS], m1r[HANDOFF_RUNS], m4r[HANDOFF_RUNS];
		/* Taken in turns, so that a busy moment of the machine hits both. */
		for (int k = 0; k < HANDOFF_RUNS; k++) {
			m1r[k] = ring_ns(n, count, 1, SHMRING_POLICY_LIVE, 1, src, NULL, &h1r[k]);
			m4r[k] = ring_ns(n, count, 4, SHMRING_POLICY_LIVE, 1, src, NULL, &h4r[k]);
		}
		double h1 = median(h1r, HANDOFF_RUNS), h4 = median(h4r, HANDOFF_RUNS);
		double m1 = median(m1r, HANDOFF_RUNS), m4 = median(m4r, HANDOFF_RUNS);
		double l1 = ring_ns(n, count, 1, SHMRING_POLICY_LOSSLESS, 1, src, &st1, NULL);
		double l4 = ring_ns(n, count, 4, SHMRING_POLICY_LOSSLESS, 1, src, &st4, NULL);
		double cp = ring_ns(n, count, 1, SHMRING_POLICY_LOSSLESS, 0, src, NULL, NULL);
		printf("| %s | %llu | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.0f | %.2f |\n",
		       sizes[i].label, (unsigned long long)count, h1, h4, h4 / h1, m1, m4, m4 / m1, l1, l4, cp, mc,
		       cp / mc);
		fflush(stdout);
	}

	/* The 1080p channel's pool (the last row's), beside shmsink: shmsink
	 * keeps every buffer a client has not yet released in its one
	 * shm-size area, so for the same frames in flight it needs that many
	 * frames, and its shm-size is fixed before the first client attaches
	 * (default 64 MiB). */
	printf("\n| memory of a 1080p BGR channel | slots | slot size | channel memory | shmsink shm-size for the same "
	       "frames in flight |\n");
	printf("|---|---:|---:|---:|---:|\n");
	printf("| 1 reader | %u | %.1f MiB | %.1f MiB (n_slots x slot_size; pool %.1f MiB) | %.1f MiB |\n",
	       st1.n_slots, mib(st1.slot_size), mib((uint64_t)st1.n_slots * st1.slot_size), mib(st1.pool_size),
	       mib((uint64_t)st1.n_slots * FRAME_1080P));
	printf("| 4 readers | %u | %.1f MiB | %.1f MiB (n_slots x slot_size; pool %.1f MiB) | %.1f MiB |\n",
	       st4.n_slots, mib(st4.slot_size), mib((uint64_t)st4.n_slots * st4.slot_size), mib(st4.pool_size),
	       mib((uint64_t)st4.n_slots * FRAME_1080P));

	printf("\n| wake-up latency at 30 fps (commit to reader holding the frame) | frames | p50 us | p99 us "
	       "| p50, 4 / 1 | the waker's FUTEX_WAKE, mean us |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	{
		const uint64_t period = 1000000000ull / 30;
		struct result one = latency(4096, 1, LAT_FRAMES, period, src);
		struct result four = latency(4096, 4, LAT_FRAMES, period, src);
		struct result big = latency(FRAME_1080P, 1, LAT_FRAMES, period, src);
		struct result f1 = bare_futex(1, LAT_FRAMES, period);
		struct result f4 = bare_futex(4, LAT_FRAMES, period);
		printf("| 4 KiB frames, 1 reader | %llu | %.1f | %.1f | | |\n", (unsigned long long)one.frames,
		       one.p50 / 1e3, one.p99 / 1e3);
		printf("| 4 KiB frames, 4 readers (the slowest) | %llu | %.1f | %.1f | %.2fx | |\n",
		       (unsigned long long)four.frames, four.p50 / 1e3, four.p99 / 1e3,
		       (double)four.p50 / (double)one.p50);
		printf("| 1080p BGR frames, 1 reader | %llu | %.1f | %.1f | | |\n", (unsigned long long)big.frames,
		       big.p50 / 1e3, big.p99 / 1e3);
		printf("| floor, no shmring: one FUTEX_WAKE, 1 process in FUTEX_WAIT | %llu | %.1f | %.1f | | %.1f |\n",
		       (unsigned long long)f1.frames, f1.p50 / 1e3, f1.p99 / 1e3, f1.cpu_ns / 1e3);
		printf("| floor, no shmring: one FUTEX_WAKE, 4 processes in FUTEX_WAIT (the slowest) | %llu | %.1f "
		       "| %.1f | %.2fx | %.1f |\n",
		       (unsigned long long)f4.frames, f4.p50 / 1e3, f4.p99 / 1e3, (double)f4.p50 / (double)f1.p50,
		       f4.cpu_ns / 1e3);
		fflush(stdout);
	}

	{
		struct run run;
		start(&run, 4096, 1, IDLE, SHMRING_POLICY_LOSSLESS);
		struct timespec ts = {2, 0};
		/* The measured idle period itself. */
		nanosleep(&ts, NULL);
		struct result r = finish(&run, NULL);
		printf("\n| idle reader (blocked in shmring_consumer_next) | wall s | CPU ms | CPU %% |\n");
		printf("|---|---:|---:|---:|\n");
		printf("| waiting for a frame | %.2f | %.2f | %.3f |\n", r.wait_ns / 1e9, r.cpu_ns / 1e6,
		       100.0 * (double)r.cpu_ns / (double)r.wait_ns);
	}
	free(src);
	free(dst);
	return 0;
}
