/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common.h: assertions, private channel names, the frame pattern and /dev/shm checks for the C tests. */
#ifndef SHMRING_TESTS_COMMON_H
#define SHMRING_TESTS_COMMON_H

#include <shmring/shmring.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_LAST_ERROR() shmring_last_error()
#include "../check.h"

/* A channel name private to this process and call: "t-<tag>-<pid>-<n>". */
static inline const char *t_channel(const char *tag)
{
	static char names[8][96];
	static unsigned n;
	char *b = names[n % 8];
	snprintf(b, sizeof names[0], "t-%s-%ld-%u", tag, (long)getpid(), n);
	n++;
	return b;
}

static inline void t_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s%s", SHMRING_PATH_PREFIX, name);
}

static inline int t_exists(const char *name)
{
	char p[512];
	struct stat st;
	t_path(p, sizeof p, name);
	return stat(p, &st) == 0;
}

/* Nothing of channel name is left in /dev/shm: neither the segment nor a
 * temporary file of the producer. */
#define CHECK_NO_LEFTOVER(name)                                                        \
	do {                                                                           \
		char _pre[300];                                                        \
		DIR *_d;                                                               \
		struct dirent *_e;                                                     \
		if (t_exists(name))                                                    \
			FAIL("segment of %s left in /dev/shm", (name));                \
		snprintf(_pre, sizeof _pre, ".shmring.%s.", (name));                   \
		_d = opendir("/dev/shm");                                              \
		CHECK(_d != NULL);                                                     \
		while ((_e = readdir(_d)))                                             \
			if (!strncmp(_e->d_name, _pre, strlen(_pre)))                  \
				FAIL("temporary file %s left in /dev/shm", _e->d_name); \
		closedir(_d);                                                          \
	} while (0)

/*
 * Frame pattern shared with the Python package: the first 8 bytes of frame
 * seq are seq as a little-endian u64; byte i >= 8 is (seq * 131 + i * 7) &
 * 0xff.  Since 7 is odd, (b + 7 i) & 0xff == T[(i + b * 183) & 0xff] with
 * T[k] = 7 k & 0xff (183 = 7^-1 mod 256), so one periodic table serves
 * every frame and a check is a run of memcmp()s.
 */
#define T_PAT_CHUNK 4096u
static inline const uint8_t *t_pattern_table(void)
{
	static uint8_t table[256 + T_PAT_CHUNK];
	static int ready;
	if (!ready) {
		for (unsigned k = 0; k < sizeof table; k++)
			table[k] = (uint8_t)(k * 7u);
		ready = 1;
	}
	return table;
}

static inline void t_pattern_fill(void *buf, size_t n, uint64_t seq)
{
	const uint8_t *t = t_pattern_table();
	uint8_t *p = buf, head[8];
	unsigned base = (unsigned)(seq * 131u) & 0xffu;
	for (int k = 0; k < 8; k++)
		head[k] = (uint8_t)(seq >> (8 * k));
	memcpy(p, head, n < 8 ? n : 8);
	for (size_t i = 8; i < n;) {
		size_t len = n - i < T_PAT_CHUNK ? n - i : T_PAT_CHUNK;
		memcpy(p + i, t + ((i + base * 183u) & 0xffu), len);
		i += len;
	}
}

/* 0 if buf holds frame seq's pattern, else 1 + the first wrong offset. */
static inline size_t t_pattern_check(const void *buf, size_t n, uint64_t seq)
{
	const uint8_t *t = t_pattern_table();
	const uint8_t *p = buf;
	unsigned base = (unsigned)(seq * 131u) & 0xffu;
	for (size_t k = 0; k < 8 && k < n; k++)
		if (p[k] != (uint8_t)(seq >> (8 * k)))
			return k + 1;
	for (size_t i = 8; i < n;) {
		size_t len = n - i < T_PAT_CHUNK ? n - i : T_PAT_CHUNK;
		if (memcmp(p + i, t + ((i + base * 183u) & 0xffu), len)) {
			for (size_t k = 0; k < len; k++)
				if (p[i + k] != t[((i + base * 183u) & 0xffu) + k])
					return i + k + 1;
		}
		i += len;
	}
	return 0;
}

/* A stream description for a w x h BGR frame (rows padded to 4 bytes). */
static inline struct shmring_stream_info t_bgr_info(uint32_t w, uint32_t h, char *caps, size_t caps_len)
{
	struct shmring_stream_info si;
	memset(&si, 0, sizeof si);
	snprintf(caps, caps_len,
		 "video/x-raw, format=(string)BGR, width=(int)%u, height=(int)%u, framerate=(fraction)30/1",
		 w, h);
	si.caps = caps;
	si.format = "BGR";
	si.width = w;
	si.height = h;
	si.fps_n = 30;
	si.fps_d = 1;
	si.n_planes = 1;
	si.plane_stride[0] = (w * 3 + 3) & ~3u;
	si.plane_offset[0] = 0;
	si.frame_size = (uint64_t)si.plane_stride[0] * h;
	return si;
}

/* Create a producer with the given ring size and policy or fail the test;
 * no stream description yet. */
static inline shmring_producer *t_producer_bare(const char *name, uint64_t ring_size, uint32_t policy)
{
	struct shmring_producer_options o = {ring_size, 0, policy, 0};
	shmring_producer *p = NULL;
	int r = shmring_producer_create(name, &o, &p);
	if (r < 0)
		FAIL("create %s: %d (%s)", name, r, shmring_strerror(r));
	CHECK(p != NULL);
	return p;
}

#define T_TEST_CAPS "application/x-shmring-test"

/* The same, with a variable-size stream description published. */
static inline shmring_producer *t_producer(const char *name, uint64_t ring_size, uint32_t policy)
{
	shmring_producer *p = t_producer_bare(name, ring_size, policy);
	struct shmring_stream_info si;
	int r;
	memset(&si, 0, sizeof si);
	si.caps = T_TEST_CAPS;
	r = shmring_producer_set_stream(p, &si);
	if (r < 0)
		FAIL("set_stream %s: %d (%s)", name, r, shmring_strerror(r));
	return p;
}

static inline shmring_consumer *t_consumer(const char *name)
{
	shmring_consumer *c = NULL;
	int r = shmring_consumer_attach(name, 0, &c);
	if (r < 0)
		FAIL("attach %s: %d (%s)", name, r, shmring_strerror(r));
	CHECK(c != NULL);
	return c;
}

/* Write frame seq (pattern, size n) with copy mode. */
static inline int t_write_pattern(shmring_producer *p, size_t n, uint64_t seq, int64_t timeout)
{
	static uint8_t *buf;
	static size_t cap;
	struct shmring_meta m = SHMRING_META_INIT;
	if (n > cap) {
		free(buf);
		buf = malloc(n);
		CHECK(buf != NULL);
		cap = n;
	}
	t_pattern_fill(buf, n, seq);
	m.pts = seq * 1000;
	return shmring_producer_write(p, buf, n, &m, timeout);
}

/* Helpers for fork()ed peers that report through a pipe. */
static inline void t_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		CHECK(k > 0);
		p += k;
		n -= (size_t)k;
	}
}

/* Read exactly n bytes; returns 0, or -1 at end of file. */
static inline int t_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Wait for child pid; returns its exit status, or 128 + signal. */
static inline int t_wait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		CHECK(errno == EINTR);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

#endif /* SHMRING_TESTS_COMMON_H */
