/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_keep_newest: with SHMRING_PRODUCER_KEEP_NEWEST and no reader the producer never waits and keeps only the newest frame; a reader attaching gets it first, then the policy applies. */
#include "common.h"

#define RING 16384u /* holds 5 frames of 3000 bytes */
#define FSIZE 3000u

static shmring_producer *producer(const char *name, uint32_t policy, uint32_t flags)
{
	struct shmring_producer_options o = {RING, 0, policy, flags};
	struct shmring_stream_info si;
	shmring_producer *p = NULL;
	memset(&si, 0, sizeof si);
	si.caps = T_TEST_CAPS;
	CHECK_OK(shmring_producer_create(name, &o, &p));
	CHECK_OK(shmring_producer_set_stream(p, &si));
	return p;
}

static void read_one(shmring_consumer *c, uint64_t seq)
{
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 1);
	CHECK_EQ(f.seq, seq);
	CHECK_EQ(t_pattern_check(f.data, f.size, seq), 0);
	CHECK_OK(shmring_consumer_release(c, &f));
}

static void keep_newest(uint32_t policy)
{
	const char *name = t_channel("keep");
	shmring_producer *p = producer(name, policy, SHMRING_PRODUCER_KEEP_NEWEST);
	shmring_consumer *c;
	struct shmring_stats st;
	struct shmring_frame f;
	uint64_t seq = 0;

	/* 100 frames, no reader: none waits, even with an endless timeout. */
	for (; seq < 100; seq++)
		CHECK_OK(t_write_pattern(p, FSIZE, seq, SHMRING_FOREVER));
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_written, 100);
	CHECK_EQ(st.frames_dropped, 99);
	CHECK_EQ(st.lag_bytes, 3072);
	CHECK_EQ(st.lag_frames, 1); /* the newest; the other 99 are gone, not pending */

	/* A reader attaching now gets the newest frame first. */
	c = t_consumer(name);
	read_one(c, 99);
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	/* Then, attached, the policy applies: lossless loses nothing. */
	for (int round = 0; round < 10; round++) {
		uint64_t first = seq;
		for (int k = 0; k < 5; k++, seq++)
			CHECK_OK(t_write_pattern(p, FSIZE, seq, 0));
		if (policy == SHMRING_POLICY_LOSSLESS)
			CHECK_ERR(t_write_pattern(p, FSIZE, seq, 20000000), -ETIMEDOUT);
		for (uint64_t s = first; s < seq; s++)
			read_one(c, s);
	}
	CHECK_OK(shmring_producer_stats(p, &st));
	CHECK_EQ(st.frames_dropped, 99);
	shmring_consumer_close(c);

	/* Once the reader left, the producer keeps only the newest again. */
	for (int k = 0; k < 20; k++, seq++)
		CHECK_OK(t_write_pattern(p, FSIZE, seq, SHMRING_FOREVER));
	c = t_consumer(name);
	read_one(c, seq - 1);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
}

int main(void)
{
	keep_newest(SHMRING_POLICY_LOSSLESS);
	keep_newest(SHMRING_POLICY_DROP_NEW);
	keep_newest(SHMRING_POLICY_LIVE);

	/* Without the flag a lossless producer with no reader still waits,
	 * and a reader gets the oldest frame. */
	{
		const char *name = t_channel("nokeep");
		shmring_producer *p = producer(name, SHMRING_POLICY_LOSSLESS, 0);
		shmring_consumer *c;
		uint64_t seq = 0;
		while (t_write_pattern(p, FSIZE, seq, 0) == 0)
			seq++;
		CHECK_EQ(seq, 5);
		CHECK_ERR(t_write_pattern(p, FSIZE, seq, 50000000), -ETIMEDOUT);
		c = t_consumer(name);
		read_one(c, 0);
		shmring_consumer_close(c);
		shmring_producer_close(p);
		CHECK_NO_LEFTOVER(name);
	}
	/* Unknown flags are refused. */
	{
		struct shmring_producer_options o = {RING, 0, SHMRING_POLICY_LOSSLESS, 1u << 7};
		shmring_producer *p = NULL;
		CHECK_ERR(shmring_producer_create(t_channel("badflag"), &o, &p), -EINVAL);
		CHECK_MSG("flags");
	}
	return 0;
}
