/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_inspect.c: an observer reads a channel's counters, readers and caps without becoming a reader. */
#include "common.h"

int main(void)
{
	char chan[64];
	t_name(chan, sizeof(chan), "inspect");
	struct shmring_stats st;
	CHECK_ERR(shmring_inspect(chan, &st, NULL), -ENOENT);
	CHECK_MSG("has no producer");
	struct shmring_producer_options o = {.slot_size = 8192, .max_readers = 3, .queue_len = 4,
					      .policy = SHMRING_POLICY_LIVE};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test, kind=inspect");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	shmring_consumer *c[2];
	for (int i = 0; i < 2; i++)
		CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c[i]));
	uint8_t b[100] = {0};
	for (int i = 0; i < 7; i++)
		CHECK_OK(shmring_producer_write(p, b, sizeof(b), NULL, 0));
	struct shmring_desc d;
	CHECK_OK(shmring_inspect(chan, &st, &d));
	CHECK_EQ(st.frames_written, 7);
	CHECK_EQ(st.readers, 2);
	CHECK_EQ(st.max_readers, 3);
	/* Live: the queues hold the last 4 frames between them, plus 3 x 3
	 * holds, 2 reservations and one spare. */
	CHECK_EQ(st.n_slots, 4 + 3 * 3 + 2 + 1);
	CHECK_EQ(st.slot_size, 8192);
	CHECK_EQ(st.pool_size, 36864 + 4096 + 16 * 8192);
	CHECK_EQ(st.producer_pid, getpid());
	CHECK_EQ(st.state, SHMRING_STATE_OPEN);
	CHECK_EQ(st.policy, SHMRING_POLICY_LIVE);
	CHECK(strcmp(d.caps, "application/x-test, kind=inspect") == 0);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(st.reader[i].pid, getpid());
		CHECK_EQ(st.reader[i].frames_queued, 7);
		CHECK_EQ(st.reader[i].frames_dropped, 3); /* live, queue of 4 */
		CHECK_EQ(st.reader[i].lag, 4);
	}
	CHECK_EQ(st.reader[2].pid, 0);
	CHECK_EQ(shmring_producer_readers(p), 2); /* the observer took no reader index */
	for (int i = 0; i < 2; i++)
		shmring_consumer_close(c[i]);
	shmring_producer_close(p);
	return 0;
}
