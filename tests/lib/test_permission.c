/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_permission: a reader denied access is told the file's owner, group and mode, and how the producer shares a channel. */
#include "common.h"

#include <grp.h>

#define NOBODY 65534

/* Global, so the forked reader's copy stays reachable (no leak reported
 * when it exits). */
static shmring_producer *p;

int main(void)
{
	const char *name = t_channel("perm");
	pid_t pid;
	char owner[64], group[32];

	if (geteuid() != 0) {
		fprintf(stderr, "needs root to run a reader as another user\n");
		return T_SKIP;
	}
	/* Owner-only (the default mode 0600), owned by root. */
	p = t_producer(name, 1u << 16, SHMRING_POLICY_LOSSLESS);
	snprintf(owner, sizeof owner, "uid %u gid %u with mode 0600", (unsigned)geteuid(), (unsigned)getegid());
	snprintf(group, sizeof group, "group %u", (unsigned)getegid());
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		shmring_consumer *c = NULL;
		struct shmring_stats st;
		CHECK_EQ(setgroups(0, NULL), 0);
		CHECK_EQ(setgid(NOBODY), 0);
		CHECK_EQ(setuid(NOBODY), 0);
		CHECK_ERR(shmring_consumer_attach(name, 0, &c), -EACCES);
		CHECK(c == NULL);
		CHECK_MSG(name);
		CHECK_MSG(owner);
		CHECK_MSG("permissions=0660");
		CHECK_MSG(group);
		CHECK_MSG("uid 65534");
		CHECK_ERR(shmring_inspect(name, &st, NULL), -EACCES);
		CHECK_MSG(owner);
		CHECK_MSG("permissions=0660");
		_exit(0);
	}
	int status = t_wait(pid);
	shmring_producer_close(p);
	CHECK_EQ(status, 0);
	CHECK_NO_LEFTOVER(name);
	return 0;
}
