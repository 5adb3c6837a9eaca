/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stress.h: what the stress driver and its peer processes share: frame counts and sizes, report records, pipe helpers. */
#ifndef SHMRING_TESTS_STRESS_H
#define SHMRING_TESTS_STRESS_H

#include "../lib/common.h"

#include <sched.h>

#define STRESS_SLOT (256u * 1024u)
#define STRESS_CAPS "application/x-stress"

/* How many frames (or round trips) a stress test moves: SHMRING_STRESS_FRAMES
 * from the environment if set (slow machines and emulators scale it down),
 * else 100,000. */
static inline uint64_t stress_frames(void)
{
	const char *s = getenv("SHMRING_STRESS_FRAMES");
	char *end;
	unsigned long long n;

	if (!s || !*s)
		return 100000;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end || n < 1000 || n > 100000000)
		FAIL("SHMRING_STRESS_FRAMES=\"%s\" is not a frame count: set it to a whole number "
		     "from 1000 to 100000000, or unset it for 100000", s);
	return n;
}

/* Size of frame seq: mostly small, every 13th up to 16 KiB, every 97th
 * more than half a slot. */
static inline size_t stress_size(uint64_t seq)
{
	if (seq % 97 == 0)
		return STRESS_SLOT / 2 + 4096 + (size_t)(seq % 4000);
	if (seq % 13 == 0)
		return 1 + (size_t)((seq * 7919) % 16384);
	return 1 + (size_t)((seq * 31) % 300);
}

/* Report records written by the peers to the driver. */
enum { REP_PRODUCER = 'P', REP_CONSUMER = 'C', REP_PROGRESS = 'R', REP_DEAD = 'D' };
struct stress_report {
	uint32_t tag;
	int32_t rc;
	uint64_t a, b, c, d, e, f;
};

/* 0 once n bytes are read; -1 at end of file first. */
static inline int t_read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			FAIL("read: %s", strerror(errno));
		if (r == 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static inline void t_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			FAIL("write: %s", strerror(errno));
		p += r;
		n -= (size_t)r;
	}
}

/* The exit status of child pid: its code, or 128 + the signal. */
static inline int t_wait(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

#endif
