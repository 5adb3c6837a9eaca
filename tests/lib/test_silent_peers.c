/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_silent_peers.c: connections that never say HELLO are closed after a second and cannot keep readers out. */
#include "common.h"
#include "internal.h" /* _shmring_address */

#include <sys/socket.h>
#include <sys/un.h>

#define SILENT 20

int main(void)
{
	char chan[64];
	t_name(chan, sizeof(chan), "silent-peers");
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, NULL, &p));
	struct sockaddr_un a;
	int alen = _shmring_address(chan, &a);
	int s[SILENT];
	for (int i = 0; i < SILENT; i++) { /* more than the door keeps waiting */
		s[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		CHECK(s[i] >= 0 && connect(s[i], (struct sockaddr *)&a, (socklen_t)alen) == 0);
	}
	uint64_t t0 = t_now();
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	CHECK(t_now() - t0 < 3ull * SEC);
	for (int i = 0; i < SILENT; i++) { /* each was answered or hung up on */
		struct pollfd pf = {s[i], POLLIN, 0};
		CHECK(poll(&pf, 1, 5000) == 1);
		close(s[i]);
	}
	CHECK_EQ(shmring_producer_readers(p), 1);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
