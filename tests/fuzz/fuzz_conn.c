/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_conn: libFuzzer harness over the connection: arbitrary HELLOs (with descriptors) to a real producer, arbitrary answers and later messages to a real reader, arbitrary reader blocks to the producer's checks. */
#include "fuzz_conn.h"
#include "internal.h" /* the producer's pool, and _shmring_send for messages made by hand */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC 1000000000ll
#define MAX_HOLDS 2u

/* What is wrong is a finding: abort, so that libFuzzer (and replay) stop on it. */
#define ENSURE(cond)                                                                   \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz_conn: %s:%d: %s\n  last error: %s\n", __FILE__, \
				__LINE__, #cond, shmring_last_error());                      \
			abort();                                                       \
		}                                                                      \
	} while (0)

static char prod_name[64], fake_name[64];
static shmring_producer *prod;
static int fake_listen = -1;

struct input {
	uint8_t target, fdbits;
	const uint8_t *msg[2];
	size_t len[2];
	const uint8_t *chunks;
	size_t chunks_len;
};

static void parse(const uint8_t *data, size_t size, struct input *in)
{
	memset(in, 0, sizeof(*in));
	size_t at = 2;
	in->target = size > 0 ? data[0] % 3 : 0;
	in->fdbits = size > 1 ? data[1] : 0;
	for (int k = 0; k < 2; k++) {
		uint16_t n = 0;
		if (at + 2 <= size)
			memcpy(&n, data + at, 2);
		at = at + 2 <= size ? at + 2 : size;
		if (n > CONN_MSG_MAX)
			n = CONN_MSG_MAX;
		if (n > size - at)
			n = (uint16_t)(size - at);
		in->msg[k] = data + at;
		in->len[k] = n;
		at += n;
	}
	in->chunks = data + at;
	in->chunks_len = size - at;
}

/* Lay the chunks over a block of SHMRING_BLOCK_SIZE bytes. */
static void apply_chunks(const struct input *in, uint8_t *block)
{
	for (size_t i = 0; i + 3 <= in->chunks_len;) {
		uint16_t off;
		memcpy(&off, in->chunks + i, 2);
		size_t n = in->chunks[i + 2];
		i += 3;
		if (n > in->chunks_len - i)
			n = in->chunks_len - i;
		off %= SHMRING_BLOCK_SIZE;
		memcpy(block + off, in->chunks + i, n < SHMRING_BLOCK_SIZE - off ? n : SHMRING_BLOCK_SIZE - off);
		i += n;
	}
}

/* n descriptors of no use to the peer (eventfds); closed by the caller. */
static void junk_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		ENSURE(fds[i] >= 0);
	}
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static int connect_to(const char *name)
{
	struct sockaddr_un a;
	int alen = _shmring_address(name, &a);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ENSURE(s >= 0);
	ENSURE(connect(s, (struct sockaddr *)&a, (socklen_t)alen) == 0);
	return s;
}

/* The next message from the producer: its length (0 for a hang-up) and descriptors. */
static int answer_of(int s, void *buf, size_t cap, int *fds, int *nfds)
{
	struct pollfd pf = {s, POLLIN, 0};
	ENSURE(poll(&pf, 1, 5000) == 1); /* a producer answers at once */
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, cap};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	*nfds = 0;
	if (n < 0)
		return 0; /* reset: a hang-up */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	return (int)n;
}

/* The producer's readers come back to none after a hang-up. */
static void readers_gone(void)
{
	uint32_t changes = 0;
	int n = shmring_producer_readers(prod);
	for (int i = 0; n > 0 && i < 100; i++)
		n = shmring_producer_watch_readers(prod, &changes, SEC / 10, NULL);
	ENSURE(n == 0);
}

static void expect_refused(int s, int err)
{
	struct shmring_msg_refused r;
	int fds[8], nfds;
	int n = answer_of(s, &r, sizeof r, fds, &nfds);
	ENSURE(n == (int)sizeof r && nfds == 0);
	ENSURE(r.type == SHMRING_MSG_REFUSED && r.size == sizeof r && r.error == err);
	ENSURE(memchr(r.message, '\0', sizeof r.message) != NULL);
	n = answer_of(s, &r, sizeof r, fds, &nfds);
	ENSURE(n == 0 && nfds == 0); /* then the hang-up */
}

/* CONN_HELLO: the bytes as HELLO, with descriptors.  A valid HELLO gets
 * WELCOME (the holds capped), anything else REFUSED EPROTO, no memory. */
