/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* py_bench_producer.c: 1080p BGR producer for the Python benchmark: in-place (reserve/commit) or copying writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shmring/shmring.h>

/* usage: py_bench_producer NAME inplace|copy FRAMES FPS
 * Writes FRAMES frames of 1920x1080 BGR (lossless), each stamped with its
 * sequence number in the first 8 bytes, paced at FPS (0 = as fast as the
 * reader allows), then EOS.  Prints "ready" once the channel exists and
 * starts with the first reader attached. */
int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s NAME inplace|copy FRAMES FPS\n", argv[0]);
		return 2;
	}
	const char *name = argv[1];
	int copy = strcmp(argv[2], "copy") == 0;
	long frames = strtol(argv[3], NULL, 10);
	long fps = strtol(argv[4], NULL, 10);
	const uint32_t w = 1920, h = 1080, stride = 1920 * 3;
	const size_t size = (size_t)stride * h;

	/* One reader; about as many frames in flight as shmsink's area holds
	 * in the benchmark (ten): six queued and six lent (an appsink keeps
	 * four, and one more is being looked at). */
	struct shmring_producer_options opts = {.slot_size = size, .policy = SHMRING_POLICY_LOSSLESS,
						.max_readers = 1, .queue_len = 6, .max_holds = 6};
	shmring_producer *p = NULL;
	if (shmring_producer_create(name, &opts, &p) < 0) {
		fprintf(stderr, "create: %s\n", shmring_last_error());
		return 1;
	}
	struct shmring_stream_info info = {
		.caps = "video/x-raw, format=(string)BGR, width=(int)1920, height=(int)1080, framerate=(fraction)30/1",
		.format = "BGR", .width = w, .height = h, .fps_n = 30, .fps_d = 1, .n_planes = 1,
		.frame_size = size, .plane_stride = {stride},
	};
	if (shmring_producer_set_stream(p, &info) < 0) {
		fprintf(stderr, "set_stream: %s\n", shmring_last_error());
		return 1;
	}
	uint8_t *src = malloc(size);
	memset(src, 0x80, size);
	printf("ready\n");
	fflush(stdout);
	/* A reader gets the frames committed after it attached: start with the first one. */
	if (shmring_producer_wait_reader(p, SHMRING_FOREVER) < 0) {
		fprintf(stderr, "wait for a reader: %s\n", shmring_last_error());
		return 1;
	}
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	const int64_t timeout = 20ll * 1000000000;
	for (long seq = 0; seq < frames; seq++) {
		if (fps > 0) { /* pace the stream like a camera */
			next.tv_nsec += 1000000000 / fps;
			if (next.tv_nsec >= 1000000000) {
				next.tv_nsec -= 1000000000;
				next.tv_sec++;
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
				;
		}
		struct shmring_meta meta = SHMRING_META_INIT;
		meta.pts = (uint64_t)seq * 33333333u;
		int r;
		if (copy) {
			memcpy(src, &seq, sizeof seq);
			r = shmring_producer_write(p, src, size, &meta, timeout);
		} else {
			void *dst;
			uint64_t id;
			r = shmring_producer_reserve(p, size, timeout, &dst, &id);
			if (r == 0) {
				memcpy(dst, &seq, sizeof seq); /* the frame is rendered in place */
				r = shmring_producer_commit(p, id, size, &meta);
			}
		}
		if (r < 0) {
			fprintf(stderr, "frame %ld: %s\n", seq, shmring_last_error());
			return 1;
		}
	}
	if (shmring_producer_eos(p, timeout) < 0)
		fprintf(stderr, "eos: %s\n", shmring_last_error());
	free(src);
	shmring_producer_close(p);
	return 0;
}
