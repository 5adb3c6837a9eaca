/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanout_reader.c: reads a fanout channel to its end, checking every frame's size, bytes and order.
 *
 * usage: fanout_reader CHANNEL MIN MAX MODE HOLDS SLEEP_MS
 *   MODE channel (follow the channel's policy) or live; HOLDS frames held
 *   at once (0 = the producer's most); SLEEP_MS > 0: a slow reader that
 *   keeps HOLDS frames held and sleeps that long per frame.
 * Prints "ready PID" once attached, then at the end of stream one line of
 * JSON: frames read, frames missed (gaps in seq), frames wrong.  Exit 0 at
 * end of stream, 3 if the producer refused it (message on stderr), 1 on
 * any other error. */
#include "fanout_common.h"

#include "shmring2.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD SHMRING2_HOLDS_MAX

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s CHANNEL MIN MAX MODE HOLDS SLEEP_MS\n", argv[0]);
		return 2;
	}
	size_t lo = strtoull(argv[2], NULL, 10), hi = strtoull(argv[3], NULL, 10);
	struct shmring2_consumer_options o = {
		.mode = strcmp(argv[4], "live") == 0 ? SHMRING2_MODE_LIVE : SHMRING2_MODE_CHANNEL,
		.holds = (uint32_t)atoi(argv[5]),
	};
	long sleep_ms = atol(argv[6]);
	shmring2_consumer *c;
	int rc = shmring2_consumer_attach(argv[1], &o, 10000000000ll, &c);
	if (rc < 0) {
		fprintf(stderr, "fanout_reader: %s\n", shmring2_last_error());
		return rc == -EBUSY || rc == -EACCES ? 3 : 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);

	static struct shmring2_frame held[MAX_HELD];
	unsigned n_held = 0, keep = sleep_ms > 0 ? (o.holds ? o.holds : 2) : 1;
	uint64_t read = 0, missed = 0, wrong = 0, next_seq = 0;
	struct shmring2_frame f;
	for (;;) {
		if (n_held == keep) { /* give back the oldest: it held its most while asleep */
			shmring2_consumer_release(c, &held[0]);
			memmove(held, held + 1, (n_held - 1) * sizeof(held[0]));
			n_held--;
		}
		if ((rc = shmring2_consumer_next(c, &f, 30000000000ll, 0)) != 1)
			break;
		if (f.seq < next_seq || f.size != frame_size(f.seq, lo, hi) || !pattern_ok(f.data, f.size, f.seq))
			wrong++;
		else
			missed += f.seq - next_seq;
		next_seq = f.seq + 1;
		read++;
		held[n_held++] = f;
		if (sleep_ms > 0) {
			struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000l};
			nanosleep(&ts, NULL);
		}
	}
	for (unsigned i = 0; i < n_held; i++)
		shmring2_consumer_release(c, &held[i]);
	if (rc < 0) {
		fprintf(stderr, "fanout_reader: after %" PRIu64 " frames: %s (%s)\n", read, shmring_strerror(rc),
			shmring2_last_error());
		return 1;
	}
	printf("{\"read\": %" PRIu64 ", \"missed\": %" PRIu64 ", \"wrong\": %" PRIu64 ", \"last\": %" PRId64 "}\n",
	       read, missed, wrong, (int64_t)next_seq - 1);
	shmring2_consumer_close(c);
	return 0;
}
