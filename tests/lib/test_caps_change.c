/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_caps_change.c: caps changes reach the reader in order with the frames, across every description slot several times over; desc_changed marks exactly the changes. */
#include "common.h"

int main(void)
{
	char chan[64];
	t_name(chan, sizeof chan, "caps_change");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 8};
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	struct shmring_desc d;
	CHECK_ERR(shmring_consumer_current_desc(c, &d), -ENODATA);

	/* Changes: 3 rounds over the description slots; each description is
	 * followed by 1 to 3 frames, read only every few frames so that
	 * several descriptions are queued at once. */
	unsigned changes = 3 * SHMRING_DESC_SLOTS;
	uint64_t seq = 0, next = 0;
	char caps[64];
	struct shmring_frame f;
	uint32_t want_desc[4096];
	int want_changed[4096];
	for (unsigned k = 0; k < changes; k++) {
		struct shmring_stream_info si;
		snprintf(caps, sizeof caps, "application/x-test, n=(int)%u", k);
		t_opaque(&si, caps);
		CHECK_OK(shmring_producer_set_stream(p, &si));
		unsigned frames = 1 + k % 3;
		for (unsigned i = 0; i < frames; i++, seq++) {
			uint8_t b[16];
			fill_frame(b, sizeof b, seq);
			CHECK_OK(shmring_producer_write(p, b, sizeof b, NULL, SEC));
			want_desc[seq] = k;
			want_changed[seq] = i == 0;
		}
		while (next + 4 <= seq || (k == changes - 1 && next < seq)) {
			CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
			CHECK_EQ(f.seq, next);
			CHECK(frame_ok(f.data, f.size, f.seq));
			char want[64];
			snprintf(want, sizeof want, "application/x-test, n=(int)%u", want_desc[next]);
			if (strcmp(f.desc->caps, want) != 0)
				FAIL("frame %llu has caps '%s', not '%s'", (unsigned long long)f.seq,
				     f.desc->caps, want);
			CHECK_EQ(f.desc_changed, want_changed[next]);
			CHECK_OK(shmring_consumer_release(c, &f));
			next++;
		}
	}
	CHECK_OK(shmring_consumer_current_desc(c, &d));
	snprintf(caps, sizeof caps, "application/x-test, n=(int)%u", changes - 1);
	CHECK(strcmp(d.caps, caps) == 0);
	/* A late reader learns the current caps with its first frame. */
	shmring_consumer *late;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &late));
	CHECK_OK(shmring_consumer_current_desc(late, &d));
	CHECK(strcmp(d.caps, caps) == 0);
	uint8_t b[16];
	fill_frame(b, sizeof b, seq);
	CHECK_OK(shmring_producer_write(p, b, sizeof b, NULL, SEC));
	CHECK_EQ(shmring_consumer_next(late, &f, SEC, 0), 1);
	CHECK_EQ(f.seq, seq);
	CHECK(strcmp(f.desc->caps, caps) == 0);
	CHECK_EQ(f.desc_changed, 1);
	CHECK_OK(shmring_consumer_release(late, &f));
	shmring_consumer_close(late);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
