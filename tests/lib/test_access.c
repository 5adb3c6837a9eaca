/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_access.c: a reader of another uid is refused, with the setting that lets it in, unless the producer shares with its uid or gid. */
#include "common.h"

#include <grp.h>

#define NOBODY 65534u
static char chan[3][64]; /* not shared, shared with uid 65534, shared with gid 65534 */
static struct gate up;

static int reader(void *arg)
{
	(void)arg;
	CHECK(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0);
	gate_wait(&up, 10000);
	shmring_consumer *c = NULL;
	CHECK_ERR(shmring_consumer_attach(chan[0], NULL, 10 * SEC, &c), -EACCES);
	CHECK_MSG(chan[0]);
	CHECK_MSG("readers of uid 65534");
	CHECK_MSG("share_uid");
	for (int i = 1; i < 3; i++) {
		CHECK_OK(shmring_consumer_attach(chan[i], NULL, 10 * SEC, &c));
		shmring_consumer_close(c);
	}
	return 0;
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "needs root (to run a reader as uid 65534)\n");
		return T_SKIP;
	}
	const char *what[3] = {"access-none", "access-uid", "access-gid"};
	for (int i = 0; i < 3; i++)
		t_name(chan[i], sizeof(chan[i]), what[i]);
	gate_init(&up);
	pid_t pid = t_spawn(reader, NULL);
	struct shmring_producer_options o[3] = {
		{.slot_size = 4096},
		{.slot_size = 4096, .share = SHMRING_SHARE_UID, .share_uid = NOBODY},
		{.slot_size = 4096, .share = SHMRING_SHARE_GID, .share_gid = NOBODY},
	};
	shmring_producer *p[3];
	for (int i = 0; i < 3; i++)
		CHECK_OK(shmring_producer_create(chan[i], &o[i], &p[i]));
	gate_post(&up, 'g');
	CHECK_EQ(t_reap(pid), 0);
	CHECK_EQ(shmring_producer_readers(p[0]), 0);
	for (int i = 0; i < 3; i++)
		shmring_producer_close(p[i]);
	return 0;
}
