/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_fanout.c: one lossless producer, four reader processes, frames of varying size: every reader gets every frame intact. */
#include "common.h"

#define READERS 4
static char chan[64];
static struct gate ready, done; /* readers to main; main to readers: stats read, close now */
static unsigned frames;

static int reader(void *arg)
{
	(void)arg;
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &c));
	gate_post(&ready, 'r');
	struct shmring_frame f;
	uint64_t want = 0;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, 20 * SEC, 0)) == 1) {
		if (f.seq != want)
			FAIL("frame %" PRIu64 " after %" PRIu64 ": lost frames", f.seq, want - 1);
		if (f.size != t_size(f.seq, 8, 16384) || !frame_ok(f.data, f.size, f.seq))
			FAIL("frame %" PRIu64 " is wrong", f.seq);
		CHECK_OK(shmring_consumer_release(c, &f));
		want++;
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(want, frames);
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(c, &st));
	CHECK_EQ(st.frames_dropped, 0);
	/* Stay attached until the producer has read every reader's line. */
	gate_wait(&done, 20000);
	shmring_consumer_close(c);
	return 0;
}

int main(void)
{
	t_name(chan, sizeof(chan), "fanout");
	frames = t_scale(20000);
	gate_init(&ready);
	gate_init(&done);
	pid_t pid[READERS];
	for (int i = 0; i < READERS; i++)
		pid[i] = t_spawn(reader, NULL);
	struct shmring_producer_options o = {.slot_size = 16384, .queue_len = 8,
					      .policy = SHMRING_POLICY_LOSSLESS};
	shmring_producer *p = t_producer(chan, &o);
	for (int i = 0; i < READERS; i++)
		gate_wait(&ready, 10000);
	CHECK_EQ(shmring_producer_readers(p), READERS);
	for (uint64_t s = 0; s < frames; s++) {
		size_t n = t_size(s, 8, 16384);
		void *dst;
		uint64_t id;
		CHECK_OK(shmring_producer_reserve(p, n, 20 * SEC, &dst, &id));
		fill_frame(dst, n, s);
		CHECK_OK(shmring_producer_commit(p, id, n, NULL));
	}
	CHECK_OK(shmring_producer_eos(p, 20 * SEC));
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	for (int i = 0; i < READERS; i++) {
		CHECK(st.reader[i].pid > 0);
		CHECK_EQ(st.reader[i].frames_dropped, 0);
		CHECK_EQ(st.reader[i].frames_queued, frames + 1);
	}
	for (int i = 0; i < READERS; i++)
		gate_post(&done, 'd');
	for (int i = 0; i < READERS; i++)
		CHECK_EQ(t_reap(pid[i]), 0);
	shmring_producer_close(p);
	CHECK(!t_leftover(chan));
	return 0;
}
