/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_second_producer.c: a second producer of a name is refused with the pid and uid that serve it; after a clean close the name is free at once. */
#include "common.h"

int main(void)
{
	char chan[64], want[160];
	t_name(chan, sizeof(chan), "second-producer");
	shmring_producer *p, *q = NULL;
	CHECK_OK(shmring_producer_create(chan, NULL, &p));
	CHECK_ERR(shmring_producer_create(chan, NULL, &q), -EBUSY);
	CHECK(q == NULL);
	snprintf(want, sizeof(want), "channel '%s' is served by pid %d, uid %u", chan, (int)getpid(),
		 (unsigned)geteuid());
	CHECK_MSG(want);
	CHECK_ERR(shmring_producer_create("bad/name", NULL, &q), -EINVAL);
	CHECK_MSG("character 0x2f");
	shmring_producer_close(p);
	CHECK(!t_leftover(chan));
	CHECK_OK(shmring_producer_create(chan, NULL, &q));
	shmring_producer_close(q);
	return 0;
}