static void fuzz_hello(const struct input *in)
{
	int s = connect_to(prod_name), fds[3], nfds = in->fdbits & 3;
	junk_fds(fds, nfds);
	struct shmring_msg_hello h;
	memset(&h, 0, sizeof h);
	memcpy(&h, in->msg[0], in->len[0] < sizeof h ? in->len[0] : sizeof h);
	int sent = _shmring_send(s, in->msg[0], in->len[0], fds, nfds);
	close_all(fds, nfds);
	ENSURE(sent == 0);
	int valid = in->len[0] == sizeof h && nfds == 0 && h.type == SHMRING_MSG_HELLO && h.size == sizeof h &&
		    h.version == SHMRING_VERSION && h.mode <= SHMRING_MODE_LIVE &&
		    (h.role == SHMRING_ROLE_READER || h.role == SHMRING_ROLE_OBSERVER);
	if (!valid) {
		expect_refused(s, EPROTO);
	} else {
		struct shmring_msg_welcome w;
		int got[8], ngot;
		int n = answer_of(s, &w, sizeof w, got, &ngot);
		ENSURE(n == (int)sizeof w && w.type == SHMRING_MSG_WELCOME && w.size == sizeof w);
		ENSURE(w.version == SHMRING_VERSION && w.pool_size == prod->m.id.pool_size &&
		       w.generation == prod->m.id.generation);
		if (h.role == SHMRING_ROLE_OBSERVER) {
			ENSURE(ngot == 1 && w.index == UINT32_MAX);
		} else {
			ENSURE(ngot == 2 && w.index < prod->max_readers && w.mode == h.mode);
			ENSURE(w.holds == (h.holds && h.holds < MAX_HOLDS ? h.holds : MAX_HOLDS));
		}
		close_all(got, ngot);
	}
	close(s);
	readers_gone();
}

/* CONN_BLOCK: a reader that writes anything into its block between two
 * frames.  The producer always finds a slot (the pool bound holds whatever
 * the block says), and disconnects the reader, with REFUSED EPROTO, when
 * its head left [last head, tail] or a hold names no slot. */
