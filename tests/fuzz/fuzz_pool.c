/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_pool: libFuzzer harness; a reader attaches to a hand-made producer whose WELCOME, pool and reader block are arbitrary bytes. */
#include "fuzz_input.h"
#include "internal.h" /* _shmring_address, _shmring_send: this producer is built by hand */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char name[64];
static int listen_fd = -1;

struct serve {
	const uint8_t *welcome; /* 40 bytes */
	int fds[2];
	int hangup;
	int done[2]; /* the reader is done: the producer hangs up */
};

/* The producer: every connection until the reader is done gets the same
 * WELCOME with the two memfds (a reader that retries connects again). */
static void *serve(void *arg)
{
	struct serve *s = arg;
	int open_fds[8], n = 0;
	for (;;) {
		struct pollfd pf[2] = {{s->done[0], POLLIN, 0}, {listen_fd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			abort();
		if (pf[0].revents)
			break;
		if (!pf[1].revents)
			continue;
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct shmring_msg_hello h; /* read it: closing over unread data resets the peer */
		if (recv(c, &h, sizeof(h), 0) == (ssize_t)sizeof(h))
			(void)_shmring_send(c, s->welcome, sizeof(struct shmring_msg_welcome), s->fds, 2);
		if (s->hangup || n == 8)
			close(c);
		else
			open_fds[n++] = c;
	}
	while (n)
		close(open_fds[--n]);
	return NULL;
}

static int memfd_of(const char *what, uint64_t size)
{
	int fd = memfd_create(what, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		abort();
	return fd;
}

/* Lay the chunks of the input over the pool (target 0) and block (1). */
static void apply_chunks(const uint8_t *data, size_t size, uint8_t *pool, uint64_t pool_size,
			 uint8_t *block)
{
	for (size_t i = FUZZ_CHUNKS; i + FUZZ_CHUNK_HEADER <= size;) {
		uint32_t off;
		uint16_t len;
		memcpy(&off, data + i + 1, 4);
		memcpy(&len, data + i + 5, 2);
		uint8_t *to = data[i] & 1 ? block : pool;
		uint64_t cap = data[i] & 1 ? SHMRING_BLOCK_SIZE : pool_size;
		i += FUZZ_CHUNK_HEADER;
		if (len > size - i)
			len = (uint16_t)(size - i);
		uint64_t at = off % cap;
		uint64_t n = len < cap - at ? len : cap - at;
		memcpy(to + at, data + i, n);
		i += len;
	}
}

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t welcome[sizeof(struct shmring_msg_welcome)] = {0};
	uint8_t ctl = size ? data[FUZZ_CTL] : 0;
	uint64_t pool_size = 0;

	if (!name[0]) {
		snprintf(name, sizeof name, "fuzz-%ld", (long)getpid());
		struct sockaddr_un a;
		int alen = _shmring_address(name, &a);
		listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, (socklen_t)alen) != 0 ||
		    listen(listen_fd, 4) != 0)
			abort();
	}
	if (size > FUZZ_WELCOME)
		memcpy(welcome, data + FUZZ_WELCOME,
		       size - FUZZ_WELCOME < sizeof(welcome) ? size - FUZZ_WELCOME : sizeof(welcome));
	if (size >= FUZZ_POOL_SIZE + 8)
		memcpy(&pool_size, data + FUZZ_POOL_SIZE, 8);
	if (pool_size >= 4096 && pool_size <= FUZZ_MAX_POOL)
		pool_size = (pool_size + 4095) & ~4095ull;
	else
		pool_size = FUZZ_DEFAULT_POOL;

	int pool = memfd_of("fuzz-pool", pool_size), block = memfd_of("fuzz-block", SHMRING_BLOCK_SIZE);
	uint8_t *pm = mmap(NULL, pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, pool, 0);
	uint8_t *bm = mmap(NULL, SHMRING_BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, block, 0);
	if (pm == MAP_FAILED || bm == MAP_FAILED)
		abort();
	apply_chunks(data, size, pm, pool_size, bm);
	if (!(ctl & FUZZ_CTL_UNSEALED) &&
	    (fcntl(pool, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0 ||
	     fcntl(block, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0))
		abort();

	struct serve s = {welcome, {pool, block}, !!(ctl & FUZZ_CTL_HANGUP), {-1, -1}};
	pthread_t t;
	if (pipe(s.done) != 0 || pthread_create(&t, NULL, serve, &s) != 0)
		abort();

	shmring_consumer *c = NULL;
	struct shmring_consumer_options o = {.mode = ctl & FUZZ_CTL_LIVE ? SHMRING_MODE_LIVE : SHMRING_MODE_CHANNEL};
	int r = shmring_consumer_attach(name, &o, 200000000ll, &c), frames = 0;
	if (r == 0) {
		struct shmring_frame held[SHMRING_HOLDS_MAX], f;
		unsigned nheld = 0;
		struct shmring_desc d;
		struct shmring_stats st;
		(void)shmring_consumer_current_desc(c, &d);
		(void)shmring_consumer_stats(c, &st);
		for (int i = 0; i < 64; i++) {
			r = shmring_consumer_next(c, &f, 0, ctl & FUZZ_CTL_LATEST ? SHMRING_NEXT_LATEST : 0);
			if (r == -ENOBUFS && nheld) {
				while (nheld)
					if (shmring_consumer_release(c, &held[--nheld]) < 0)
						abort();
				continue;
			}
			if (r != 1)
				break;
			/* Every payload byte and the description must be readable. */
			uint8_t x = 0;
			for (uint64_t k = 0; k < f.size; k++)
				x ^= ((const uint8_t *)f.data)[k];
			x ^= (uint8_t)strlen(f.desc->caps) ^ (uint8_t)strlen(f.desc->format);
			sink = x;
			frames++;
			if (ctl & FUZZ_CTL_HOLD && nheld < SHMRING_HOLDS_MAX)
				held[nheld++] = f;
			else if (shmring_consumer_release(c, &f) < 0)
				abort();
		}
		while (nheld)
			if (shmring_consumer_release(c, &held[--nheld]) < 0)
				abort();
		shmring_consumer_close(c);
	} else if (c) {
		abort();
	}
	if (getenv("SHMRING_FUZZ_VERBOSE")) /* what an input reached: replay shows it */
		fprintf(stderr, "%d frame(s), then %d: %s\n", frames, r, r < 0 ? shmring_last_error() : "");
	if (write(s.done[1], "d", 1) != 1)
		abort();
	pthread_join(t, NULL);
	close(s.done[0]);
	close(s.done[1]);
	munmap(pm, pool_size);
	munmap(bm, SHMRING_BLOCK_SIZE);
	close(pool);
	close(block);
	return 0;
}
