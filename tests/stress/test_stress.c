/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stress: two processes move 100,000 frames (SHMRING_STRESS_FRAMES) of varying sizes under each policy, or one of them is killed mid-stream. */
#include "stress.h"

static const char *peer;

struct pipes {
	int rep[2], ready[2], dropped[2];
};

static pid_t spawn(const char *role, const char *name, const char *policy, uint64_t count,
		   const struct pipes *pp, uint64_t progress_at)
{
	char cnt[32], rep[16], ready[16], dropped[16], prog[32];
	pid_t pid;
	int is_prod = !strcmp(role, "produce");

	snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)count);
	snprintf(rep, sizeof rep, "%d", pp->rep[1]);
	/* The consumer writes ready and reads dropped; the producer the
	 * other way round. */
	snprintf(ready, sizeof ready, "%d", is_prod ? pp->ready[0] : pp->ready[1]);
	snprintf(dropped, sizeof dropped, "%d", is_prod ? pp->dropped[1] : pp->dropped[0]);
	snprintf(prog, sizeof prog, "%llu", (unsigned long long)progress_at);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl(peer, peer, role, name, policy, cnt, rep, ready, dropped, prog, (char *)NULL);
		perror(peer);
		_exit(127);
	}
	return pid;
}

static void get_report(int fd, struct stress_report *r, uint32_t tag)
{
	if (t_read_all(fd, r, sizeof *r) < 0)
		FAIL("peer exited without its '%c' report", tag);
	if (r->tag != tag)
		FAIL("expected report '%c', got '%c' (rc %d)", tag, r->tag, r->rc);
}

static void open_pipes(struct pipes *pp)
{
	CHECK_EQ(pipe(pp->rep), 0);
	CHECK_EQ(pipe(pp->ready), 0);
	CHECK_EQ(pipe(pp->dropped), 0);
}

static void close_child_ends(struct pipes *pp)
{
	close(pp->rep[1]);
	close(pp->ready[0]);
	close(pp->ready[1]);
	close(pp->dropped[0]);
	close(pp->dropped[1]);
}

/* Transfer count frames under policy; check every frame is accounted for. */
static void transfer(const char *policy, uint64_t count)
{
	const char *name = t_channel(policy);
	struct pipes pp;
	struct stress_report pr, cr;
	pid_t prod, cons;
	uint64_t t0 = t_now();

	open_pipes(&pp);
	cons = spawn("consume", name, policy, count, &pp, 0);
	prod = spawn("produce", name, policy, count, &pp, 0);
	close_child_ends(&pp);
	/* Reports arrive in either order. */
	{
		struct stress_report a, b;
		CHECK_EQ(t_read_all(pp.rep[0], &a, sizeof a), 0);
		CHECK_EQ(t_read_all(pp.rep[0], &b, sizeof b), 0);
		pr = a.tag == REP_PRODUCER ? a : b;
		cr = a.tag == REP_PRODUCER ? b : a;
		CHECK_EQ(pr.tag, REP_PRODUCER);
		CHECK_EQ(cr.tag, REP_CONSUMER);
	}
	CHECK_EQ(t_wait(prod), 0);
	CHECK_EQ(t_wait(cons), 0);
	close(pp.rep[0]);
	printf("%-9s %llu frames: received %llu, missing %llu, written %llu, dropped %llu, corrupt %llu, "
	       "out of order %llu (%.1f s)\n",
	       policy, (unsigned long long)count, (unsigned long long)cr.a, (unsigned long long)cr.b,
	       (unsigned long long)pr.a, (unsigned long long)pr.b, (unsigned long long)cr.c,
	       (unsigned long long)cr.d, (double)(t_now() - t0) / 1e9);
	CHECK_EQ(pr.rc, 0);
	CHECK_EQ(cr.rc, 0);
	CHECK_EQ(cr.c, 0); /* corrupt */
	CHECK_EQ(cr.d, 0); /* sequence went backwards */
	CHECK_EQ(cr.a + cr.b, count);
	/* Every missing frame is in the drop counter, and nothing else is. */
	CHECK_EQ(cr.b, pr.b);
	if (!strcmp(policy, "lossless")) {
		CHECK_EQ(cr.b, 0);
		CHECK_EQ(pr.a, count);
	} else {
		CHECK(pr.b > 0); /* the consumer paused until the first drop */
	}
	if (!strcmp(policy, "drop-new"))
		CHECK_EQ(pr.a + pr.b, count);
	CHECK_NO_LEFTOVER(name);
}

