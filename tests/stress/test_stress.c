/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stress: one producer and one or several reader processes move 100,000 frames (SHMRING_STRESS_FRAMES) of varying sizes under each policy, or a producer or reader is killed mid-stream. */
#include "stress.h"

static const char *peer;

struct pipes {
	int rep[2], ready[2];
};

static pid_t spawn(char *const argv[])
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execv(peer, argv);
		perror(peer);
		_exit(127);
	}
	return pid;
}

static pid_t spawn_producer(const char *name, const char *policy, uint64_t count, unsigned readers,
			    const struct pipes *pp)
{
	char cnt[32], nr[16], rep[16], ready[16];
	snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)count);
	snprintf(nr, sizeof nr, "%u", readers);
	snprintf(rep, sizeof rep, "%d", pp->rep[1]);
	snprintf(ready, sizeof ready, "%d", pp->ready[0]);
	char *argv[] = {(char *)peer, "produce", (char *)name, (char *)policy, cnt, nr, rep, ready, NULL};
	return spawn(argv);
}

static pid_t spawn_reader(const char *name, uint64_t count, const struct pipes *pp,
			  uint64_t progress_at, int slow)
{
	char cnt[32], rep[16], ready[16], prog[32], sl[4];
	snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)count);
	snprintf(rep, sizeof rep, "%d", pp->rep[1]);
	snprintf(ready, sizeof ready, "%d", pp->ready[1]);
	snprintf(prog, sizeof prog, "%llu", (unsigned long long)progress_at);
	snprintf(sl, sizeof sl, "%d", slow);
	char *argv[] = {(char *)peer, "consume", (char *)name, cnt, rep, ready, prog, sl, NULL};
	return spawn(argv);
}

static void get_report(int fd, struct stress_report *r, uint32_t tag)
{
	if (t_read_all(fd, r, sizeof *r) < 0)
		FAIL("a peer exited without its '%c' report", tag);
	if (r->tag != tag)
		FAIL("expected report '%c', got '%c' (rc %d)", tag, r->tag, r->rc);
}

static void open_pipes(struct pipes *pp)
{
	CHECK_EQ(pipe(pp->rep), 0);
	CHECK_EQ(pipe(pp->ready), 0);
}

static void close_child_ends(struct pipes *pp)
{
	close(pp->rep[1]);
	close(pp->ready[0]);
	close(pp->ready[1]);
}

/* count frames to n readers under policy (the odd ones slow); every
 * frame is checked and accounted for. */
static void transfer(const char *policy, unsigned n, uint64_t count)
{
	char name[64];
	t_name(name, sizeof name, policy);
	struct pipes pp;
	struct stress_report pr = {0}, cr[SHMRING_MAX_READERS];
	pid_t prod, cons[SHMRING_MAX_READERS];
	uint64_t t0 = t_now();
	int lossless = !strcmp(policy, "lossless");

	open_pipes(&pp);
	prod = spawn_producer(name, policy, count, n, &pp);
	for (unsigned i = 0; i < n; i++)
		cons[i] = spawn_reader(name, count, &pp, 0, (int)(i % 2));
	close_child_ends(&pp);
	/* Reports arrive in any order. */
	unsigned nc = 0, np = 0;
	for (unsigned i = 0; i < n + 1; i++) {
		struct stress_report r;
		if (t_read_all(pp.rep[0], &r, sizeof r) < 0)
			FAIL("a peer exited without its report");
		if (r.tag == REP_PRODUCER) {
			pr = r;
			np++;
		} else {
			CHECK_EQ(r.tag, REP_CONSUMER);
			cr[nc++] = r;
		}
	}
	CHECK_EQ(np, 1);
	CHECK_EQ(t_wait(prod), 0);
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(t_wait(cons[i]), 0);
	close(pp.rep[0]);
	printf("%-9s %u reader(s), %llu frames, written %llu (%.1f s)\n", policy, n,
	       (unsigned long long)count, (unsigned long long)pr.a, (double)(t_now() - t0) / 1e9);
	CHECK_EQ(pr.rc, 0);
	CHECK_EQ(pr.a, count);
	for (unsigned i = 0; i < n; i++) {
		struct stress_report *c = &cr[i];
		printf("  reader: received %llu, missing %llu, corrupt %llu, out of order %llu\n",
		       (unsigned long long)c->a, (unsigned long long)c->b, (unsigned long long)c->c, (unsigned long long)c->d);
		CHECK_EQ(c->rc, 0);
		CHECK_EQ(c->c, 0); /* corrupt */
		CHECK_EQ(c->d, 0); /* sequence went backwards */
		CHECK_EQ(c->a + c->b, count);
		/* Every missing frame was counted as dropped once, and nothing
		 * else, by the last frame: the end of stream may push one more
		 * out of a full live or drop-new queue (it reaches every reader). */
		uint64_t dropped = c->f == pr.c ? pr.d : c->f == pr.e ? pr.f : UINT64_MAX;
		if (n <= 2) {
			printf("  the producer counted %llu dropped for it by the last frame\n",
			       (unsigned long long)dropped);
			CHECK(dropped != UINT64_MAX);
			CHECK(c->b == dropped || (!lossless && c->b == dropped + 1));
		}
		if (lossless)
			CHECK_EQ(c->b, 0);
	}
	CHECK(!t_leftover(name));
}

