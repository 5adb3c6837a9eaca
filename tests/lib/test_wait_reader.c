/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wait_reader.c: shmring_producer_wait_reader() returns when a reader of another process attaches, gives -ETIMEDOUT without one and -EINTR when interrupted. */
#include "common.h"

#include <pthread.h>

static shmring_producer *p;
static char chan[64];
static struct gate go, done;
static pid_t waiter; /* thread id of the waiting thread */

static void *wait_reader(void *arg)
{
	__atomic_store_n(&waiter, gettid(), __ATOMIC_RELEASE);
	*(int *)arg = shmring_producer_wait_reader(p, (int64_t)t_scale(20) * SEC);
	return NULL;
}

/* The reader: attaches when told, reads the frame committed after the
 * producer saw it, and stays until told to close. */
static int reader(void *arg)
{
	(void)arg;
	gate_wait(&go, 20000);
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	struct shmring_frame f;
	CHECK_EQ(shmring_consumer_next(c, &f, 10 * SEC, 0), 1);
	CHECK_EQ(f.size, 64u);
	CHECK(frame_ok(f.data, f.size, 7));
	CHECK_OK(shmring_consumer_release(c, &f));
	gate_wait(&done, 20000);
	shmring_consumer_close(c);
	return 0;
}

int main(void)
{
	t_name(chan, sizeof(chan), "wait_reader");
	gate_init(&go);
	gate_init(&done);
	struct shmring_producer_options o = {.slot_size = 4096};
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));

	/* No reader: a zero timeout and a short one both end in -ETIMEDOUT. */
	CHECK_ERR(shmring_producer_wait_reader(p, 0), -ETIMEDOUT);
	CHECK_MSG(chan);
	CHECK_ERR(shmring_producer_wait_reader(p, SEC / 20), -ETIMEDOUT);

	/* Interrupted while asleep: -EINTR; after resume it waits again. */
	int rc = 1;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, wait_reader, &rc) == 0);
	t_wait_asleep(&waiter);
	shmring_producer_interrupt(p);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ(rc, -EINTR);
	shmring_producer_resume(p);
	CHECK_ERR(shmring_producer_wait_reader(p, 0), -ETIMEDOUT);

	/* A reader of another process attaches while the producer sleeps. */
	pid_t child = t_spawn(reader, NULL);
	rc = 1;
	__atomic_store_n(&waiter, 0, __ATOMIC_RELEASE);
	CHECK(pthread_create(&t, NULL, wait_reader, &rc) == 0);
	t_wait_asleep(&waiter);
	gate_post(&go, 'g');
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(shmring_producer_readers(p), 1);
	/* With a reader attached it returns at once, even with no time. */
	CHECK_OK(shmring_producer_wait_reader(p, 0));
	uint8_t b[64];
	fill_frame(b, sizeof(b), 7);
	CHECK_OK(shmring_producer_write(p, b, sizeof(b), NULL, SEC));
	gate_post(&done, 'd');
	CHECK_EQ(t_reap(child), 0);

	/* The reader left: no reader again (the door drops it when it
	 * sees the hang-up; wait for that with a deadline). */
	uint64_t t0 = t_now();
	while (shmring_producer_readers(p) != 0) {
		if (t_now() - t0 > 10ull * SEC)
			FAIL("the reader that closed is still counted");
		struct timespec ts = {0, 1000000}; /* the door's hang-up is not a futex word */
		nanosleep(&ts, NULL);
	}
	CHECK_ERR(shmring_producer_wait_reader(p, 0), -ETIMEDOUT);
	CHECK_ERR(shmring_producer_wait_reader(NULL, 0), -EINVAL);
	shmring_producer_close(p);
	CHECK(!t_leftover(chan));
	return 0;
}