/* The producer is killed mid-stream: the reader reports it within 1 s. */
static void kill_producer(void)
{
	const char *name = t_channel("killprod");
	struct pipes pp;
	struct stress_report r;
	pid_t prod, cons;
	uint64_t killed_at;

	open_pipes(&pp);
	cons = spawn("consume", name, "lossless", UINT64_MAX / 2, &pp, stress_frames() / 5);
	prod = spawn("produce", name, "lossless", UINT64_MAX / 2, &pp, 0);
	close_child_ends(&pp);
	get_report(pp.rep[0], &r, REP_PROGRESS);
	killed_at = t_now();
	CHECK_EQ(kill(prod, SIGKILL), 0);
	get_report(pp.rep[0], &r, REP_DEAD);
	CHECK_EQ(t_wait(prod), 128 + SIGKILL);
	CHECK_EQ(t_wait(cons), 0);
	close(pp.rep[0]);
	printf("producer killed after %llu frames: reader told after %.1f ms, %llu corrupt\n",
	       (unsigned long long)r.b, (double)(r.a - killed_at) / 1e6, (unsigned long long)r.c);
	CHECK(r.a > killed_at);
	CHECK(r.a - killed_at < 1000000000ull);
	CHECK_EQ(r.c, 0);
	CHECK_EQ(r.d, 0);
	/* The dead producer's segment is replaced by the next producer. */
	CHECK(t_exists(name));
	shmring_producer_close(t_producer(name, 4096, SHMRING_POLICY_LOSSLESS));
	CHECK_NO_LEFTOVER(name);
}

/* The reader is killed mid-stream (holding frames): a new reader takes
 * over and the producer finishes without losing a frame after that. */
static void kill_reader(uint64_t count)
{
	const char *name = t_channel("killreader");
	struct pipes pp, pp2;
	struct stress_report r, pr, cr;
	pid_t prod, cons, cons2;
	uint64_t seen;

	open_pipes(&pp);
	cons = spawn("consume", name, "lossless", count, &pp, count / 5);
	prod = spawn("produce", name, "lossless", count, &pp, 0);
	get_report(pp.rep[0], &r, REP_PROGRESS);
	seen = r.a;
	CHECK_EQ(kill(cons, SIGKILL), 0);
	CHECK_EQ(t_wait(cons), 128 + SIGKILL);

	/* The new reader reports on its own pipe. */
	open_pipes(&pp2);
	cons2 = spawn("consume", name, "lossless", count, &pp2, 0);
	close_child_ends(&pp2);
	get_report(pp2.rep[0], &cr, REP_CONSUMER);
	CHECK_EQ(t_wait(cons2), 0);
	close_child_ends(&pp);
	get_report(pp.rep[0], &pr, REP_PRODUCER);
	CHECK_EQ(t_wait(prod), 0);
	close(pp.rep[0]);
	close(pp2.rep[0]);
	printf("reader killed after frame %llu; new reader from frame %llu: received %llu, corrupt %llu\n",
	       (unsigned long long)seen, (unsigned long long)cr.e, (unsigned long long)cr.a,
	       (unsigned long long)cr.c);
	CHECK_EQ(pr.rc, 0);
	CHECK_EQ(pr.a, count);
	CHECK_EQ(pr.b, 0);
	CHECK_EQ(cr.rc, 0);
	CHECK(cr.e > seen);
	/* From its first frame on, the new reader missed nothing. */
	CHECK_EQ(cr.b, cr.e);
	CHECK_EQ(cr.a, count - cr.e);
	CHECK_EQ(cr.c, 0);
	CHECK_EQ(cr.d, 0);
	CHECK_NO_LEFTOVER(name);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_stress PEER lossless|drop-new|live|kill-producer|kill-reader\n");
		return 2;
	}
	peer = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[2], "kill-producer"))
		kill_producer();
	else if (!strcmp(argv[2], "kill-reader"))
		kill_reader(stress_frames());
	else
		transfer(argv[2], stress_frames());
	return 0;
}
