/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_peer_messages.c: what a peer sends is data: a producer's REFUSED errno is never the reader's own
 * EINTR (no hang), an unexpected message after WELCOME is named, not taken for a death, and a message
 * with more descriptors than it may carry is refused whole, by the reader and by the producer; a frame
 * naming description 0 is refused. */
#include "common.h"
#include "internal.h" /* _shmring_address, _shmring_send: this producer is built by hand */

#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

enum act {
	REFUSE_EINTR,        /* REFUSED carrying EINTR instead of WELCOME */
	WELCOME_THREE_FDS,   /* WELCOME with a third descriptor */
	LATER_REFUSE_EINTR,  /* WELCOME, then REFUSED carrying EINTR, then a hang-up */
	LATER_UNSOLICITED,   /* WELCOME, then a HELLO-shaped message, then a hang-up */
	FRAME_DESC_ZERO,     /* WELCOME, a frame queued that names description 0 */
};

struct forged {
	char chan[64];
	enum act act;
	int ls;
};

static int memfd_of(const char *what, size_t size)
{
	int fd = memfd_create(what, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	return fd;
}

/* A valid, empty, open pool for 1 reader, and its sealed block; with
 * desc_zero, slot 0 holds a frame naming description 0, queued. */
static void pool_and_block(int *pool, int *block, uint64_t *pool_size, int desc_zero)
{
	struct shmring_pool_header h;
	memset(&h, 0, sizeof(h));
	h = (struct shmring_pool_header){.magic = SHMRING_MAGIC, .version = SHMRING_VERSION,
		.header_size = SHMRING_HEADER_SIZE, .slot_table_offset = SHMRING_SLOT_TABLE_OFFSET,
		.payload_offset = SHMRING_SLOT_TABLE_OFFSET + 4096, .slot_size = 4096,
		.generation = 1, .n_slots = 6, .max_readers = 1, .queue_len = 2, .max_holds = 2,
		.max_reserved = 1, .block_size = SHMRING_BLOCK_SIZE,
		.desc_offset = SHMRING_DESC_OFFSET, .desc_slot_size = SHMRING_DESC_SLOT_SIZE,
		.desc_slots = SHMRING_DESC_SLOTS, .reader_lines_offset = SHMRING_READER_LINES_OFFSET,
		.policy = SHMRING_POLICY_LIVE, .state = SHMRING_STATE_OPEN};
	h.pool_size = h.payload_offset + 6 * 4096;
	*pool_size = h.pool_size;
	*pool = memfd_of("pool", h.pool_size);
	*block = memfd_of("block", 4096);
	CHECK(pwrite(*pool, &h, sizeof(h), 0) == (ssize_t)sizeof(h));
	struct shmring_block b;
	memset(&b, 0, sizeof(b));
	memset(b.holds, 0xff, sizeof(b.holds));
	if (desc_zero) {
		struct shmring_slot sl = {.seq = 0, .size = 16, .desc_id = 0, .type = SHMRING_SLOT_FRAME};
		CHECK(pwrite(*pool, &sl, sizeof(sl), SHMRING_SLOT_TABLE_OFFSET) == (ssize_t)sizeof(sl));
		b.tail = 1;
		b.queue[0] = 0;
	}
	CHECK(pwrite(*block, &b, sizeof(b), 0) == (ssize_t)sizeof(b));
	CHECK(fcntl(*pool, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == 0);
	CHECK(fcntl(*block, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0);
}

static void *serve(void *arg)
{
	struct forged *f = arg;
	int s = accept4(f->ls, NULL, NULL, SOCK_CLOEXEC);
	struct shmring_msg_hello hello; /* read it: closing over unread data resets the peer */
	CHECK(s >= 0 && recv(s, &hello, sizeof(hello), 0) == (ssize_t)sizeof(hello));
	if (f->act == REFUSE_EINTR) {
		struct shmring_msg_refused r = {SHMRING_MSG_REFUSED, sizeof(r), EINTR, 0, "interrupted!"};
		CHECK_OK(_shmring_send(s, &r, sizeof(r), NULL, 0));
	} else {
		int pool, block;
		uint64_t size;
		pool_and_block(&pool, &block, &size, f->act == FRAME_DESC_ZERO);
		struct shmring_msg_welcome w = {SHMRING_MSG_WELCOME, sizeof(w), SHMRING_VERSION, 0, size, 1, 2, 0};
		int fds[3] = {pool, block, pool};
		CHECK_OK(_shmring_send(s, &w, sizeof(w), fds, f->act == WELCOME_THREE_FDS ? 3 : 2));
		close(pool);
		close(block);
		/* Once attached, the reader polls for a hang-up: what comes
		 * first is the message, then the hang-up. */
		if (f->act == LATER_REFUSE_EINTR) {
			struct shmring_msg_refused r = {SHMRING_MSG_REFUSED, sizeof(r), EINTR, 0, "stop it"};
			CHECK_OK(_shmring_send(s, &r, sizeof(r), NULL, 0));
		} else if (f->act == LATER_UNSOLICITED) {
			CHECK_OK(_shmring_send(s, &hello, sizeof(hello), NULL, 0));
		}
	}
	/* Wait for the reader to hang up before closing ours: the message is read first. */
	char c;
	while (recv(s, &c, 1, 0) > 0)
		;
	close(s);
	return NULL;
}

static void forge(struct forged *f, enum act act, pthread_t *t)
{
	static const char *tags[] = {"peer-refuse", "peer-3fds", "peer-later", "peer-unsolicited",
				     "peer-desc0"};
	t_name(f->chan, sizeof(f->chan), tags[act]);
	f->act = act;
	struct sockaddr_un a;
	int alen = _shmring_address(f->chan, &a);
	f->ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(f->ls >= 0 && bind(f->ls, (struct sockaddr *)&a, (socklen_t)alen) == 0 && listen(f->ls, 4) == 0);
	CHECK_EQ(pthread_create(t, NULL, serve, f), 0);
}

static void unforge(struct forged *f, pthread_t t)
{
	CHECK_EQ(pthread_join(t, NULL), 0);
	close(f->ls);
}

/* After WELCOME, what the producer sends ends the stream with -EPROTO,
 * every time next() is called again: never -EINTR (a caller would take it
 * for its own interrupt and wait for ever), never "died". */
static void later(enum act act, const char *says)
{
	struct forged f;
	pthread_t t;
	forge(&f, act, &t);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(f.chan, NULL, 5 * SEC, &c));
	struct shmring_frame fr;
	int rc;
	uint64_t deadline = t_now() + 10 * SEC;
	while ((rc = shmring_consumer_next(c, &fr, 50000000, 0)) == -ETIMEDOUT)
		CHECK(t_now() < deadline);
	CHECK_ERR(rc, -EPROTO);
	CHECK_MSG(says);
	for (int i = 0; i < 3; i++)
		CHECK_ERR(shmring_consumer_next(c, &fr, 0, 0), -EPROTO);
	shmring_consumer_close(c);
	unforge(&f, t);
}

int main(void)
{
	struct forged f;
	pthread_t t;
	shmring_consumer *c = NULL;

	/* A REFUSED errno the protocol does not define is a protocol error. */
	forge(&f, REFUSE_EINTR, &t);
	CHECK_ERR(shmring_consumer_attach(f.chan, NULL, 5 * SEC, &c), -EPROTO);
	CHECK_MSG("error 4");
	CHECK_MSG("interrupted!");
	unforge(&f, t);

	/* A WELCOME with three descriptors is invalid whole. */
	forge(&f, WELCOME_THREE_FDS, &t);
	CHECK_ERR(shmring_consumer_attach(f.chan, NULL, 5 * SEC, &c), -EBADMSG);
	CHECK_MSG("invalid message");
	unforge(&f, t);

	later(LATER_REFUSE_EINTR, "stop it");
	later(LATER_UNSOLICITED, "unexpected message (32 bytes, type 1)");

	/* A frame naming description 0 (none) is refused, not read with a
	 * zeroed, unchecked description. */
	forge(&f, FRAME_DESC_ZERO, &t);
	CHECK_OK(shmring_consumer_attach(f.chan, NULL, 5 * SEC, &c));
	struct shmring_frame fr;
	CHECK_ERR(shmring_consumer_next(c, &fr, SEC, 0), -EBADMSG);
	CHECK_MSG("description 0");
	shmring_consumer_close(c);
	unforge(&f, t);

	/* The producer refuses a HELLO that carries a descriptor. */
	char chan[64];
	t_name(chan, sizeof(chan), "peer-hello-fd");
	struct shmring_producer_options o = {.slot_size = 4096};
	shmring_producer *p = t_producer(chan, &o);
	struct sockaddr_un a;
	int alen = _shmring_address(chan, &a);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(s >= 0 && connect(s, (struct sockaddr *)&a, (socklen_t)alen) == 0);
	struct shmring_msg_hello h = {SHMRING_MSG_HELLO, sizeof(h), SHMRING_VERSION, SHMRING_ROLE_READER, 0,
				       SHMRING_MODE_CHANNEL, 0};
	int extra = memfd_of("extra", 4096);
	CHECK_OK(_shmring_send(s, &h, sizeof(h), &extra, 1));
	struct shmring_msg_refused r;
	struct pollfd pf = {s, POLLIN, 0};
	CHECK_EQ(poll(&pf, 1, 5000), 1);
	CHECK_EQ(recv(s, &r, sizeof(r), 0), (ssize_t)sizeof(r));
	CHECK_EQ(r.type, SHMRING_MSG_REFUSED);
	CHECK_EQ(r.error, EPROTO);
	close(extra);
	close(s);
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.readers, 0);
	shmring_producer_close(p);
	printf("ok\n");
	return 0;
}
