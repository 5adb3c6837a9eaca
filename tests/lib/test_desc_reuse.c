/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_desc_reuse.c: a description slot is not rewritten while a held frame names it: drop-new drops, lossless waits. */
#include "common.h"

static void set_caps(shmring_producer *p, unsigned i)
{
	char caps[64];
	snprintf(caps, sizeof(caps), "application/x-test, n=%u", i);
	struct shmring_stream_info si;
	t_opaque(&si, caps);
	CHECK_OK(shmring_producer_set_stream(p, &si));
}

static void run(uint32_t policy, int err)
{
	char chan[64];
	t_name(chan, sizeof(chan), policy ? "desc-reuse-drop" : "desc-reuse-lossless");
	struct shmring_producer_options o = {.slot_size = 4096, .policy = policy};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	set_caps(p, 1); /* description 1, in slot 1 */
	uint8_t buf[64];
	fill_frame(buf, sizeof(buf), 0);
	CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, SEC));
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK(strcmp(f.desc->caps, "application/x-test, n=1") == 0);
	for (unsigned i = 2; i <= 9; i++) /* description 9 goes into slot 1 too */
		set_caps(p, i);
	fill_frame(buf, sizeof(buf), 1);
	CHECK_ERR(shmring_producer_write(p, buf, sizeof(buf), NULL, 0), err);
	CHECK_MSG("description slot 1");
	CHECK(strcmp(f.desc->caps, "application/x-test, n=1") == 0);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, SEC));
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK(strcmp(f.desc->caps, "application/x-test, n=9") == 0 && f.desc_changed);
	CHECK_OK(shmring_consumer_release(c, &f));
	shmring_consumer_close(c);
	shmring_producer_close(p);
}

int main(void)
{
	run(SHMRING_POLICY_DROP_NEW, -ENOBUFS);
	run(SHMRING_POLICY_LOSSLESS, -ETIMEDOUT);
	return 0;
}
