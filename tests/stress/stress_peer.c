/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stress_peer: the producer or a reader process of the stress tests; checks every frame and reports to the driver. */
#include "stress.h"

/*
 * stress_peer produce NAME POLICY COUNT READERS REPORT_FD READY_FD
 *   creates the channel, waits for a byte from each of READERS readers on
 *   READY_FD (they attached), writes COUNT frames (every third reserved
 *   and committed in place, the others copied), then EOS; reports
 *   P rc written and two (pid, drops) pairs taken before EOS.
 * stress_peer consume NAME COUNT REPORT_FD READY_FD PROGRESS_AT SLOW
 *   attaches, writes a byte on READY_FD, reads and checks every frame
 *   (size, pattern, pts = seq), holding up to two and giving them back in
 *   either order; SLOW = 1 makes it give the processor away now and then
 *   so that drop-new and live drop frames for it.  Reports R once it has
 *   read PROGRESS_AT frames, and at the end C rc received gaps corrupt
 *   disorder first pid, or D rc time received corrupt on -EOWNERDEAD.
 */

static int rep_fd;

static void report(uint32_t tag, int rc, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
		   uint64_t f)
{
	struct stress_report r = {tag, rc, a, b, c, d, e, f};
	t_write_all(rep_fd, &r, sizeof r);
}

static int produce(const char *name, uint32_t policy, uint64_t count, unsigned readers, int ready_fd)
{
	struct shmring_producer_options o = {.slot_size = STRESS_SLOT, .policy = policy, .queue_len = 4};
	struct shmring_stream_info si;
	shmring_producer *p = NULL;
	struct shmring_stats st;
	static uint8_t buf[STRESS_SLOT];
	int64_t timeout = 20 * SEC;
	int rc = 0;
	char b;

	CHECK_OK(shmring_producer_create(name, &o, &p));
	t_opaque(&si, STRESS_CAPS);
	CHECK_OK(shmring_producer_set_stream(p, &si));
	for (unsigned i = 0; i < readers; i++)
		if (t_read_all(ready_fd, &b, 1) < 0)
			FAIL("only %u of %u readers attached", i, readers);
	for (uint64_t seq = 0; seq < count; seq++) {
		size_t n = stress_size(seq);
		struct shmring_meta m = SHMRING_META_INIT;
		m.pts = seq;
		if (seq % 3 == 0) {
			void *d;
			uint64_t id;
			size_t max = n + (seq % 5) * 100;
			if (max > shmring_producer_max_frame(p))
				max = n;
			rc = shmring_producer_reserve(p, max, timeout, &d, &id);
			if (rc == 0) {
				fill_frame(d, n, seq);
				rc = shmring_producer_commit(p, id, n, &m);
			}
		} else {
			fill_frame(buf, n, seq);
			rc = shmring_producer_write(p, buf, n, &m, timeout);
		}
		if (rc < 0)
			break;
	}
	/* Drops per reader once the last frame is committed, taken before the
	 * end of stream (a reader may leave as soon as it reads it, and its
	 * line with it): two (pid, count) pairs.  The end of stream itself
	 * may still push one frame out of a full live queue. */
	CHECK_OK(shmring_producer_stats(p, &st));
	uint64_t d[4] = {0, 0, 0, 0};
	for (unsigned i = 0, k = 0; i < SHMRING_MAX_READERS && k < 4; i++)
		if (st.reader[i].pid) {
			d[k++] = (uint64_t)st.reader[i].pid;
			d[k++] = st.reader[i].frames_dropped;
		}
	if (rc == 0)
		rc = shmring_producer_eos(p, timeout);
	if (rc < 0)
		fprintf(stderr, "producer: %s\n", shmring_last_error());
	report(REP_PRODUCER, rc, st.frames_written, 0, d[0], d[1], d[2], d[3]);
	/* Closing right after EOS: the readers still read what is queued. */
	shmring_producer_close(p);
	return rc < 0;
}

