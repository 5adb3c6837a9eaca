/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostile_producer: the C library's producer as the victim of hostile readers.
 *
 * hostile_producer NAME POLICY FPS: create channel NAME (lossless, live or
 * drop-new; 4 readers), print "ready", then write a frame every 1/FPS s
 * until stdin closes; print "frames N" and exit 0.  Any library error
 * is printed and exits 1. */
#include <shmring/shmring.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	struct shmring_producer_options o = {.slot_size = 4096, .max_readers = 4};
	o.policy = !strcmp(argv[2], "live")	  ? SHMRING_POLICY_LIVE
		   : !strcmp(argv[2], "drop-new") ? SHMRING_POLICY_DROP_NEW
						  : SHMRING_POLICY_LOSSLESS;
	int interval_ms = 1000 / atoi(argv[3]);
	shmring_producer *p;
	if (shmring_producer_create(argv[1], &o, &p) < 0) {
		printf("error: %s\n", shmring_last_error());
		return 1;
	}
	struct shmring_stream_info info = {.caps = "application/x-hostile"};
	if (shmring_producer_set_stream(p, &info) < 0) {
		printf("error: %s\n", shmring_last_error());
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	unsigned char frame[1000];
	unsigned long long n = 0;
	for (;;) {
		struct pollfd pf = {0, POLLIN, 0};
		if (poll(&pf, 1, interval_ms) > 0) {
			char buf[64];
			if (read(0, buf, sizeof buf) <= 0)
				break;
		}
		memset(frame, (int)(n & 0xff), sizeof frame);
		int rc = shmring_producer_write(p, frame, sizeof frame, NULL, 200000000ll);
		if (rc < 0 && rc != -ETIMEDOUT) {
			printf("error: %s\n", shmring_last_error());
			return 1;
		}
		n += rc == 0;
	}
	printf("frames %llu\n", n);
	shmring_producer_close(p);
	return 0;
}