/* The producer is killed mid-stream: both readers report it. */
static void kill_producer(void)
{
	char name[64];
	t_name(name, sizeof name, "killprod");
	struct pipes pp;
	struct stress_report r;
	pid_t prod, cons[2];

	open_pipes(&pp);
	prod = spawn_producer(name, "lossless", UINT64_MAX / 2, 2, &pp);
	cons[0] = spawn_reader(name, UINT64_MAX / 2, &pp, stress_frames() / 5, 0);
	cons[1] = spawn_reader(name, UINT64_MAX / 2, &pp, 0, 1);
	close_child_ends(&pp);
	get_report(pp.rep[0], &r, REP_PROGRESS);
	uint64_t killed_at = t_now();
	CHECK_EQ(kill(prod, SIGKILL), 0);
	for (int i = 0; i < 2; i++) {
		get_report(pp.rep[0], &r, REP_DEAD);
		printf("producer killed: a reader was told after %.1f ms (%llu frames, %llu corrupt)\n",
		       (double)(r.a - killed_at) / 1e6, (unsigned long long)r.b, (unsigned long long)r.c);
		CHECK_EQ(r.rc, -EOWNERDEAD);
		CHECK_EQ(r.c, 0);
		CHECK_EQ(r.d, 0);
	}
	CHECK_EQ(t_wait(prod), 128 + SIGKILL);
	CHECK_EQ(t_wait(cons[0]), 0);
	CHECK_EQ(t_wait(cons[1]), 0);
	close(pp.rep[0]);
	CHECK(!t_leftover(name));
	/* A new producer takes the name at once. */
	shmring_producer *p;
	CHECK_OK(shmring_producer_create(name, NULL, &p));
	shmring_producer_close(p);
	CHECK(!t_leftover(name));
}

/* One of two lossless readers is killed mid-stream, holding frames: the
 * producer and the other reader go on to the end without losing a frame. */
static void kill_reader(uint64_t count)
{
	char name[64];
	t_name(name, sizeof name, "killreader");
	struct pipes pp;
	struct stress_report r, pr, cr;
	pid_t prod, victim, other;

	open_pipes(&pp);
	prod = spawn_producer(name, "lossless", count, 2, &pp);
	victim = spawn_reader(name, count, &pp, count / 5, 0);
	other = spawn_reader(name, count, &pp, 0, 1);
	close_child_ends(&pp);
	get_report(pp.rep[0], &r, REP_PROGRESS);
	uint64_t seen = r.a;
	CHECK_EQ(kill(victim, SIGKILL), 0);
	CHECK_EQ(t_wait(victim), 128 + SIGKILL);
	struct stress_report a, b;
	CHECK_EQ(t_read_all(pp.rep[0], &a, sizeof a), 0);
	CHECK_EQ(t_read_all(pp.rep[0], &b, sizeof b), 0);
	pr = a.tag == REP_PRODUCER ? a : b;
	cr = a.tag == REP_PRODUCER ? b : a;
	CHECK_EQ(pr.tag, REP_PRODUCER);
	CHECK_EQ(cr.tag, REP_CONSUMER);
	CHECK_EQ(t_wait(prod), 0);
	CHECK_EQ(t_wait(other), 0);
	close(pp.rep[0]);
	printf("reader killed after frame %llu; the other received %llu, missing %llu, corrupt %llu\n",
	       (unsigned long long)seen, (unsigned long long)cr.a, (unsigned long long)cr.b,
	       (unsigned long long)cr.c);
	CHECK_EQ(pr.rc, 0);
	CHECK_EQ(pr.a, count);
	CHECK_EQ(cr.rc, 0);
	CHECK_EQ(cr.a, count);
	CHECK_EQ(cr.b, 0);
	CHECK_EQ(cr.c, 0);
	CHECK_EQ(cr.d, 0);
	CHECK(!t_leftover(name));
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: test_stress PEER lossless|drop-new|live [READERS] | kill-producer | kill-reader\n");
		return 2;
	}
	peer = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[2], "kill-producer"))
		kill_producer();
	else if (!strcmp(argv[2], "kill-reader"))
		kill_reader(stress_frames());
	else
		transfer(argv[2], argc == 4 ? (unsigned)atoi(argv[3]) : 1, stress_frames());
	return 0;
}
