/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanout_observe.c: prints a channel's readers as its producer sees them, as an observer (no reader slot).
 *
 * usage: fanout_observe CHANNEL
 * One line of JSON: {"readers": N, "pids": [...]}; exit 1 if there is no such channel. */
#include "shmring2.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CHANNEL\n", argv[0]);
		return 2;
	}
	struct shmring2_stats st;
	if (shmring2_inspect(argv[1], &st, NULL) < 0) {
		fprintf(stderr, "fanout_observe: %s\n", shmring2_last_error());
		return 1;
	}
	printf("{\"readers\": %u, \"pids\": [", st.readers);
	const char *sep = "";
	for (unsigned i = 0; i < SHMRING2_MAX_READERS; i++)
		if (st.reader[i].pid) {
			printf("%s%d", sep, st.reader[i].pid);
			sep = ", ";
		}
	printf("]}\n");
	return 0;
}
