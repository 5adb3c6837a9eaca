/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* victim_reader: the C library's reader as the victim of a forged producer.
 *
 * victim_reader NAME [TRUST_UID]: attach (5 s, or HOSTILE_ATTACH_MS, to find the producer), read
 * frames (5 s each) until the end of stream or an error.  Prints "frame
 * SIZE" per frame, then "eos" (exit 0) or "error ERRNO: MESSAGE" (exit 1). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <shmring/shmring.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct shmring_consumer_options o = {0};
	if (argc > 2) {
		o.trust = SHMRING_TRUST_UID;
		o.producer_uid = (uint32_t)strtoul(argv[2], NULL, 10);
	}
	const char *ms = getenv("HOSTILE_ATTACH_MS");
	shmring_consumer *c;
	int rc = shmring_consumer_attach(argv[1], &o, (ms ? atoll(ms) : 5000) * 1000000ll, &c);
	if (rc < 0) {
		printf("error %s: %s\n", strerrorname_np(-rc) ? strerrorname_np(-rc) : "?", shmring_last_error());
		return 1;
	}
	for (;;) {
		struct shmring_frame f;
		rc = shmring_consumer_next(c, &f, 5000000000ll, 0);
		if (rc == 1) {
			printf("frame %llu\n", (unsigned long long)f.size);
			shmring_consumer_release(c, &f);
			continue;
		}
		if (rc == 0) {
			printf("eos\n");
			shmring_consumer_close(c);
			return 0;
		}
		printf("error %s: %s\n", strerrorname_np(-rc) ? strerrorname_np(-rc) : "?", shmring_last_error());
		shmring_consumer_close(c);
		return 1;
	}
}
