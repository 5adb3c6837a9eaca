/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hostile_producer.c: a producer that speaks the protocol with random bytes: the reader errors (-EBADMSG), never crashes or hangs. */
#include "common.h"
#include "internal.h" /* _shmring_address, _shmring_send: this producer is built by hand */

#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

enum round { GARBAGE_IDENTITY, UNSEALED, GARBAGE_BODY, N_ROUNDS };
static char chan[N_ROUNDS][64];
static struct gate up;
static volatile uint8_t sink;

static int reader(void *arg)
{
	(void)arg;
	shmring_consumer *c = NULL;
	CHECK_ERR(shmring_consumer_attach(chan[GARBAGE_IDENTITY], NULL, 10 * SEC, &c), -EBADMSG);
	CHECK_ERR(shmring_consumer_attach(chan[UNSEALED], NULL, 10 * SEC, &c), -EBADMSG);
	CHECK_MSG("not sealed");
	CHECK_OK(shmring_consumer_attach(chan[GARBAGE_BODY], NULL, 10 * SEC, &c));
	unsigned bad = 0, good = 0;
	for (unsigned i = 0; i < 400 && !bad; i++) {
		struct shmring_frame f;
		uint64_t t0 = t_now();
		int rc = shmring_consumer_next(c, &f, 20000000, 0);
		if (t_now() - t0 > 2ull * SEC)
			FAIL("next() took %.1f s", (double)(t_now() - t0) / 1e9);
		if (rc == 1) {
			CHECK(f.size <= 4096 && f.desc);
			const volatile uint8_t *d = f.data; /* every byte is inside the mapping */
			for (uint64_t k = 0; k < f.size; k += 512)
				sink ^= d[k];
			good++;
			CHECK_OK(shmring_consumer_release(c, &f));
		} else if (rc == -EBADMSG) {
			bad++;
		} else if (rc != 0 && rc != -ETIMEDOUT && rc != -ESHUTDOWN) {
			FAIL("next() returned %d", rc);
		}
	}
	CHECK(bad > 0);
	fprintf(stderr, "reader: %u frames passed the checks, then: %s\n", good, shmring_last_error());
	shmring_consumer_close(c);
	return 0;
}

static int memfd_of(const char *what, size_t size)
{
	int fd = memfd_create(what, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	return fd;
}

/* A valid identity for 1 reader, queue 2, holds 2, 1 reservation. */
static void identity(struct shmring_pool_header *h)
{
	memset(h, 0, sizeof(*h));
	*h = (struct shmring_pool_header){.magic = SHMRING_MAGIC, .version = SHMRING_VERSION,
		.header_size = SHMRING_HEADER_SIZE, .slot_table_offset = SHMRING_SLOT_TABLE_OFFSET,
		.payload_offset = SHMRING_SLOT_TABLE_OFFSET + 4096, .slot_size = 4096,
		.generation = 1, .n_slots = 6, .max_readers = 1, .queue_len = 2, .max_holds = 2,
		.max_reserved = 1, .block_size = SHMRING_BLOCK_SIZE,
		.desc_offset = SHMRING_DESC_OFFSET, .desc_slot_size = SHMRING_DESC_SLOT_SIZE,
		.desc_slots = SHMRING_DESC_SLOTS, .reader_lines_offset = SHMRING_READER_LINES_OFFSET};
	h->pool_size = h->payload_offset + 6 * 4096;
}

static void randomize(uint8_t *p, size_t n, uint64_t *x)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = t_next(x);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* Serve one connection of round r; GARBAGE_BODY scribbles until the
 * reader exits. */
static void serve(enum round r, pid_t reader_pid)
{
	struct sockaddr_un a;
	int alen = _shmring_address(chan[r], &a);
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(ls >= 0 && bind(ls, (struct sockaddr *)&a, (socklen_t)alen) == 0 && listen(ls, 4) == 0);
	int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	struct shmring_msg_hello hello; /* read it: closing over unread data resets the peer */
	CHECK(s >= 0 && recv(s, &hello, sizeof(hello), 0) == (ssize_t)sizeof(hello));
	struct shmring_pool_header id;
	identity(&id);
	uint64_t x = 0x2545F4914F6CDD1Dull + r;
	int pool = memfd_of("pool", id.pool_size), block = memfd_of("block", 4096);
	uint8_t *pm = mmap(NULL, id.pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, pool, 0);
	uint8_t *bm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, block, 0);
	CHECK(pm != MAP_FAILED && bm != MAP_FAILED);
	randomize(pm, id.pool_size, &x);
	if (r == GARBAGE_BODY)
		memset(bm, 0, 4096); /* an empty queue to begin with */
	else
		randomize(bm, 4096, &x);
	if (r != GARBAGE_IDENTITY)
		memcpy(pm, &id, 128);
	if (r != UNSEALED) {
		CHECK(fcntl(pool, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
						    F_SEAL_SEAL) == 0);
		CHECK(fcntl(block, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0);
	}
	struct shmring_msg_welcome w = {SHMRING_MSG_WELCOME, sizeof(w), SHMRING_VERSION, 0,
					 id.pool_size, 1, 2, 0};
	int fds[2] = {pool, block};
	CHECK_OK(_shmring_send(s, &w, sizeof(w), fds, 2));
	if (r == GARBAGE_BODY) {
		struct shmring_block *b = (struct shmring_block *)bm;
		for (int st; waitpid(reader_pid, &st, WNOHANG) == 0;) {
			randomize(pm + 128, 4096, &x); /* producer line, reader lines */
			randomize(pm + SHMRING_SLOT_TABLE_OFFSET, 6 * 64, &x);
			for (uint32_t k = 0; k < 6; k += 1 + (uint32_t)(t_next(&x) % 2)) {
				struct shmring_slot *sl = (struct shmring_slot *)(pm + SHMRING_SLOT_TABLE_OFFSET) + k;
				sl->type = SHMRING_SLOT_FRAME; /* plausible headers, dubious fields */
				sl->reserved = 0;
				sl->flags &= 0xff;
				sl->size %= 5000;
				sl->desc_id %= 3;
				sl->seq = t_now();
			}
			randomize(pm + SHMRING_DESC_OFFSET + (t_next(&x) % 8) * 4096, 4096, &x);
			b->tail = b->head + t_next(&x) % 3;
			b->queue[t_next(&x) % 2] = (uint32_t)(t_next(&x) % 8);
			sched_yield();
			if (waitpid(reader_pid, &st, WNOHANG) == reader_pid) {
				CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
				break;
			}
		}
	}
	munmap(pm, id.pool_size);
	munmap(bm, 4096);
	close(pool);
	close(block);
	close(s);
	close(ls);
}

int main(void)
{
	for (int r = 0; r < N_ROUNDS; r++) {
		char what[32];
		snprintf(what, sizeof(what), "hostile-producer-%d", r);
		t_name(chan[r], sizeof(chan[r]), what);
	}
	gate_init(&up);
	pid_t pid = t_spawn(reader, NULL);
	for (int r = 0; r < N_ROUNDS; r++)
		serve((enum round)r, pid);
	return 0;
}