static void fuzz_block(const struct input *in)
{
	int s = connect_to(prod_name);
	struct shmring_msg_hello h = {SHMRING_MSG_HELLO, sizeof h, SHMRING_VERSION, SHMRING_ROLE_READER, 0,
				       in->fdbits & CONN_LIVE ? SHMRING_MODE_LIVE : SHMRING_MODE_CHANNEL, 0};
	ENSURE(_shmring_send(s, &h, sizeof h, NULL, 0) == 0);
	struct shmring_msg_welcome w;
	int fds[8], nfds;
	ENSURE(answer_of(s, &w, sizeof w, fds, &nfds) == (int)sizeof w && nfds == 2);
	struct shmring_block *b = mmap(NULL, SHMRING_BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	ENSURE(b != MAP_FAILED);
	uint8_t frame[64] = {1};
	ENSURE(shmring_producer_write(prod, frame, sizeof frame, NULL, 0) == 0);
	uint64_t tail = b->tail;
	apply_chunks(in, (uint8_t *)b);
	int broken = b->head > tail; /* the head the producer saw last is 0: nobody moved it */
	for (uint32_t k = 0; k < w.holds; k++)
		broken |= b->holds[k] != SHMRING_SLOT_NONE && b->holds[k] >= prod->n_slots;
	/* The reader's holds and queue pin at most what the bound counts: a slot is always free. */
	ENSURE(shmring_producer_write(prod, frame, sizeof frame, NULL, 0) == 0);
	if (broken)
		expect_refused(s, EPROTO);
	munmap(b, SHMRING_BLOCK_SIZE);
	close_all(fds, nfds);
	close(s);
	readers_gone();
}

/* CONN_ANSWER: a forged producer's messages to the library's reader. */
struct forged {
	const struct input *in;
	int done[2], sent[2];
};

static void *forge_main(void *arg)
{
	struct forged *f = arg;
	const struct input *in = f->in;
	struct shmring_block *b = NULL;
	int bfd = _shmring_block_create(fake_name, &b);
	ENSURE(bfd >= 0);
	apply_chunks(in, (uint8_t *)b);
	uint8_t first[CONN_MSG_MAX];
	memcpy(first, in->msg[0], in->len[0]);
	if (in->fdbits & CONN_PATCH && in->len[0] >= 32) { /* WELCOME's pool_size and generation */
		memcpy(first + 16, &prod->m.id.pool_size, 8);
		memcpy(first + 24, &prod->m.id.generation, 8);
	}
	int open_conns[8], nconn = 0, said = 0;
	for (;;) {
		struct pollfd pf[2] = {{f->done[0], POLLIN, 0}, {fake_listen, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0)
			continue;
		if (pf[0].revents)
			break;
		int c = accept4(fake_listen, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct shmring_msg_hello h; /* read it: closing over unread data resets the peer */
		if (recv(c, &h, sizeof h, 0) < 0) {
			close(c);
			continue;
		}
		int fds[4], n = 0, extra[3];
		int want = in->fdbits & 3;
		if (want >= 1)
			fds[n++] = in->fdbits & CONN_SWAP ? bfd : prod->m.fd;
		if (want >= 2)
			fds[n++] = in->fdbits & CONN_SWAP ? prod->m.fd : bfd;
		if (want >= 3)
			junk_fds(&fds[n++], 1);
		(void)_shmring_send(c, first, in->len[0], fds, n);
		if (want >= 3)
			close(fds[2]);
		int n2 = (in->fdbits >> 2) & 3;
		junk_fds(extra, n2);
		if (in->len[1] || n2)
			(void)_shmring_send(c, in->msg[1], in->len[1], extra, n2);
		close_all(extra, n2);
		if (!said++ && write(f->sent[1], "s", 1) != 1)
			abort();
		if (in->fdbits & CONN_HANGUP || nconn == 8)
			close(c);
		else
			open_conns[nconn++] = c;
	}
	close_all(open_conns, nconn);
	munmap(b, SHMRING_BLOCK_SIZE);
	close(bfd);
	return NULL;
}

static volatile uint8_t sink;

static void fuzz_answer(const struct input *in)
{
	struct forged f = {in, {-1, -1}, {-1, -1}};
	pthread_t t;
	ENSURE(pipe(f.done) == 0 && pipe(f.sent) == 0);
	ENSURE(pthread_create(&t, NULL, forge_main, &f) == 0);
	shmring_consumer *c = NULL;
	int rc = shmring_consumer_attach(fake_name, NULL, SEC / 50, &c);
	if (rc == 0) {
		char x;
		ENSURE(read(f.sent[0], &x, 1) == 1); /* the second message is on its way */
		for (int i = 0; i < 8; i++) {
			struct shmring_frame fr;
			rc = shmring_consumer_next(c, &fr, 0, 0);
			if (rc != 1)
				break;
			uint8_t v = 0;
			for (uint64_t k = 0; k < fr.size; k++)
				v ^= ((const uint8_t *)fr.data)[k];
			sink = v ^ (uint8_t)strlen(fr.desc->caps);
			ENSURE(shmring_consumer_release(c, &fr) == 0);
		}
		shmring_consumer_close(c);
	} else {
		ENSURE(c == NULL && rc < 0);
	}
	if (getenv("SHMRING_FUZZ_VERBOSE"))
		fprintf(stderr, "answer: %d: %s\n", rc, rc < 0 ? shmring_last_error() : "");
	ENSURE(write(f.done[1], "d", 1) == 1);
	pthread_join(t, NULL);
	close_all(f.done, 2);
	close_all(f.sent, 2);
}

static void setup(void)
{
	snprintf(prod_name, sizeof prod_name, "fuzz-conn-%ld", (long)getpid());
	snprintf(fake_name, sizeof fake_name, "fuzz-conn-forged-%ld", (long)getpid());
	/* live: a reader that takes nothing never holds the producer back */
	struct shmring_producer_options o = {.slot_size = 4096, .policy = SHMRING_POLICY_LIVE, .max_readers = 2,
					     .max_holds = MAX_HOLDS, .max_reserved = 1};
	ENSURE(shmring_producer_create(prod_name, &o, &prod) == 0);
	struct shmring_stream_info si = {.caps = "application/x-fuzz"};
	ENSURE(shmring_producer_set_stream(prod, &si) == 0);
	struct sockaddr_un a;
	int alen = _shmring_address(fake_name, &a);
	fake_listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ENSURE(fake_listen >= 0 && bind(fake_listen, (struct sockaddr *)&a, (socklen_t)alen) == 0 &&
	       listen(fake_listen, 8) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!prod)
		setup();
	struct input in;
	parse(data, size, &in);
	if (in.target == CONN_HELLO)
		fuzz_hello(&in);
	else if (in.target == CONN_BLOCK)
		fuzz_block(&in);
	else
		fuzz_answer(&in);
	return 0;
}
