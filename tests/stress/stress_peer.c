/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stress_peer: the producer or consumer process of the stress tests; checks every frame and reports to the driver. */
#include "stress.h"

/*
 * stress_peer produce NAME POLICY COUNT REPORT_FD READY_FD DROPPED_FD
 *   waits for a byte on READY_FD (the consumer attached), writes COUNT
 *   frames (every third in place), writes a byte on DROPPED_FD at its
 *   first drop, then EOS; reports P rc written dropped.  In drop-new and
 *   live it stays at most CREDITS * 256 frames ahead of the reader: it
 *   takes a byte from READY_FD for every 256 frames (the reader sends
 *   one per 256 sequence numbers), so most frames get through.
 * stress_peer consume NAME POLICY COUNT REPORT_FD READY_FD DROPPED_FD PROGRESS_AT
 *   attaches, writes a byte on READY_FD, reads and checks every frame;
 *   in drop-new/live it stops once, holding nothing, until the producer
 *   has dropped; reports R once it has read PROGRESS_AT frames, and at
 *   the end C rc received gaps corrupt disorder, or D rc time on
 *   -EOWNERDEAD.
 */

#define CREDITS 4

static int rep_fd;

/* Send one flow-control credit; a full pipe already holds plenty. */
static void credit(int fd)
{
	while (write(fd, "c", 1) < 0 && errno == EINTR)
		;
}

static void report(uint32_t tag, int rc, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	struct stress_report r = {tag, rc, a, b, c, d, e};
	t_write_all(rep_fd, &r, sizeof r);
}

static int produce(const char *name, uint32_t policy, uint64_t count, int ready_fd, int dropped_fd)
{
	struct shmring_producer_options o = {STRESS_RING, 0, policy, 0};
	struct shmring_stream_info si;
	shmring_producer *p = NULL;
	struct shmring_stats st;
	static uint8_t buf[STRESS_RING];
	int64_t timeout = policy == SHMRING_POLICY_LOSSLESS ? 20 * 1000000000ll : 0;
	int signalled = 0, rc = 0;
	char b;

	CHECK_OK(shmring_producer_create(name, &o, &p));
	memset(&si, 0, sizeof si);
	si.caps = T_TEST_CAPS;
	CHECK_OK(shmring_producer_set_stream(p, &si));
	if (t_read_all(ready_fd, &b, 1) < 0)
		FAIL("consumer never attached");
	for (uint64_t seq = 0; seq < count; seq++) {
		size_t n = stress_size(seq);
		/* Flow control through the pipe, in drop-new and live only. */
		if (policy != SHMRING_POLICY_LOSSLESS && seq % 256 == 0 && seq >= CREDITS * 256)
			(void)t_read_all(ready_fd, &b, 1);
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
				t_pattern_fill(d, n, seq);
				rc = shmring_producer_commit(p, id, n, &m);
			}
		} else {
			t_pattern_fill(buf, n, seq);
			rc = shmring_producer_write(p, buf, n, &m, timeout);
		}
		if (rc == -ENOBUFS && policy != SHMRING_POLICY_LOSSLESS)
			rc = 0;
		if (rc < 0)
			break;
		if (!signalled && policy != SHMRING_POLICY_LOSSLESS) {
			CHECK_OK(shmring_producer_stats(p, &st));
			if (st.frames_dropped) {
				t_write_all(dropped_fd, "d", 1);
				signalled = 1;
			}
		}
	}
	if (rc == 0)
		rc = shmring_producer_eos(p, 20 * 1000000000ll);
	if (rc < 0)
		fprintf(stderr, "producer: %s\n", shmring_last_error());
	CHECK_OK(shmring_producer_stats(p, &st));
	report(REP_PRODUCER, rc, st.frames_written, st.frames_dropped, 0, 0, 0);
	shmring_producer_close(p);
	return rc < 0;
}

#define MAX_HELD 3

