/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cross_peer.c: a C producer and reader (libshmring) for the cross-language tests with the Python package. */
/*
 * cross_peer produce NAME FRAMES READERS [live]
 *     Create channel NAME (lossless, or live), print "ready", wait (10 s at
 *     most) for READERS readers, write FRAMES GRAY8 64x48 frames with the
 *     pattern below and seq-derived metadata, then EOS, close, print "done".
 *     A write that waits more than 100 ms prints "blocked" once; one that
 *     waits 5 s fails the program.
 * cross_peer consume NAME [poll]
 *     Attach, read to end of stream checking every frame, print
 *     "read N lost M bad B".  With poll: attach pollable, wait for frames
 *     only in poll() on shmring_consumer_fd() (5 s at most each), and
 *     print "polls P" first.
 * Frame seq s, byte i: (s * 7 + i * 13) & 0xff.  pts = s * 1000 + 1,
 * dts = s * 1000 (odd s: none), duration 33, flags = s & 0xff.
 */
#include <shmring/shmring.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define W 64
#define H 48
#define SEC 1000000000ll

static uint8_t pattern(uint64_t seq, uint64_t i)
{
	return (uint8_t)((seq * 7 + i * 13) & 0xff);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "cross_peer: %s: %d (%s)\n", what, rc, shmring_last_error());
	return 1;
}

static int produce(const char *name, unsigned frames, int readers, int live)
{
	struct shmring_producer_options o = {0};
	o.policy = live ? SHMRING_POLICY_LIVE : SHMRING_POLICY_LOSSLESS;
	o.slot_size = 4096;
	shmring_producer *p;
	int rc = shmring_producer_create(name, &o, &p);
	if (rc < 0)
		return die("create", rc);
	struct shmring_stream_info si = {
		.caps = "video/x-raw, format=(string)GRAY8, width=(int)64, height=(int)48, "
			"framerate=(fraction)30/1",
		.format = "GRAY8", .width = W, .height = H, .fps_n = 30, .fps_d = 1, .n_planes = 1,
		.frame_size = W * H, .plane_offset = {0}, .plane_stride = {W}};
	rc = shmring_producer_set_stream(p, &si);
	if (rc < 0)
		return die("set_stream", rc);
	printf("ready\n");
	fflush(stdout);
	uint64_t until = now_ns() + 10 * SEC;
	while (shmring_producer_readers(p) < readers) {
		if (now_ns() > until)
			return die("waiting for readers", -ETIMEDOUT);
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	static uint8_t buf[W * H];
	int blocked = 0;
	for (uint64_t s = 0; s < frames; s++) {
		for (uint64_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(s, i);
		struct shmring_meta m = {s * 1000 + 1, s % 2 ? SHMRING_NO_TIME : s * 1000, 33, (uint32_t)(s & 0xff)};
		int tries = 0;
		while ((rc = shmring_producer_write(p, buf, sizeof(buf), &m, SEC / 10)) == -ETIMEDOUT) {
			if (!blocked++) {
				printf("blocked\n");
				fflush(stdout);
			}
			if (++tries == 50)
				return die("write (waited 5 s)", rc);
		}
		if (rc < 0 && rc != -ENOBUFS)
			return die("write", rc);
	}
	rc = shmring_producer_eos(p, 5 * SEC);
	if (rc < 0)
		return die("eos", rc);
	shmring_producer_close(p);
	printf("done\n");
	fflush(stdout);
	return 0;
}

/* The next frame, waiting in poll() alone (W5): a wake that does not come is -ETIMEDOUT. */
static int next_polled(shmring_consumer *c, struct shmring_frame *f, uint64_t *polls)
{
	int rc;
	while ((rc = shmring_consumer_next(c, f, 0, 0)) == -ETIMEDOUT) {
		struct pollfd pf = {shmring_consumer_fd(c), POLLIN, 0};
		if (poll(&pf, 1, 5000) != 1)
			return -ETIMEDOUT;
		++*polls;
	}
	return rc;
}

static int consume(const char *name, int polled)
{
	shmring_consumer *c;
	struct shmring_consumer_options o = {0};
	o.mode = polled ? SHMRING_CONSUMER_POLLABLE : 0;
	int rc = shmring_consumer_attach(name, &o, 10 * SEC, &c);
	if (rc < 0)
		return die("attach", rc);
	uint64_t n = 0, lost = 0, bad = 0, expect = 0, polls = 0;
	struct shmring_frame f;
	while ((rc = polled ? next_polled(c, &f, &polls) : shmring_consumer_next(c, &f, 10 * SEC, 0)) == 1) {
		const uint8_t *d = f.data;
		lost += f.seq - expect;
		expect = f.seq + 1;
		int ok = f.size == W * H && f.meta.pts == f.seq * 1000 + 1;
		for (uint64_t i = 0; ok && i < f.size; i++)
			ok = d[i] == pattern(f.seq, i);
		bad += !ok;
		n++;
		shmring_consumer_release(c, &f);
	}
	if (rc < 0)
		return die("next", rc);
	shmring_consumer_close(c);
	if (polled)
		printf("polls %llu\n", (unsigned long long)polls);
	printf("read %llu lost %llu bad %llu\n", (unsigned long long)n, (unsigned long long)lost,
	       (unsigned long long)bad);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "produce"))
		return produce(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]),
			       argc > 5 && !strcmp(argv[5], "live"));
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "consume"))
		return consume(argv[2], argc == 4 && !strcmp(argv[3], "poll"));
	fprintf(stderr, "usage: cross_peer produce NAME FRAMES READERS [live] | cross_peer consume NAME [poll]\n");
	return 2;
}
