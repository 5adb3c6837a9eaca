/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_pool_bound.c: the pool is as small as its policy allows, and the producer still always finds a
 * free slot while readers take, hold and release at random and reservations stay outstanding. */
#include "common.h"

#define READERS 3
#define Q 3
#define H 2
#define K 2
#define STEPS 30000

struct reader {
	shmring_consumer *c;
	struct shmring_frame held[H];
	unsigned n_held;
};

/* One reader's move: release a frame it holds (any of them), or take the
 * next one and keep it. */
static void reader_step(struct reader *r, uint64_t x)
{
	if (r->n_held == H || (r->n_held > 0 && (x >> 8) % 3 == 0)) {
		unsigned k = (unsigned)((x >> 16) % r->n_held);
		CHECK_OK(shmring_consumer_release(r->c, &r->held[k]));
		r->held[k] = r->held[--r->n_held];
		return;
	}
	int rc = shmring_consumer_next(r->c, &r->held[r->n_held], 0, 0);
	if (rc == 1)
		r->n_held++;
	else
		CHECK_ERR(rc, -ETIMEDOUT);
}

/* The producer's move: reserve (up to K outstanding) or commit the oldest
 * reservation.  A reserve may time out only where a lossless reader has
 * no room; "no free slot" would be a pool too small for its limits. */
static int producer_step(shmring_producer *p, uint32_t policy, uint64_t *resv, unsigned *n_resv, int reserve)
{
	if (reserve && *n_resv < K) {
		void *d;
		int rc = shmring_producer_reserve(p, 64, 0, &d, &resv[*n_resv]);
		if (rc == -ETIMEDOUT && policy == SHMRING_POLICY_LOSSLESS)
			return 0;
		CHECK(rc >= 0);
		memset(d, 0x5a, 64);
		++*n_resv;
	} else if (!reserve && *n_resv > 0) {
		CHECK_OK(shmring_producer_commit(p, resv[0], 64, NULL));
		memmove(resv, resv + 1, --*n_resv * sizeof(*resv));
		return 1;
	}
	return 0;
}

static void run(uint32_t policy, const uint32_t modes[READERS], uint64_t seed)
{
	char chan[64];
	t_name(chan, sizeof(chan), "pool_bound");
	struct shmring_producer_options o = {.slot_size = 4096, .max_readers = READERS, .queue_len = Q,
					      .max_holds = H, .max_reserved = K, .policy = policy};
	shmring_producer *p = t_producer(chan, &o);
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	/* Lossless and live queues hold the last Q frames between them; a
	 * drop-new queue may hold any Q older ones. */
	CHECK_EQ(st.n_slots, (policy == SHMRING_POLICY_DROP_NEW ? READERS * Q : Q) + READERS * H + K + 1);

	struct reader r[READERS] = {0};
	for (int i = 0; i < READERS; i++) {
		struct shmring_consumer_options co = {.holds = H, .mode = modes[i]};
		CHECK_OK(shmring_consumer_attach(chan, &co, 5 * SEC, &r[i].c));
	}
	uint64_t resv[K], x = seed, committed = 0;
	unsigned n_resv = 0;
	for (int step = 0; step < STEPS; step++) {
		uint64_t v = t_next(&x);
		unsigned who = (unsigned)(v % (READERS + 2));
		if (who < READERS)
			reader_step(&r[who], v);
		else
			committed += (uint64_t)producer_step(p, policy, resv, &n_resv, who == READERS);
	}
	/* The walk moved frames, not only stalled. */
	CHECK(committed > STEPS / 20);
	for (int i = 0; i < READERS; i++) {
		for (unsigned k = 0; k < r[i].n_held; k++)
			CHECK_OK(shmring_consumer_release(r[i].c, &r[i].held[k]));
		shmring_consumer_close(r[i].c);
	}
	shmring_producer_close(p);
	CHECK_EQ(t_leftover(chan), 0);
}

/* With no queue_len: 8 frames under lossless, 2 under drop-new and live,
 * and the pool each policy's bound gives (4 readers, 2 holds, 2
 * reservations by default). */
static void defaults(void)
{
	static const struct {
		uint32_t policy, queue_len, n_slots;
	} want[] = {
		{SHMRING_POLICY_LOSSLESS, 8, 8 + 4 * 2 + 2 + 1},
		{SHMRING_POLICY_LIVE, 2, 2 + 4 * 2 + 2 + 1},
		{SHMRING_POLICY_DROP_NEW, 2, 4 * (2 + 2) + 2 + 1},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char chan[64];
		t_name(chan, sizeof(chan), "pool_defaults");
		struct shmring_producer_options o = {.slot_size = 4096, .policy = want[i].policy};
		shmring_producer *p = t_producer(chan, &o);
		struct shmring_stats st;
		CHECK_OK(shmring_producer_stats(p, &st));
		CHECK_EQ(st.queue_len, want[i].queue_len);
		CHECK_EQ(st.n_slots, want[i].n_slots);
		shmring_producer_close(p);
	}
}

int main(void)
{
	defaults();
	const uint32_t two_and_live[READERS] = {SHMRING_MODE_CHANNEL, SHMRING_MODE_CHANNEL, SHMRING_MODE_LIVE};
	const uint32_t channel[READERS] = {SHMRING_MODE_CHANNEL, SHMRING_MODE_CHANNEL, SHMRING_MODE_CHANNEL};
	for (uint64_t seed = 1; seed <= 4; seed++) {
		run(SHMRING_POLICY_LOSSLESS, two_and_live, seed * 0x9e3779b97f4a7c15ull);
		run(SHMRING_POLICY_LIVE, channel, seed * 0x9e3779b97f4a7c15ull);
		run(SHMRING_POLICY_DROP_NEW, two_and_live, seed * 0x9e3779b97f4a7c15ull);
		run(SHMRING_POLICY_DROP_NEW, channel, seed * 0x9e3779b97f4a7c15ull);
	}
	printf("ok\n");
	return 0;
}
