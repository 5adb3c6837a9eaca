/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.h: the assertions every C test uses; the including header first defines T_LAST_ERROR() as its library's last-error call. */
#ifndef SHMRING_TESTS_CHECK_H
#define SHMRING_TESTS_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T_SKIP 77

static inline void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static inline void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	const char *last = T_LAST_ERROR();
	fprintf(stderr, "[%d] %s:%d: FAIL: ", (int)getpid(), file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  last error: %s\n", last && *last ? last : "(none)");
	exit(1);
}

#define FAIL(...) t_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond))                                                           \
			FAIL("%s", #cond);                                             \
	} while (0)

#define CHECK_EQ(a, b)                                                                 \
	do {                                                                           \
		long long _a = (long long)(a), _b = (long long)(b);                    \
		if (_a != _b)                                                          \
			FAIL("%s == %s: %lld != %lld", #a, #b, _a, _b);                \
	} while (0)

/* The call must succeed (return >= 0). */
#define CHECK_OK(expr)                                                                 \
	do {                                                                           \
		int _r = (expr);                                                       \
		if (_r < 0)                                                            \
			FAIL("%s returned %d (%s)", #expr, _r, strerror(-_r));         \
	} while (0)

/* The call must fail with exactly err (a negative errno). */
#define CHECK_ERR(expr, err)                                                           \
	do {                                                                           \
		int _r = (expr);                                                       \
		if (_r != (err))                                                       \
			FAIL("%s returned %d (%s), expected %d", #expr, _r,            \
			     strerror(_r < 0 ? -_r : _r), (err));                      \
	} while (0)

/* The last error must contain the text s. */
#define CHECK_MSG(s)                                                                   \
	do {                                                                           \
		const char *_m = T_LAST_ERROR();                                       \
		if (!_m || !strstr(_m, (s)))                                           \
			FAIL("last error does not mention \"%s\"", (s));               \
	} while (0)

static inline uint64_t t_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
