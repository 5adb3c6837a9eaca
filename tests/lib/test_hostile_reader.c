/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hostile_reader.c: a reader that tries to truncate, grow, write and remap everything it holds, then writes random bytes into its block, is disconnected; the producer and four honest readers go on, every frame right. */
#include "common.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define HONEST 4
static char chan[64];
static struct gate up;
static unsigned frames;

static int honest(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&up, 'r');
	struct shmring_frame f;
	uint64_t want = 0;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, 10 * SEC, 0)) == 1) {
		CHECK_EQ(f.seq, want);
		if (f.size != t_size(f.seq, 8, 4096) || !frame_ok(f.data, f.size, f.seq))
			FAIL("frame %" PRIu64 " is wrong", f.seq);
		CHECK_OK(shmring_consumer_release(c, &f));
		want++;
	}
	CHECK_EQ(rc, 0);
	CHECK(want >= frames);
	shmring_consumer_close(c);
	return 0;
}

/* One round of mischief; plausible values first (slot indices in range,
 * heads near the truth), then anything. */
static void scribble(struct shmring_block *b, uint64_t *x, unsigned round, uint32_t n_slots)
{
	uint64_t v = t_next(x);
	if (round < 2000) {
		b->holds[v % SHMRING_HOLDS_MAX] = (uint32_t)(v >> 8) % n_slots;
		uint64_t h = __atomic_load_n(&b->head, __ATOMIC_RELAXED);
		if (h < __atomic_load_n(&b->tail, __ATOMIC_ACQUIRE))
			__atomic_compare_exchange_n(&b->head, &h, h + (v >> 20) % 2, 0,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	} else {
		b->tail = t_next(x);
		uint8_t *bytes = (uint8_t *)b;
		bytes[v % 1024] = (uint8_t)(v >> 32);
		if (round % 64 == 0)
			__atomic_store_n(&b->head, t_next(x), __ATOMIC_RELAXED);
	}
	b->waiting = (uint32_t)v & 1;
	__atomic_add_fetch(&b->taken, 1, __ATOMIC_RELAXED);
}

/* Every descriptor of memory it holds: shrink, grow, write, a writable
 * mapping of the pool, mprotect of its read-only mapping.  The seals refuse
 * each (no peer can be SIGBUSed, no frame changed); counts the refusals. */
static unsigned attack_descriptors(const struct shmring_frame *f)
{
	unsigned refused = 0;
	for (int fd = 0; fd < 1024; fd++) {
		char link[64], path[32];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!strstr(link, "memfd:shmring-"))
			continue;
		struct stat st;
		CHECK(fstat(fd, &st) == 0);
		CHECK(ftruncate(fd, 0) < 0 && errno == EPERM);
		CHECK(ftruncate(fd, st.st_size + 4096) < 0 && errno == EPERM);
		CHECK(fallocate(fd, 0, 0, st.st_size + 4096) < 0);
		if (strstr(link, "shmring-pool:")) {
			char b = 1;
			CHECK(pwrite(fd, &b, 1, 0) < 0 && errno == EPERM);
			CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
			/* Reopened through /proc: the seals are on the file, not the descriptor. */
			int again = open(path, O_RDWR);
			CHECK(again < 0 || (pwrite(again, &b, 1, 0) < 0 && errno == EPERM));
			if (again >= 0)
				close(again);
			refused++;
		}
		CHECK(fstat(fd, &st) == 0);
		refused++;
	}
	/* The pool's read-only mapping cannot be made writable. */
	void *page = (void *)((uintptr_t)f->data & ~(uintptr_t)4095);
	CHECK(mprotect(page, 4096, PROT_READ | PROT_WRITE) < 0 && errno == EACCES);
	return refused;
}

static int hostile(void *arg)
{
	(void)arg;
	struct shmring_consumer_options co = {.mode = SHMRING_MODE_LIVE};
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, &co, 10 * SEC, &c));
	int bfd = t_find_fd("memfd:shmring-reader:"), sock = t_find_fd("socket:");
	CHECK(bfd >= 0 && sock >= 0);
	struct shmring_block *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, bfd, 0);
	CHECK(b != MAP_FAILED);
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	gate_post(&up, 'h');
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, 10 * SEC, 0), 1);
	CHECK_EQ(attack_descriptors(&f), 3); /* pool (counted twice) and block */
	CHECK_OK(shmring_consumer_release(c, &f));
	uint64_t x = 88172645463325252ull, t0 = t_now();
	struct pollfd pf = {sock, POLLIN, 0};
	unsigned round = 0;
	for (; poll(&pf, 1, 0) == 0; round++) {
		if (t_now() - t0 > 10ull * SEC)
			FAIL("not disconnected after 10 s");
		scribble(b, &x, round, st.n_slots);
		sched_yield();
	}
	b->tail = b->head; /* an empty queue: next() reads why the producer hung up */
	CHECK_ERR(shmring_consumer_next(c, &f, SEC, 0), -EPROTO);
	CHECK_MSG("the producer disconnected it");
	fprintf(stderr, "hostile reader disconnected after %u rounds: %s\n", round,
		shmring_last_error());
	shmring_consumer_close(c);
	return 0;
}

int main(void)
{
	t_name(chan, sizeof(chan), "hostile-reader");
	frames = t_scale(6000);
	gate_init(&up);
	pid_t pid[HONEST + 1];
	for (int i = 0; i < HONEST; i++)
		pid[i] = t_spawn(honest, NULL);
	pid[HONEST] = t_spawn(hostile, NULL);
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 4, .max_readers = HONEST + 1,
					      .policy = SHMRING_POLICY_LOSSLESS};
	shmring_producer *p = t_producer(chan, &o);
	for (int i = 0; i <= HONEST; i++)
		gate_wait(&up, 10000);
	/* At least frames frames, and on until the hostile reader is out. */
	for (uint64_t s = 0; s < frames || shmring_producer_readers(p) > HONEST; s++) {
		if (s > 1000ull * frames)
			FAIL("the hostile reader was never disconnected");
		uint8_t buf[4096];
		size_t n = t_size(s, 8, sizeof(buf));
		fill_frame(buf, n, s);
		CHECK_OK(shmring_producer_write(p, buf, n, NULL, 10 * SEC));
	}
	CHECK_EQ(t_reap(pid[HONEST]), 0); /* disconnected, no signal */
	CHECK_EQ(shmring_producer_readers(p), HONEST);
	CHECK_OK(shmring_producer_eos(p, 10 * SEC));
	for (int i = 0; i < HONEST; i++)
		CHECK_EQ(t_reap(pid[i]), 0);
	shmring_producer_close(p);
	return 0;
}
