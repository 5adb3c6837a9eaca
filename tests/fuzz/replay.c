/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* replay: feeds each file named on the command line to the fuzz harness once, without libFuzzer (any compiler, any architecture). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read all of path into a new buffer; 0, or -errno. */
static int slurp(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *more;
	size_t len = 0, cap = 0, n;

	if (!f)
		return -errno;
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			more = realloc(buf, cap);
			if (!more) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = more;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*data = buf;
	*size = len;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: replay FILE...: runs the fuzz harness once on each file\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		uint8_t *data = NULL;
		size_t size = 0;
		int r = slurp(argv[i], &data, &size);

		if (r < 0) {
			fprintf(stderr, "replay: cannot read %s: %s\n", argv[i], strerror(-r));
			return 1;
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		printf("ok %d %s (%zu bytes)\n", i, argv[i], size);
	}
	return 0;
}
