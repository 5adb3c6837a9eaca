/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_pollable.c: a reader attached with SHMRING_CONSUMER_POLLABLE is woken through poll() on
 * shmring_consumer_fd() for every frame of a paced producer, at the end of stream and when the
 * producer is killed; a plain reader beside it still gets every frame; a plain reader has no fd. */
#include "common.h"

#include <pthread.h>

static char chan[64], chan2[64];
static unsigned n_frames;

#define PACE_NS 4000000ll /* slower than a reader: it sleeps before nearly every frame */

/* The producer: waits for both readers, writes n_frames paced frames, the end of stream, closes. */
static int paced_producer(void *arg)
{
	(void)arg;
	shmring_producer *p = t_producer(chan, NULL);
	uint32_t changes = 0;
	while (shmring_producer_readers(p) < 2)
		if (shmring_producer_watch_readers(p, &changes, 10 * SEC, NULL) < 0)
			FAIL("the readers did not attach");
	for (uint64_t s = 0; s < n_frames; s++) {
		struct timespec ts = {0, PACE_NS};
		nanosleep(&ts, NULL);
		CHECK_OK(shmring_producer_write(p, &s, sizeof(s), NULL, 5 * SEC));
	}
	CHECK_OK(shmring_producer_eos(p, 5 * SEC));
	shmring_producer_close(p);
	return 0;
}

/* A producer that writes one frame, then waits to be killed. */
static int doomed_producer(void *arg)
{
	(void)arg;
	shmring_producer *p = t_producer(chan2, NULL);
	CHECK_OK(shmring_producer_wait_reader(p, 10 * SEC));
	uint64_t s = 0;
	CHECK_OK(shmring_producer_write(p, &s, sizeof(s), NULL, 5 * SEC));
	for (;;)
		pause();
	return 0;
}

/* Wait until fd is readable; a wake that does not come within 3 s fails. */
static void wait_readable(int fd, const char *what)
{
	struct pollfd pf = {fd, POLLIN, 0};
	int n = poll(&pf, 1, 3000);
	if (n < 0)
		FAIL("poll: %s", strerror(errno));
	if (n == 0)
		FAIL("the wake descriptor did not become readable for %s", what);
}

static void *plain_reader(void *arg)
{
	shmring_consumer *c = arg;
	struct shmring_frame f;
	uint64_t got = 0;
	int rc;
	while ((rc = shmring_consumer_next(c, &f, 10 * SEC, 0)) == 1) {
		CHECK_EQ(f.seq, got);
		CHECK_OK(shmring_consumer_release(c, &f));
		got++;
	}
	CHECK_EQ(rc, 0);
	if (got != n_frames)
		FAIL("the plain reader got %" PRIu64 " frames of %u", got, n_frames);
	return NULL;
}

int main(void)
{
	t_name(chan, sizeof(chan), "pollable");
	t_name(chan2, sizeof(chan2), "pollable-killed");
	n_frames = t_scale(300);

	/* Every frame and the end of stream, through poll() alone. */
	pid_t pid = t_spawn(paced_producer, NULL);
	struct shmring_consumer_options po = {0};
	po.mode = SHMRING_CONSUMER_POLLABLE;
	shmring_consumer *c, *plain;
	CHECK_OK(shmring_consumer_attach(chan, &po, 10 * SEC, &c));
	CHECK_OK(shmring_consumer_attach(chan, NULL, 10 * SEC, &plain));
	CHECK_EQ(shmring_consumer_fd(plain), -EINVAL);
	if (!strstr(shmring_last_error(), "SHMRING_CONSUMER_POLLABLE"))
		FAIL("the error does not name the option: %s", shmring_last_error());
	int fd = shmring_consumer_fd(c);
	CHECK(fd >= 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, plain_reader, plain), 0);
	uint64_t want = 0, polls = 0, worst = 0;
	for (;;) {
		struct shmring_frame f;
		int rc = shmring_consumer_next(c, &f, 0, 0);
		if (rc == 1) {
			CHECK_EQ(f.seq, want);
			uint64_t late = shmring_now_ns() - f.commit_ns;
			worst = late > worst ? late : worst;
			want++;
			CHECK_OK(shmring_consumer_release(c, &f));
			continue;
		}
		if (rc == 0)
			break;
		CHECK_EQ(rc, -ETIMEDOUT); /* armed: the next commit makes fd readable */
		wait_readable(fd, want < n_frames ? "a frame" : "the end of stream");
		polls++;
	}
	CHECK_EQ(want, n_frames);
	if (polls < n_frames / 2)
		FAIL("only %" PRIu64 " waits in poll() for %u paced frames", polls, n_frames);
	if (!RUNNING_ON_VALGRIND && worst >= 150000000ull)
		FAIL("a frame reached the pollable reader %.1f ms after its commit", (double)worst / 1e6);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(t_reap(pid), 0);
	/* Closed after the end of stream: still the end of stream. */
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), 0);
	shmring_consumer_close(plain);
	shmring_consumer_close(c);

	/* The producer killed while the reader sleeps in poll(). */
	pid = t_spawn(doomed_producer, NULL);
	CHECK_OK(shmring_consumer_attach(chan2, &po, 10 * SEC, &c));
	fd = shmring_consumer_fd(c);
	int rc;
	while ((rc = shmring_consumer_next(c, &f, 0, 0)) == -ETIMEDOUT)
		wait_readable(fd, "the first frame");
	CHECK_EQ(rc, 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), -ETIMEDOUT);
	kill(pid, SIGKILL);
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	wait_readable(fd, "the producer's death");
	CHECK_EQ(shmring_consumer_next(c, &f, 0, 0), -EOWNERDEAD);
	shmring_consumer_close(c);
	return 0;
}
