/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_msgsize.c: a frame larger than the slot is refused with -EMSGSIZE naming the size needed; the slot's own size fits. */
#include "common.h"

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "msgsize");
	struct shmring_producer_options o = {.slot_size = 5000}; /* rounded up to 8192 */
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	CHECK_EQ(shmring_producer_max_frame(p), 8192);
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));

	static uint8_t buf[8193];
	void *d;
	uint64_t id;
	CHECK_ERR(shmring_producer_write(p, buf, 8193, NULL, SEC), -EMSGSIZE);
	CHECK_MSG("8193");
	CHECK_MSG("8192");
	CHECK_ERR(shmring_producer_reserve(p, 1u << 20, SEC, &d, &id), -EMSGSIZE);
	CHECK_MSG("1048576");
	/* Nothing reached the reader, and the slot's own size goes through. */
	struct shmring_frame f;
	CHECK_ERR(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	fill_frame(buf, 8192, 0);
	CHECK_OK(shmring_producer_write(p, buf, 8192, NULL, SEC));
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_EQ(f.size, 8192);
	CHECK_EQ(f.seq, 0);
	CHECK(frame_ok(f.data, f.size, 0));
	CHECK_OK(shmring_consumer_release(c, &f));
	/* A commit larger than its reservation is refused too. */
	CHECK_OK(shmring_producer_reserve(p, 100, SEC, &d, &id));
	CHECK(shmring_producer_commit(p, id, 101, NULL) < 0);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
