/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common.h: assertions, child processes, gates, the frame pattern and leftover checks for the library tests. */
#ifndef SHMRING_TESTS_COMMON_H
#define SHMRING_TESTS_COMMON_H

#include "shmring/shmring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define SEC 1000000000ll
#define T_LAST_ERROR() shmring_last_error()
#include "../check.h"

/* Work sizes shrink under valgrind, which runs every process ~30x slower. */
static inline unsigned t_scale(unsigned n)
{
	return RUNNING_ON_VALGRIND ? n / 10 : n;
}

/* A private channel name per test and process. */
static inline void t_name(char *buf, size_t n, const char *test)
{
	snprintf(buf, n, "t2-%s-%d", test, (int)getpid());
}

/* Run fn(arg) in a child that dies with its parent; returns its pid. */
static inline pid_t t_spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t ppid = getpid();
	pid_t pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(1);
		_exit(fn(arg));
	}
	return pid;
}

/* The child's exit code; a signal fails the test. */
static inline int t_reap(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(st))
		FAIL("child %d killed by signal %d", (int)pid, WTERMSIG(st));
	return WEXITSTATUS(st);
}

/* A gate: one side posts bytes, the other waits for them (with a timeout). */
struct gate {
	int fd[2];
};

static inline void gate_init(struct gate *g)
{
	if (pipe(g->fd) < 0)
		FAIL("pipe: %s", strerror(errno));
}

static inline void gate_post(struct gate *g, char v)
{
	if (write(g->fd[1], &v, 1) != 1)
		FAIL("gate write: %s", strerror(errno));
}

/* Wait for one byte, at most timeout_ms; returns it. */
static inline char gate_wait(struct gate *g, int timeout_ms)
{
	struct pollfd pf = {g->fd[0], POLLIN, 0};
	char v;
	if (poll(&pf, 1, timeout_ms) != 1 || read(g->fd[0], &v, 1) != 1)
		FAIL("gate: nothing within %d ms", timeout_ms);
	return v;
}

/* The frame pattern: seq (8 bytes), then bytes from a generator seeded by
 * seq; check_frame verifies every byte. */
static inline uint64_t t_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static inline void fill_frame(uint8_t *p, size_t n, uint64_t seq)
{
	uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
	memcpy(p, &seq, n < 8 ? n : 8);
	for (size_t i = 8; i < n; i += 8) {
		uint64_t v = t_next(&x);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* 1 if p holds frame seq of n bytes. */
static inline int frame_ok(const uint8_t *p, size_t n, uint64_t seq)
{
	uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1, s = 0;
	memcpy(&s, p, n < 8 ? n : 8);
	if (n >= 8 && s != seq)
		return 0;
	for (size_t i = 8; i < n; i += 8) {
		uint64_t v = t_next(&x);
		if (memcmp(p + i, &v, n - i < 8 ? n - i : 8) != 0)
			return 0;
	}
	return 1;
}

/* Wait until the thread whose id *tid holds (0 until it stores it) sleeps
 * (state S in /proc), at most 5 s. */
static inline void t_wait_asleep(const pid_t *tid_word)
{
	pid_t tid;
	uint64_t t0 = t_now();
	while ((tid = __atomic_load_n(tid_word, __ATOMIC_ACQUIRE)) == 0 && t_now() - t0 < 5ull * SEC)
		sched_yield();
	for (;;) {
		char path[64], buf[256];
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
		FILE *f = fopen(path, "r");
		CHECK(f && fgets(buf, sizeof(buf), f));
		fclose(f);
		const char *st = strrchr(buf, ')');
		if (st && st[2] == 'S')
			return;
		if (t_now() - t0 > 5ull * SEC)
			FAIL("the waiting thread never slept");
		sched_yield();
	}
}

/* Read c to its end of stream: every frame in order from seq 0 and intact
 * (the frame pattern); returns how many. */
static inline uint64_t t_read_in_order(shmring_consumer *c, int64_t timeout_ns)
{
	struct shmring_frame f;
	uint64_t want = 0;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, timeout_ns, 0)) == 1) {
		CHECK_EQ(f.seq, want);
		CHECK(frame_ok(f.data, f.size, f.seq));
		CHECK_OK(shmring_consumer_release(c, &f));
		want++;
	}
	CHECK_EQ(rc, 0);
	return want;
}

/* A size between lo and hi that depends on seq. */
static inline size_t t_size(uint64_t seq, size_t lo, size_t hi)
{
	uint64_t x = seq * 2654435761u + 7;
	return lo + (size_t)(t_next(&x) % (hi - lo + 1));
}

/* An opaque stream description (no planes): frames of any size. */
static inline void t_opaque(struct shmring_stream_info *si, const char *caps)
{
	memset(si, 0, sizeof(*si));
	si->caps = caps;
}

/* 1 if anything of channel name is in /dev/shm or bound in /proc/net/unix. */
/* A producer of chan with options o and an opaque stream description
 * ("application/x-test"): ready for frames. */
static inline shmring_producer *t_producer(const char *chan, const struct shmring_producer_options *o)
{
	shmring_producer *p;
	struct shmring_stream_info si;
	CHECK_OK(shmring_producer_create(chan, o, &p));
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	return p;
}

static inline int t_leftover(const char *name)
{
	DIR *d = opendir("/dev/shm");
	int found = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		if (strstr(e->d_name, name))
			found = 1;
	if (d)
		closedir(d);
	char want[300], line[512];
	snprintf(want, sizeof(want), "@shmring/%s\n", name);
	FILE *f = fopen("/proc/net/unix", "r");
	while (f && fgets(line, sizeof(line), f)) {
		size_t l = strlen(line), w = strlen(want);
		if (l >= w && strcmp(line + l - w, want) == 0)
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

/* The fd of this process whose /proc/self/fd link contains what, or -1. */
static inline int t_find_fd(const char *what)
{
	DIR *d = opendir("/proc/self/fd");
	int fd = -1;
	for (struct dirent *e; d && (e = readdir(d));) {
		char link[256];
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (strstr(link, what) && atoi(e->d_name) != dirfd(d))
				fd = atoi(e->d_name);
		}
	}
	if (d)
		closedir(d);
	return fd;
}

#endif /* SHMRING_TESTS_COMMON_H */
