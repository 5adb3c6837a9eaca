/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_interrupt.c: a reader waiting for a frame, a lossless producer waiting for a reader, and an attach waiting for an absent producer are woken by interrupt or cancel (-EINTR). */
#include "common.h"

#include <pthread.h>

static shmring_consumer *c;
static shmring_producer *p;
static pid_t waiter; /* thread id of the waiting thread */

static void *wait_frame(void *arg)
{
	__atomic_store_n(&waiter, gettid(), __ATOMIC_RELEASE);
	struct shmring_frame f;
	*(int *)arg = shmring_consumer_next(c, &f, SHMRING_FOREVER, 0);
	return NULL;
}

static struct shmring_cancel cancel;
static char absent[64];

static void *wait_attach(void *arg)
{
	__atomic_store_n(&waiter, gettid(), __ATOMIC_RELEASE);
	shmring_consumer *none = NULL;
	*(int *)arg = shmring_consumer_attach_cancel(absent, NULL, SHMRING_FOREVER, &cancel, &none);
	CHECK(none == NULL);
	return NULL;
}

static void *wait_room(void *arg)
{
	__atomic_store_n(&waiter, gettid(), __ATOMIC_RELEASE);
	uint8_t b[8] = {0};
	*(int *)arg = shmring_producer_write(p, b, sizeof(b), NULL, SHMRING_FOREVER);
	return NULL;
}

/* Run fn in a thread, interrupt with stop once the thread sleeps; the
 * thread must return -EINTR at once (under valgrind, which has no
 * futex_waitv, within the 200 ms slice). */
static void interrupt(void *(*fn)(void *), void (*stop)(void))
{
	int rc = 1;
	pthread_t t;
	__atomic_store_n(&waiter, 0, __ATOMIC_RELEASE);
	CHECK(pthread_create(&t, NULL, fn, &rc) == 0);
	t_wait_asleep(&waiter);
	uint64_t t0 = t_now();
	stop();
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ(rc, -EINTR);
	CHECK(t_now() - t0 < (RUNNING_ON_VALGRIND ? (uint64_t)SEC : (uint64_t)SEC / 10));
}

static void stop_consumer(void)
{
	shmring_consumer_interrupt(c);
}

static void stop_attach(void)
{
	shmring_cancel_fire(&cancel);
}

static void stop_producer(void)
{
	shmring_producer_interrupt(p);
}

int main(void)
{
	char chan[64];
	t_name(chan, sizeof(chan), "interrupt");
	struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 1};
	CHECK_OK(shmring_producer_create(chan, &o, &p));
	struct shmring_stream_info si;
	t_opaque(&si, "application/x-test");
	CHECK_OK(shmring_producer_set_stream(p, &si));
	CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
	interrupt(wait_frame, stop_consumer);
	shmring_consumer_resume(c);
	uint8_t b[8] = {0};
	CHECK_OK(shmring_producer_write(p, b, sizeof(b), NULL, SEC)); /* the queue is full now */
	interrupt(wait_room, stop_producer);
	shmring_producer_resume(p);
	struct shmring_frame f; /* both handles work after resume */
	CHECK_EQ(shmring_consumer_next(c, &f, SEC, 0), 1);
	CHECK_OK(shmring_consumer_release(c, &f));
	CHECK_OK(shmring_producer_write(p, b, sizeof(b), NULL, SEC));

	/* An attach waiting for a producer that never comes ends when the
	 * token fires; a fired token ends the next at once, until reset. */
	t_name(absent, sizeof(absent), "interrupt-absent");
	interrupt(wait_attach, stop_attach);
	shmring_consumer *c2 = NULL;
	CHECK_ERR(shmring_consumer_attach_cancel(chan, NULL, SHMRING_FOREVER, &cancel, &c2), -EINTR);
	CHECK(c2 == NULL);
	shmring_cancel_reset(&cancel);
	CHECK_OK(shmring_consumer_attach_cancel(chan, NULL, 5 * SEC, &cancel, &c2));
	shmring_consumer_close(c2);
	shmring_consumer_close(c);
	shmring_producer_close(p);
	return 0;
}
