/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gst_bench_common.h: the clocks both processes of the GStreamer benchmark read. */
#ifndef GST_BENCH_COMMON_H
#define GST_BENCH_COMMON_H

#include <time.h>
#include <sys/resource.h>

#include <glib.h>

/* CLOCK_MONOTONIC in ns: the one clock both processes stamp and compare. */
static inline guint64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (guint64)ts.tv_sec * 1000000000u + (guint64)ts.tv_nsec;
}

/* User plus system CPU time of this process, all threads, in seconds. */
static inline double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#endif