static int consume(const char *name, uint32_t policy, uint64_t count, int ready_fd, int dropped_fd,
		   uint64_t progress_at)
{
	shmring_consumer *c = NULL;
	struct shmring_frame held[MAX_HELD], f;
	int nheld = 0, paused = policy == SHMRING_POLICY_LOSSLESS, rc;
	uint64_t received = 0, gaps = 0, corrupt = 0, disorder = 0, expect = 0, first = UINT64_MAX;
	uint64_t credits = 0;
	char b;

	CHECK_OK(shmring_consumer_attach(name, 20 * 1000000000ll, &c));
	t_write_all(ready_fd, "r", 1);
	if (policy != SHMRING_POLICY_LOSSLESS)
		CHECK_EQ(fcntl(ready_fd, F_SETFL, O_NONBLOCK), 0);
	for (;;) {
		rc = shmring_consumer_next(c, &f, 0, 0);
		if (rc == -ETIMEDOUT) {
			/* Nothing queued: give back what is held before waiting
			 * (held frames could fill the ring and, in drop-new and
			 * live, have every new frame dropped). */
			for (int k = 0; k < nheld; k++) {
				if (t_pattern_check(held[k].data, held[k].size, held[k].seq))
					corrupt++;
				CHECK_OK(shmring_consumer_release(c, &held[k]));
			}
			nheld = 0;
			/* Idle: let the producer run ahead (frames it dropped
			 * earlier never reach the reader to earn credits). */
			if (policy != SHMRING_POLICY_LOSSLESS)
				credit(ready_fd);
			rc = shmring_consumer_next(c, &f, 20 * 1000000000ll, 0);
		}
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
		while (policy != SHMRING_POLICY_LOSSLESS && (credits + 1) * 256 <= f.seq) {
			credit(ready_fd);
			credits++;
		}
		if (f.size != stress_size(f.seq) || t_pattern_check(f.data, f.size, f.seq) ||
		    f.meta.pts != f.seq) {
			fprintf(stderr, "consumer: frame %llu of %llu bytes is corrupt\n",
				(unsigned long long)f.seq, (unsigned long long)f.size);
			corrupt++;
		}
		/* Hold up to MAX_HELD frames; release the oldest or a middle
		 * one (any order), checking it is still intact. */
		held[nheld++] = f;
		if (nheld == MAX_HELD || f.seq % 7 == 0) {
			int k = (f.seq % 2) ? 0 : nheld / 2;
			if (t_pattern_check(held[k].data, held[k].size, held[k].seq))
				corrupt++;
			CHECK_OK(shmring_consumer_release(c, &held[k]));
			held[k] = held[--nheld];
		}
		if (received == progress_at)
			report(REP_PROGRESS, 0, f.seq, received, 0, 0, 0);
		if (!paused && received >= count / 10) {
			/* Stop reading, holding nothing, until the producer drops. */
			for (int k = 0; k < nheld; k++) {
				if (t_pattern_check(held[k].data, held[k].size, held[k].seq))
					corrupt++;
				CHECK_OK(shmring_consumer_release(c, &held[k]));
			}
			nheld = 0;
			(void)t_read_all(dropped_fd, &b, 1);
			paused = 1;
		}
	}
	for (int k = 0; k < nheld; k++) {
		if (t_pattern_check(held[k].data, held[k].size, held[k].seq))
			corrupt++;
		CHECK_OK(shmring_consumer_release(c, &held[k]));
	}
	if (rc == -EOWNERDEAD) {
		report(REP_DEAD, rc, t_now(), received, corrupt, disorder, 0);
		shmring_consumer_close(c);
		return 0;
	}
	if (rc != 0)
		fprintf(stderr, "consumer: %d %s\n", rc, shmring_last_error());
	/* Frames dropped after the last one received. */
	if (count > expect)
		gaps += count - expect;
	report(REP_CONSUMER, rc, received, gaps, corrupt, disorder, first);
	shmring_consumer_close(c);
	return rc != 0;
}

int main(int argc, char **argv)
{
	int policy;
	uint64_t count;

	if (argc < 8) {
		fprintf(stderr, "usage: stress_peer produce|consume NAME POLICY COUNT REPORT_FD READY_FD DROPPED_FD [PROGRESS_AT]\n");
		return 2;
	}
	policy = shmring_policy_from_name(argv[3]);
	CHECK(policy >= 0);
	count = strtoull(argv[4], NULL, 10);
	rep_fd = atoi(argv[5]);
	if (!strcmp(argv[1], "produce"))
		return produce(argv[2], (uint32_t)policy, count, atoi(argv[6]), atoi(argv[7]));
	CHECK(argc == 9);
	return consume(argv[2], (uint32_t)policy, count, atoi(argv[6]), atoi(argv[7]),
		       strtoull(argv[8], NULL, 10));
}
