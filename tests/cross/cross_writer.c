/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cross_writer.c: C producer for cross-language tests: N pattern frames (raw BGR or bytes), EOS, close on stdin EOF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmring/shmring.h>

#include "cross_common.h"

/* usage: cross_writer NAME FRAMES WIDTH HEIGHT [keep-newest]
 *   WIDTH > 0: video/x-raw BGR WIDTHxHEIGHT, rows padded to 4 bytes;
 *   WIDTH == 0: application/x-test frames of HEIGHT bytes;
 *   keep-newest: SHMRING_PRODUCER_KEEP_NEWEST (no reader: keep only the newest frame).
 * Prints "ready" after creating the channel, "done" after EOS; closes when stdin reaches EOF. */
int main(int argc, char **argv)
{
	if (argc != 5 && !(argc == 6 && strcmp(argv[5], "keep-newest") == 0)) {
		fprintf(stderr, "usage: %s NAME FRAMES WIDTH HEIGHT [keep-newest]\n", argv[0]);
		return 2;
	}
	const char *name = argv[1];
	uint64_t frames = cross_arg_u64(argv[2], "frame count");
	uint32_t width = (uint32_t)cross_arg_u64(argv[3], "width");
	uint32_t height = (uint32_t)cross_arg_u64(argv[4], "height");

	struct shmring_producer_options opts = {.ring_size = 1 << 20, .mode = 0, .policy = SHMRING_POLICY_LOSSLESS,
						.flags = argc == 6 ? SHMRING_PRODUCER_KEEP_NEWEST : 0};
	shmring_producer *p = NULL;
	int r = shmring_producer_create(name, &opts, &p);
	if (r < 0) {
		fprintf(stderr, "create: %s\n", shmring_last_error());
		return 1;
	}
	struct shmring_stream_info info = {0};
	char caps[256];
	size_t size;
	if (width > 0) {
		uint32_t stride = (width * 3 + 3) & ~3u;
		size = (size_t)stride * height;
		snprintf(caps, sizeof caps,
			 "video/x-raw, format=(string)BGR, width=(int)%u, height=(int)%u, framerate=(fraction)30/1",
			 width, height);
		info.format = "BGR";
		info.width = width;
		info.height = height;
		info.fps_n = 30;
		info.fps_d = 1;
		info.n_planes = 1;
		info.plane_stride[0] = stride;
		info.frame_size = size;
	} else {
		size = height;
		snprintf(caps, sizeof caps, "application/x-test");
	}
	info.caps = caps;
	r = shmring_producer_set_stream(p, &info);
	if (r < 0) {
		fprintf(stderr, "set_stream: %s\n", shmring_last_error());
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	uint8_t *buf = malloc(size ? size : 1);
	for (uint64_t seq = 0; seq < frames; seq++) {
		cross_pattern_fill(buf, size, seq);
		struct shmring_meta meta = SHMRING_META_INIT;
		meta.pts = seq * 1000;
		r = shmring_producer_write(p, buf, size, &meta, 10ll * 1000000000);
		if (r < 0) {
			fprintf(stderr, "write %llu: %s\n", (unsigned long long)seq, shmring_last_error());
			return 1;
		}
	}
	r = shmring_producer_eos(p, 10ll * 1000000000);
	if (r < 0) {
		fprintf(stderr, "eos: %s\n", shmring_last_error());
		return 1;
	}
	printf("done\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	free(buf);
	shmring_producer_close(p);
	return 0;
}
