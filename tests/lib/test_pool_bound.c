/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_pool_bound.c: the pool is as small as its policy allows, and the producer still always finds a
 * free slot while readers take, hold and release at random and reservations, claimed or lent, stay
 * outstanding; a lent slot kept after its commit is never rewritten, and lossless loses nothing. */
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
	int check_gaps; /* lossless, attached in channel mode: every frame, in order */
	uint64_t next_seq;
	int have_seq;
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
	if (rc == 1) {
		uint64_t seq = r->held[r->n_held].seq;
		if (r->check_gaps && r->have_seq)
			CHECK_EQ(seq, r->next_seq);
		r->next_seq = seq + 1;
		r->have_seq = 1;
		r->n_held++;
	} else {
		CHECK_ERR(rc, -ETIMEDOUT);
	}
}

/* A reservation of the producer's: claimed (reserve) or lent (lend);
 * a lent one is kept after its commit until given back. */
struct resv {
	uint64_t id;
	unsigned char *data;
	unsigned char tag;
	int lent, committed;
};

struct producer {
	shmring_producer *p;
	uint32_t policy;
	struct resv r[K];
	unsigned n;
	unsigned char next_tag;
};

static void fill(struct resv *rv, unsigned char tag)
{
	rv->tag = tag;
	memset(rv->data, tag, 64);
}

/* No other reservation's memory is this one's, and a kept slot still
 * holds what was written into it. */
static void check_resv(const struct producer *pr)
{
	for (unsigned i = 0; i < pr->n; i++) {
		for (unsigned j = 0; j < 64; j++)
			CHECK_EQ(pr->r[i].data[j], pr->r[i].tag);
		for (unsigned k = i + 1; k < pr->n; k++)
			CHECK(pr->r[i].data != pr->r[k].data);
	}
}

static void drop_resv(struct producer *pr, unsigned i)
{
	memmove(&pr->r[i], &pr->r[i + 1], (pr->n - i - 1) * sizeof(pr->r[0]));
	pr->n--;
}

/* The producer's move: reserve or lend (up to K outstanding, kept lent
 * slots among them), commit the oldest uncommitted reservation, or give a
 * lent slot back.  A reserve or a lent commit may time out only where a
 * lossless reader has no room; "no free slot" would be a pool too small
 * for its limits. */
static int producer_step(struct producer *pr, uint64_t x)
{
	unsigned move = (unsigned)((x >> 24) % 8);
	int lossless = pr->policy == SHMRING_POLICY_LOSSLESS;
	int done = 0;

	if (move < 3 && pr->n < K) {
		struct resv *rv = &pr->r[pr->n];
		void *d;
		int rc;
		rv->lent = move == 0;
		rv->committed = 0;
		rc = rv->lent ? shmring_producer_lend(pr->p, 64, &d, &rv->id)
			      : shmring_producer_reserve(pr->p, 64, 0, &d, &rv->id);
		if (rc == -ETIMEDOUT && lossless && !rv->lent)
			return 0;
		CHECK_OK(rc);
		rv->data = d;
		fill(rv, ++pr->next_tag);
		pr->n++;
	} else if (move < 6) {
		unsigned i = 0;
		while (i < pr->n && pr->r[i].committed)
			i++;
		if (i == pr->n)
			return 0;
		struct resv *rv = &pr->r[i];
		if (rv->lent) {
			int rc = shmring_producer_commit_lent(pr->p, rv->id, 64, NULL, 0);
			if (rc == -ETIMEDOUT && lossless)
				return 0;
			CHECK_OK(rc);
			rv->committed = 1;
		} else {
			CHECK_OK(shmring_producer_commit(pr->p, rv->id, 64, NULL));
			drop_resv(pr, i);
		}
		done = 1;
	} else if (pr->n > 0) {
		/* Give back a lent slot, committed or not (a buffer freed). */
		unsigned i = (unsigned)((x >> 32) % pr->n);
		if (pr->r[i].lent) {
			CHECK_OK(shmring_producer_abort(pr->p, pr->r[i].id));
			drop_resv(pr, i);
		}
	}
	check_resv(pr);
	return done;
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
		r[i].check_gaps = policy == SHMRING_POLICY_LOSSLESS && modes[i] == SHMRING_MODE_CHANNEL;
	}
	struct producer pr = {.p = p, .policy = policy};
	uint64_t x = seed, committed = 0;
	for (int step = 0; step < STEPS; step++) {
		uint64_t v = t_next(&x);
		unsigned who = (unsigned)(v % (READERS + 1));
		if (who < READERS)
			reader_step(&r[who], v);
		else
			committed += (uint64_t)producer_step(&pr, v);
	}
	/* The walk moved frames, not only stalled. */
	CHECK(committed > STEPS / 20);
	for (int i = 0; i < READERS; i++) {
		for (unsigned k = 0; k < r[i].n_held; k++)
			CHECK_OK(shmring_consumer_release(r[i].c, &r[i].held[k]));
		shmring_consumer_close(r[i].c);
	}
	for (unsigned i = 0; i < pr.n; i++)
		CHECK_OK(shmring_producer_abort(p, pr.r[i].id));
	shmring_producer_close(p);
	CHECK_EQ(t_leftover(chan), 0);
}

/* With no queue_len: 8 frames under lossless, 2 under drop-new and live,
 * and the pool each policy's bound gives (4 readers, 3 holds, 2
 * reservations by default). */
static void defaults(void)
{
	static const struct {
		uint32_t policy, queue_len, n_slots;
	} want[] = {
		{SHMRING_POLICY_LOSSLESS, 8, 8 + 4 * 3 + 2 + 1},
		{SHMRING_POLICY_LIVE, 2, 2 + 4 * 3 + 2 + 1},
		{SHMRING_POLICY_DROP_NEW, 2, 4 * (2 + 3) + 2 + 1},
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