#define MAX_HELD 2

static int consume(const char *name, uint64_t count, int ready_fd, uint64_t progress_at, int slow)
{
	shmring_consumer *c = NULL;
	struct shmring_frame held[MAX_HELD], f;
	int nheld = 0, rc;
	uint64_t received = 0, gaps = 0, corrupt = 0, disorder = 0, expect = 0, first = UINT64_MAX;

	CHECK_OK(shmring_consumer_attach(name, NULL, 20 * SEC, &c));
	t_write_all(ready_fd, "r", 1);
	for (;;) {
		rc = shmring_consumer_next(c, &f, 20 * SEC, 0);
		if (rc != 1)
			break;
		if (first == UINT64_MAX)
			first = f.seq;
		else if (f.seq < expect)
			disorder++;
		if (f.seq > expect)
			gaps += f.seq - expect; /* including any before the first */
		expect = f.seq + 1;
		received++;
		if (f.size != stress_size(f.seq) || !frame_ok(f.data, f.size, f.seq) || f.meta.pts != f.seq) {
			fprintf(stderr, "reader: frame %llu of %llu bytes is corrupt\n",
				(unsigned long long)f.seq, (unsigned long long)f.size);
			corrupt++;
		}
		/* Hold up to MAX_HELD frames; give back the oldest or the
		 * newest (any order), checking it is still intact. */
		held[nheld++] = f;
		if (nheld == MAX_HELD) {
			int k = (f.seq % 2) ? 0 : nheld - 1;
			if (!frame_ok(held[k].data, held[k].size, held[k].seq))
				corrupt++;
			CHECK_OK(shmring_consumer_release(c, &held[k]));
			held[k] = held[--nheld];
		}
		if (received == progress_at)
			report(REP_PROGRESS, 0, f.seq, received, 0, 0, 0, 0);
		if (slow && f.seq % 64 == 0)
			sched_yield();
		if (slow && f.seq % 1024 == 0) {
			struct timespec ts = {0, 2000000}; /* fall behind: not a synchronisation */
			nanosleep(&ts, NULL);
		}
	}
	for (int k = 0; k < nheld; k++) {
		if (!frame_ok(held[k].data, held[k].size, held[k].seq))
			corrupt++;
		CHECK_OK(shmring_consumer_release(c, &held[k]));
	}
	if (rc == -EOWNERDEAD) {
		report(REP_DEAD, rc, t_now(), received, corrupt, disorder, 0, 0);
		shmring_consumer_close(c);
		return 0;
	}
	if (rc != 0)
		fprintf(stderr, "reader: %d %s\n", rc, shmring_last_error());
	/* Frames dropped after the last one received. */
	if (count > expect)
		gaps += count - expect;
	report(REP_CONSUMER, rc, received, gaps, corrupt, disorder, first, (uint64_t)getpid());
	shmring_consumer_close(c);
	return rc != 0;
}

int main(int argc, char **argv)
{
	if (argc == 8 && !strcmp(argv[1], "produce")) {
		int policy = shmring_policy_from_name(argv[3]);
		CHECK(policy >= 0);
		rep_fd = atoi(argv[6]);
		return produce(argv[2], (uint32_t)policy, strtoull(argv[4], NULL, 10),
			       (unsigned)atoi(argv[5]), atoi(argv[7]));
	}
	if (argc == 8 && !strcmp(argv[1], "consume")) {
		rep_fd = atoi(argv[4]);
		return consume(argv[2], strtoull(argv[3], NULL, 10), atoi(argv[5]),
			       strtoull(argv[6], NULL, 10), atoi(argv[7]));
	}
	fprintf(stderr, "usage: stress_peer produce NAME POLICY COUNT READERS REPORT_FD READY_FD\n"
			"       stress_peer consume NAME COUNT REPORT_FD READY_FD PROGRESS_AT SLOW\n");
	return 2;
}
