/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reader.c: built against an installed libshmring with `pkg-config shmring`; reads a channel to its end. */
#include <shmring/shmring.h>
#include <stdio.h>

#define WAIT_NS 30000000000ll

/* usage: reader CHANNEL: once the stream ends, prints "FRAMES WIDTHxHEIGHT FORMAT". */
int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CHANNEL\n", argv[0]);
		return 2;
	}
	shmring_consumer *c;
	if (shmring_consumer_attach(argv[1], NULL, WAIT_NS, &c) < 0) {
		fprintf(stderr, "attach %s: %s\n", argv[1], shmring_last_error());
		return 1;
	}
	unsigned long frames = 0;
	struct shmring_desc desc = {0};
	struct shmring_frame f;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, WAIT_NS, 0)) == 1) {
		int whole = f.desc && f.size == f.desc->frame_size;
		if (whole)
			desc = *f.desc;
		shmring_consumer_release(c, &f);
		if (!whole) {
			fprintf(stderr, "frame %lu: %llu bytes, not what its description says\n", frames,
				(unsigned long long)f.size);
			shmring_consumer_close(c);
			return 1;
		}
		frames++;
	}
	if (rc < 0)
		fprintf(stderr, "next: %s\n", shmring_last_error());
	shmring_consumer_close(c);
	printf("%lu %ux%u %.16s\n", frames, desc.width, desc.height, desc.format);
	return rc == 0 ? 0 : 1;
}
