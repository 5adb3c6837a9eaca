/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_pool: libFuzzer harness; a fake producer hands a reader a pool and a block made of arbitrary bytes. */
#include "fuzz_pool_input.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in;
static size_t in_size;

/* n bytes of the input from offset from (zero past its end). */
static void take(void *dst, size_t from, size_t n)
{
	memset(dst, 0, n);
	if (in_size > from)
		memcpy(dst, in + from, in_size - from < n ? in_size - from : n);
}

static int sealed_memfd(const char *label, uint64_t size, unsigned seals, void **map)
{
	int fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*map == MAP_FAILED || fcntl(fd, F_ADD_SEALS, seals) < 0)
		abort();
	return fd;
}

struct fake {
	int listen_fd;
	uint64_t pool_size;
	int pool_fd, block_fd;
	struct shmring_pool_header *pool;
};

/* The producer's side of one attach: read HELLO, answer WELCOME with both memfds. */
static void *serve(void *arg)
{
	struct fake *fk = arg;
	int s = accept4(fk->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return NULL;
	char hello[64];
	if (recv(s, hello, sizeof hello, 0) <= 0) {
		close(s);
		return NULL;
	}
	uint8_t w[FP_WELCOME_LEN];
	take(w, FP_WELCOME, sizeof w);
	struct shmring_msg_welcome msg = {SHMRING_MSG_WELCOME, sizeof msg, SHMRING_VERSION, 0, 0, 0, 0, 0};
	memcpy(&msg.index, w, 4);
	memcpy(&msg.holds, w + 4, 4);
	memcpy(&msg.mode, w + 8, 4);
	memcpy(&msg.pool_size, w + 12, 8);
	memcpy(&msg.generation, w + 20, 8);
	if (in_size && (in[FP_CTL] & FP_CTL_MATCH)) {
		msg.pool_size = fk->pool_size;
		msg.generation = fk->pool->generation;
		msg.index %= 32;
		msg.holds = msg.holds % 4 + 1;
		msg.mode &= 1;
	}
	int fds[2] = {fk->pool_fd, fk->block_fd};
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = {&msg, sizeof msg};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0) {
		close(s);
		return NULL;
	}
	return (void *)(intptr_t)(s + 1); /* the connection, kept open unless the producer "died" */
}

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char name[64];
	static struct sockaddr_un addr;
	static socklen_t alen;
	static int listen_fd = -1;
	if (listen_fd < 0) {
		snprintf(name, sizeof name, "fuzz2-%ld", (long)getpid());
		memset(&addr, 0, sizeof addr);
		addr.sun_family = AF_UNIX;
		int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "%s%s", SHMRING_SOCKET_PREFIX, name);
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
		listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, alen) < 0 || listen(listen_fd, 4) < 0)
			abort();
	}
	in = data;
	in_size = size;
	uint8_t ctl = size ? data[FP_CTL] : 0;

	struct fake fk = {listen_fd, FP_DEFAULT_POOL, -1, -1, NULL};
	struct shmring_pool_header hdr;
	take(&hdr, FP_HDR, FP_HDR_LEN);
	if (hdr.pool_size >= SHMRING_SLOT_TABLE_OFFSET + FP_SLOTS_LEN && hdr.pool_size <= FP_MAX_POOL)
		fk.pool_size = hdr.pool_size;
	void *pool, *block;
	fk.pool_fd = sealed_memfd("fuzz-pool", fk.pool_size,
				  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL, &pool);
	fk.pool = pool;
	uint8_t *p = pool;
	take(p, FP_HDR, FP_HDR_LEN);
	take(p + SHMRING_DESC_OFFSET + SHMRING_DESC_SLOT_SIZE, FP_DESC1, FP_DESC_LEN);
	take(p + SHMRING_DESC_OFFSET + 2 * SHMRING_DESC_SLOT_SIZE, FP_DESC2, FP_DESC_LEN);
	take(p + SHMRING_SLOT_TABLE_OFFSET, FP_SLOTS, FP_SLOTS_LEN);
	uint64_t pay = hdr.payload_offset;
	if (pay >= SHMRING_SLOT_TABLE_OFFSET && pay < fk.pool_size) {
		size_t room = (size_t)(fk.pool_size - pay);
		take(p + pay, FP_PAYLOAD, room < 65536 ? room : 65536);
	}
	fk.block_fd = sealed_memfd("fuzz-block", SHMRING_BLOCK_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
				   &block);
	take(block, FP_BLOCK, FP_BLOCK_LEN);

	pthread_t t;
	if (pthread_create(&t, NULL, serve, &fk) != 0)
		abort();
	struct shmring_consumer_options o = {0, ctl & FP_CTL_LIVE ? SHMRING_MODE_LIVE : SHMRING_MODE_CHANNEL};
	shmring_consumer *c = NULL;
	int r = shmring_consumer_attach(name, &o, 1000000000ll, &c);
	void *conn = NULL;
	pthread_join(t, &conn);
	int sock = conn ? (int)(intptr_t)conn - 1 : -1;
	if (sock >= 0 && (ctl & FP_CTL_DEAD)) {
		close(sock);
		sock = -1;
	}
	int attach_rc = r, frames = 0;
	const char *why = r < 0 ? shmring_last_error() : "";
	if (r == 0) {
		struct shmring_frame held[4], f;
		int nheld = 0;
		unsigned flags = ctl & FP_CTL_LATEST ? SHMRING_NEXT_LATEST : 0;
		for (int i = 0; i < 64; i++) {
			r = shmring_consumer_next(c, &f, 0, flags);
			if (r != 1)
				break;
			const uint8_t *b = f.data;
			if (f.size)
				sink ^= b[0] ^ b[f.size - 1];
			if (f.desc)
				sink ^= (uint8_t)f.desc->caps[0];
			frames++;
			if ((ctl & FP_CTL_HOLD) && nheld < 4) {
				held[nheld++] = f;
				continue;
			}
			shmring_consumer_release(c, &f);
		}
		while (nheld > 0)
			shmring_consumer_release(c, &held[--nheld]);
		why = r < 0 ? shmring_last_error() : "";
		struct shmring_stats st;
		shmring_consumer_stats(c, &st);
		shmring_consumer_close(c);
	}
	/* FUZZ_POOL_VERBOSE: how far an input got (to check that seeds reach the frame path). */
	if (getenv("FUZZ_POOL_VERBOSE"))
		fprintf(stderr, "attach %d, %d frames, then %d %s\n", attach_rc, frames, r, why);
	if (sock >= 0)
		close(sock);
	munmap(pool, fk.pool_size);
	munmap(block, SHMRING_BLOCK_SIZE);
	close(fk.pool_fd);
	close(fk.block_fd);
	return 0;
}
