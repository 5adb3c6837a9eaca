/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_attach_retry.c: a producer that hangs up on a reader's HELLO (closing, dying) is waited out: the reader attaches to the next one. */
#include "common.h"
#include "internal.h" /* _shmring_address: the first "producer" is a bare socket */

#include <sys/socket.h>
#include <sys/un.h>

static char chan[64];
static struct gate up;

static int reader(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&up, 'a');
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, 10 * SEC, 0), 0); /* the real producer's EOS */
	shmring_consumer_close(c);
	return 0;
}

int main(void)
{
	t_name(chan, sizeof(chan), "attach-retry");
	gate_init(&up);
	pid_t pid = t_spawn(reader, NULL);
	/* The first producer goes away after it read the HELLO. */
	struct sockaddr_un a;
	int alen = _shmring_address(chan, &a);
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(ls >= 0 && bind(ls, (struct sockaddr *)&a, (socklen_t)alen) == 0 && listen(ls, 4) == 0);
	int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	struct shmring_msg_hello h;
	CHECK(s >= 0 && recv(s, &h, sizeof(h), 0) == (ssize_t)sizeof(h));
	close(s);
	close(ls);
	/* The next one serves it. */
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, NULL, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	CHECK_EQ(gate_wait(&up, 10000), 'a');
	CHECK_EQ(shmring_producer_readers(p), 1);
	CHECK_OK(shmring_producer_eos(p, 5 * SEC));
	CHECK_EQ(t_reap(pid), 0);
	shmring_producer_close(p);
	return 0;
}
