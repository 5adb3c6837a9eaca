/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_kill_producers.c: producers SIGKILLed at random moments (creating, producing, closing): readers learn it within a second, nothing remains, the name is free at once. */
#include "common.h"

static char chan[64];
static struct gate up, down; /* producer to test, test to producer */
static uint64_t seed;

/* Creates, says so, waits for the go, writes frames, ends the stream, closes, waits. */
static int producer(void *arg)
{
	(void)arg;
	struct shmring_producer_options o = {.slot_size = 4096, .policy = SHMRING_POLICY_LIVE};
	shmring_producer *p = t_producer(chan, &o);
	gate_post(&up, 'p');
	gate_wait(&down, 10000);
	uint8_t buf[256];
	for (uint64_t s = 0; s < 200; s++) {
		fill_frame(buf, sizeof(buf), s);
		CHECK_OK(shmring_producer_write(p, buf, sizeof(buf), NULL, 0));
	}
	CHECK_OK(shmring_producer_eos(p, 0));
	shmring_producer_close(p);
	pause();
	return 1;
}

static void random_delay(void)
{
	struct timespec ts = {0, (long)(t_next(&seed) % 2000000)}; /* when the kill lands */
	nanosleep(&ts, NULL);
}

/* Read until the channel ends; the end must come within a second of the kill. */
static void read_to_end(shmring_consumer *c, uint64_t killed_at)
{
	struct shmring_frame f;
	int rc;
	uint64_t want = 0;
	while ((rc = shmring_consumer_next(c, &f, 5 * SEC, 0)) == 1) {
		CHECK(f.seq >= want && frame_ok(f.data, f.size, f.seq));
		want = f.seq + 1;
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK(rc == -EOWNERDEAD || rc == 0); /* died, or closed after EOS before the kill */
	CHECK(t_now() - killed_at < (uint64_t)SEC);
}

int main(void)
{
	t_name(chan, sizeof(chan), "kill-producers");
	seed = (uint64_t)getpid() * 2654435761u + 1;
	gate_init(&up);
	gate_init(&down);
	unsigned rounds = t_scale(200), attached = 0;
	for (unsigned k = 0; k < rounds; k++) {
		pid_t pid = t_spawn(producer, NULL);
		shmring_consumer *c = NULL;
		if (k % 2) { /* with a reader: kill while producing or closing */
			CHECK_EQ(gate_wait(&up, 10000), 'p');
			CHECK_OK(shmring_consumer_attach(chan, NULL, 5 * SEC, &c));
			attached++;
		}
		gate_post(&down, 'g');
		random_delay();
		kill(pid, SIGKILL);
		uint64_t killed_at = t_now();
		int st;
		CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
		if (c) {
			read_to_end(c, killed_at);
			shmring_consumer_close(c);
		}
		CHECK(!t_leftover(chan));
		shmring_producer *p; /* the name is free at once */
		CHECK_OK(shmring_producer_create(chan, NULL, &p));
		shmring_producer_close(p);
		for (int g = 0; g < 2; g++) { /* what a killed producer left unread or unsent */
			int fd = g ? down.fd[0] : up.fd[0];
			struct pollfd pf = {fd, POLLIN, 0};
			char b;
			while (poll(&pf, 1, 0) == 1 && read(fd, &b, 1) == 1) {
			}
		}
	}
	fprintf(stderr, "%u producers killed, %u with a reader\n", rounds, attached);
	return 0;
}
