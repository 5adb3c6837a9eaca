/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cross_reader.c: C consumer for cross-language tests: checks N pattern frames, their description, then EOS. */
#include <stdio.h>
#include <string.h>

#include <shmring/shmring.h>

#include "cross_common.h"

/* usage: cross_reader NAME FRAMES FORMAT WIDTH HEIGHT STRIDE SIZE
 * Exit 0 when FRAMES frames numbered 0.. with intact patterns, the given
 * description and pts = seq * 1000 arrived, followed by end of stream. */
int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: %s NAME FRAMES FORMAT WIDTH HEIGHT STRIDE SIZE\n", argv[0]);
		return 2;
	}
	const char *name = argv[1];
	uint64_t frames = cross_arg_u64(argv[2], "frame count");
	const char *format = argv[3];
	uint64_t width = cross_arg_u64(argv[4], "width"), height = cross_arg_u64(argv[5], "height");
	uint64_t stride = cross_arg_u64(argv[6], "stride"), size = cross_arg_u64(argv[7], "size");

	shmring_consumer *c = NULL;
	int r = shmring_consumer_attach(name, 10ll * 1000000000, &c);
	if (r < 0) {
		fprintf(stderr, "attach: %s\n", shmring_last_error());
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	for (uint64_t seq = 0;; seq++) {
		struct shmring_frame f;
		r = shmring_consumer_next(c, &f, 10ll * 1000000000, 0);
		if (r == 0) {
			if (seq != frames) {
				fprintf(stderr, "end of stream after %llu frames, expected %llu\n",
					(unsigned long long)seq, (unsigned long long)frames);
				return 1;
			}
			break;
		}
		if (r < 0) {
			fprintf(stderr, "next: %s (%s)\n", shmring_strerror(r), shmring_last_error());
			return 1;
		}
		const struct shmring_desc *d = f.desc;
		if (f.seq != seq || f.size != size || f.meta.pts != seq * 1000 || strcmp(d->format, format) != 0 ||
		    d->width != width || d->height != height || (d->n_planes && d->plane_stride[0] != stride)) {
			fprintf(stderr,
				"frame %llu: seq %llu size %llu pts %llu format '%s' %ux%u stride %u; expected "
				"size %llu format '%s' %llux%llu stride %llu\n",
				(unsigned long long)seq, (unsigned long long)f.seq, (unsigned long long)f.size,
				(unsigned long long)f.meta.pts, d->format, d->width, d->height, d->plane_stride[0],
				(unsigned long long)size, format, (unsigned long long)width,
				(unsigned long long)height, (unsigned long long)stride);
			return 1;
		}
		size_t bad = cross_pattern_check(f.data, f.size, f.seq);
		if (bad) {
			fprintf(stderr, "frame %llu: pattern wrong at byte %zu\n", (unsigned long long)seq, bad - 1);
			return 1;
		}
		shmring_consumer_release(c, &f);
	}
	shmring_consumer_close(c);
	printf("ok %llu\n", (unsigned long long)frames);
	return 0;
}
