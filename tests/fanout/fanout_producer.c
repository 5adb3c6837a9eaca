/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanout_producer.c: publishes numbered pattern frames of varying size on a channel, for the fanout tests.
 *
 * usage: fanout_producer CHANNEL FRAMES POLICY MIN MAX FPS MAX_READERS QUEUE HOLDS
 * Prints "ready" once the channel exists, waits for a line "go N" on stdin
 * and then until N readers are attached (10 s at most), then publishes
 * FRAMES frames (FPS 0: as fast as it can; FRAMES 0: until a line "stop" or
 * the end of stdin) and an end of stream,
 * and prints one line of JSON: frames written, reservations that had to
 * wait (lossless) or failed (the others reserve without waiting), and each
 * reader's drops as the producer counted them. */
#include "fanout_common.h"

#include "shmring2.h"

#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int die(const char *what, int rc)
{
	fprintf(stderr, "fanout_producer: %s: %s (%s)\n", what, shmring_strerror(rc), shmring2_last_error());
	return 1;
}

/* FRAMES 0: 1 once stdin has a line (or ended). */
static int stop_asked(void)
{
	struct pollfd pf = {0, POLLIN, 0};
	return poll(&pf, 1, 0) > 0;
}

static void pace(struct timespec *next, unsigned fps)
{
	if (!fps)
		return;
	next->tv_nsec += 1000000000l / fps;
	if (next->tv_nsec >= 1000000000l) {
		next->tv_nsec -= 1000000000l;
		next->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	if (argc != 10) {
		fprintf(stderr, "usage: %s CHANNEL FRAMES POLICY MIN MAX FPS MAX_READERS QUEUE HOLDS\n", argv[0]);
		return 2;
	}
	uint64_t frames = strtoull(argv[2], NULL, 10);
	int policy = shmring_policy_from_name(argv[3]);
	size_t lo = strtoull(argv[4], NULL, 10), hi = strtoull(argv[5], NULL, 10);
	unsigned fps = (unsigned)atoi(argv[6]);
	if (policy < 0)
		return die(argv[3], policy);
	struct shmring2_producer_options o = {
		.slot_size = hi, .policy = (uint32_t)policy, .max_readers = (uint32_t)atoi(argv[7]),
		.queue_len = (uint32_t)atoi(argv[8]), .max_holds = (uint32_t)atoi(argv[9]),
	};
	shmring2_producer *p;
	int rc = shmring2_producer_create(argv[1], &o, &p);
	if (rc < 0)
		return die("create", rc);
	struct shmring_stream_info si = {.caps = "application/x-shmring-fanout"};
	if ((rc = shmring2_producer_set_stream(p, &si)) < 0)
		return die("set_stream", rc);
	printf("ready\n");
	fflush(stdout);
	char line[64];
	unsigned want = 0;
	if (!fgets(line, sizeof(line), stdin) || sscanf(line, "go %u", &want) != 1)
		return die("expected 'go N' on stdin", -EINVAL);
	for (int ms = 0; shmring2_producer_readers(p) < (int)want; ms++) {
		if (ms == 10000)
			return die("readers did not attach within 10 s", -ETIMEDOUT);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}

	/* Lossless may wait for its lossless readers; the other policies must
	 * never have to: they reserve with a timeout of 0. */
	int64_t timeout = policy == SHMRING_POLICY_LOSSLESS ? 30000000000ll : 0;
	uint64_t failed = 0;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint64_t seq = 0; frames ? seq < frames : !(seq % 64 == 0 && stop_asked()); seq++) {
		size_t n = frame_size(seq, lo, hi);
		void *dst;
		uint64_t id;
		rc = shmring2_producer_reserve(p, n, timeout, &dst, &id);
		if (rc < 0) {
			if (policy == SHMRING_POLICY_LOSSLESS)
				return die("reserve", rc);
			failed++; /* the frame is lost for every reader: the test fails on it */
			continue;
		}
		pattern_fill(dst, n, seq);
		struct shmring_meta m = SHMRING_META_INIT;
		m.pts = seq;
		if ((rc = shmring2_producer_commit(p, id, n, &m)) < 0)
			return die("commit", rc);
		pace(&next, fps);
	}
	struct shmring2_stats st;
	if ((rc = shmring2_producer_stats(p, &st)) < 0)
		return die("stats", rc);
	if ((rc = shmring2_producer_eos(p, timeout)) < 0)
		return die("eos", rc);
	printf("{\"written\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"slots\": %u, \"slot_size\": %" PRIu64
	       ", \"readers\": [",
	       st.frames_written, failed, st.n_slots, st.slot_size);
	const char *sep = "";
	for (unsigned i = 0; i < SHMRING2_MAX_READERS; i++) {
		if (!st.reader[i].pid)
			continue;
		printf("%s{\"pid\": %d, \"dropped\": %" PRIu64 "}", sep, st.reader[i].pid,
		       st.reader[i].frames_dropped);
		sep = ", ";
	}
	printf("]}\n");
	fflush(stdout);
	shmring2_producer_close(p);
	return 0;
}
