/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stall.c: a lossless reader that stops taking holds the producer back until the stall timeout, then is made live (its oldest frames pushed out, seen as a seq gap and counted, its pid reported) while a fast reader loses nothing; once caught up it is lossless again. */
#include "common.h"

#define STALL_NS (300 * 1000000ll)

struct child {
	char chan[64];
	struct gate to, from;
};

static uint32_t uint_of(shmring_producer *p, pid_t pid, int flags)
{
	struct shmring_stats st;
	CHECK_OK(shmring_producer_stats(p, &st));
	for (unsigned i = 0; i < SHMRING_MAX_READERS; i++)
		if (st.reader[i].pid == (int32_t)pid)
			return flags ? st.reader[i].flags : (uint32_t)st.reader[i].frames_dropped;
	FAIL("reader of pid %d not in the table", (int)pid);
}

/* The stuck reader: takes frame 0 and holds it, takes nothing more until
 * told; then finds the newest two frames after a gap of 7. */
static int stuck(void *arg)
{
	struct child *c = arg;
	shmring_consumer *r;
	struct shmring_frame f0, f;
	struct shmring_stats st;
	CHECK_OK(shmring_consumer_attach(c->chan, NULL, 5 * SEC, &r));
	gate_post(&c->from, 'a');
	CHECK_EQ(shmring_consumer_next(r, &f0, 5 * SEC, 0), 1);
	CHECK_EQ(f0.seq, 0);
	gate_post(&c->from, 'r');
	gate_wait(&c->to, 30000); /* the producer wrote frames 1..9 meanwhile */
	for (uint64_t s = 8; s < 10; s++) {
		CHECK_EQ(shmring_consumer_next(r, &f, 5 * SEC, 0), 1);
		CHECK_EQ(f.seq, s);
		CHECK(frame_ok(f.data, f.size, s));
		CHECK_OK(shmring_consumer_release(r, &f));
	}
	CHECK_OK(shmring_consumer_release(r, &f0));
	CHECK_OK(shmring_consumer_stats(r, &st));
	CHECK_EQ(st.frames_dropped, 7); /* the gap 1..7 */
	gate_post(&c->from, 'd');
	gate_wait(&c->to, 30000); /* frames 10 and 11 written: lossless again */
	for (uint64_t s = 10; s < 12; s++) {
		CHECK_EQ(shmring_consumer_next(r, &f, 5 * SEC, 0), 1);
		CHECK_EQ(f.seq, s);
		CHECK_OK(shmring_consumer_release(r, &f));
	}
	CHECK_OK(shmring_consumer_stats(r, &st));
	CHECK_EQ(st.frames_dropped, 7);
	shmring_consumer_close(r);
	return 0;
}

static void write_one(shmring_producer *p, shmring_consumer *fast, uint64_t s, int64_t timeout)
{
	uint8_t buf[64];
	struct shmring_frame f;
	fill_frame(buf, sizeof buf, s);
	CHECK_OK(shmring_producer_write(p, buf, sizeof buf, NULL, timeout));
	CHECK_EQ(shmring_consumer_next(fast, &f, 5 * SEC, 0), 1);
	CHECK_EQ(f.seq, s);
	CHECK(frame_ok(f.data, f.size, s));
	CHECK_OK(shmring_consumer_release(fast, &f));
}

int main(void)
{
	struct child c;
	t_name(c.chan, sizeof c.chan, "stall");
	gate_init(&c.to);
	gate_init(&c.from);
	pid_t kid = t_spawn(stuck, &c);
	struct shmring_producer_options o = {.slot_size = 4096, .policy = SHMRING_POLICY_LOSSLESS,
					      .queue_len = 2, .max_readers = 2};
	shmring_producer *p = t_producer(c.chan, &o);
	char msg[SHMRING_MESSAGE_MAX];
	CHECK_EQ(shmring_producer_set_stall_timeout(p, -1), -EINVAL);
	shmring_consumer *fast;
	CHECK_OK(shmring_consumer_attach(c.chan, NULL, 5 * SEC, &fast));
	CHECK_EQ(gate_wait(&c.from, 10000), 'a');
	write_one(p, fast, 0, 5 * SEC);
	CHECK_EQ(gate_wait(&c.from, 10000), 'r'); /* it holds frame 0 and takes no more */
	write_one(p, fast, 1, 5 * SEC);
	write_one(p, fast, 2, 5 * SEC);

	/* No stall timeout (the default): the stuck reader's full queue
	 * holds the producer back for as long as the write's timeout. */
	uint8_t buf[64];
	fill_frame(buf, sizeof buf, 3);
	CHECK_EQ(shmring_producer_write(p, buf, sizeof buf, NULL, STALL_NS), -ETIMEDOUT);
	CHECK_EQ(shmring_producer_take_stalled(p, msg, sizeof msg), 0);
	CHECK_EQ(uint_of(p, kid, 1), 0);

	/* With one, the write goes on once the producer waited that long
	 * for it: the stuck reader is made live and reported by pid. */
	CHECK_OK(shmring_producer_set_stall_timeout(p, STALL_NS));
	uint64_t t0 = t_now();
	write_one(p, fast, 3, 30 * SEC);
	uint64_t waited = t_now() - t0;
	CHECK(waited >= (uint64_t)STALL_NS);
	CHECK(waited < 20ull * SEC);
	CHECK_EQ(shmring_producer_take_stalled(p, msg, sizeof msg), kid);
	char want[32];
	snprintf(want, sizeof want, "pid %d ", (int)kid);
	if (!strstr(msg, want) || !strstr(msg, "stall timeout"))
		FAIL("message does not name pid %d and the setting: %s", (int)kid, msg);
	CHECK_EQ(shmring_producer_take_stalled(p, msg, sizeof msg), 0); /* reported once */
	CHECK_EQ(uint_of(p, kid, 1), SHMRING_READER_STALLED);
	/* Live now: its oldest entries are pushed out, the producer never waits. */
	for (uint64_t s = 4; s < 10; s++)
		write_one(p, fast, s, 0);
	CHECK_EQ(uint_of(p, kid, 0), 7); /* frames 1..7 */
	CHECK_EQ(uint_of(p, kid, 1), SHMRING_READER_STALLED);

	/* It reads again, finds the gap, catches up: lossless again at the
	 * next frame, so a full queue holds the producer back once more. */
	gate_post(&c.to, 'g');
	CHECK_EQ(gate_wait(&c.from, 30000), 'd');
	write_one(p, fast, 10, 0);
	CHECK_EQ(uint_of(p, kid, 1), 0);
	write_one(p, fast, 11, 0); /* its queue (10, 11) is full */
	fill_frame(buf, sizeof buf, 12);
	CHECK_EQ(shmring_producer_write(p, buf, sizeof buf, NULL, 0), -ETIMEDOUT);
	CHECK_EQ(shmring_producer_take_stalled(p, msg, sizeof msg), 0);
	gate_post(&c.to, 'g');
	CHECK_EQ(t_reap(kid), 0);

	struct shmring_stats st;
	CHECK_OK(shmring_consumer_stats(fast, &st));
	CHECK_EQ(st.frames_read, 12);
	CHECK_EQ(st.frames_dropped, 0);
	shmring_consumer_close(fast);
	shmring_producer_close(p);
	return 0;
}
