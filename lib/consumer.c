/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* consumer.c: the reader (connect, take, release, wait) and observer (inspect). */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FIRST_RETRY_NS 5000000ull
#define LAST_RETRY_NS 100000000ull
#define ANSWER_MS 5000

struct shmring_consumer {
	char name[SHMRING_NAME_MAX + 1];
	int sock;
	struct pool_map m;
	int block_fd;
	struct shmring_block *b;
	uint32_t index, holds, mode, qlen, n_slots;

	pthread_mutex_t lock; /* held[] and the hold slots, for release from any thread */
	uint64_t held_mask;
	uint32_t n_held;
	/* Entries taken together with an earlier one (batch) and not handed
	 * out yet, oldest first: each sits in its hold like a frame held. */
	int batch; /* take every queued entry there are holds for (not live) */
	uint64_t ready_mask;
	uint32_t ready_slot[SHMRING_HOLDS_MAX], ready_hold[SHMRING_HOLDS_MAX];
	uint32_t ready_first, ready_n;

	struct shmring_desc desc[SHMRING_DESC_SLOTS];
	uint32_t last_desc;
	uint64_t last_seq, frames_read, frames_dropped;
	int have_seq;
	int ended; /* latched error or 1 for "closed after EOS" */

	struct shmring_cancel stop; /* fired by interrupt(), reset by resume() */
	uint64_t hup_checked; /* when channel_end() last polled the socket */
	uint32_t sleeps;      /* W1: the waiting value of this sleep, never 0 */
	int wake_fd;          /* W5: the reader's end of its wake pair, or -1 */
	int wake_eof;         /* W5: the producer's end closed (the hang-up) */
};

/* How often a reader that finds its queue empty looks for a hang-up. */
#define HUP_CHECK_NS 10000000ull

/* Connect to the channel's socket, retrying until the deadline while
 * nobody listens on the name. */
static int connect_channel(const char *name, uint64_t deadline, struct shmring_cancel *stop)
{
	struct sockaddr_un a;
	int alen = _shmring_address(name, &a);
	uint64_t start = _shmring_now(), backoff = FIRST_RETRY_NS;
	for (;;) {
		uint32_t iv = __atomic_load_n(&stop->word, __ATOMIC_ACQUIRE);
		int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s < 0)
			return fail(errno, "socket: %s", strerror(errno));
		if (connect(s, (struct sockaddr *)&a, (socklen_t)alen) == 0)
			return s;
		int e = errno;
		close(s);
		if (e != ECONNREFUSED && e != ENOENT && e != EAGAIN)
			return fail(e, "channel '%s': connect: %s", name, strerror(e));
		if (__atomic_load_n(&stop->fired, __ATOMIC_ACQUIRE))
			return fail(EINTR, "interrupted while waiting for channel '%s'", name);
		uint64_t now = _shmring_now();
		if (now >= deadline)
			return fail(ENOENT, "channel '%s' has no producer (waited %.1f s); start the "
				    "producer or check the name", name, (double)(now - start) / 1e9);
		_shmring_nap(&stop->word, iv, now + backoff < deadline ? now + backoff : deadline);
		backoff = backoff * 2 < LAST_RETRY_NS ? backoff * 2 : LAST_RETRY_NS;
	}
}

/* A REFUSED message's errno is data from the peer, never one of the
 * caller's own control codes (EINTR, ETIMEDOUT, EAGAIN, ...): the codes
 * the protocol defines pass, anything else is a protocol error that names
 * it.  Returns the negative code, with the message set. */
static int peer_refused(const char *name, struct shmring_msg_refused *r)
{
	r->message[sizeof(r->message) - 1] = '\0';
	switch (r->error) {
	case EBUSY:
	case EACCES:
	case EPROTO:
	case ENOSPC:
	case ENOMEM:
		return fail((int)r->error, "%s", r->message);
	default:
		return fail(EPROTO, "channel '%s': the producer refused with error %u, not one the "
			    "protocol defines: %s", name, r->error, r->message);
	}
}

/* Wait for the producer's answer to HELLO: WELCOME with nfds_want
 * descriptors, or REFUSED (its error and message). */
static int answer(const char *name, int s, struct shmring_msg_welcome *w, int *fds, int nfds_want)
{
	union {
		struct shmring_msg_welcome w;
		struct shmring_msg_refused r;
	} u;
	/* A live producer answers at once, whatever the caller's timeout
	 * (which is for the producer to appear). */
	struct pollfd pf = {s, POLLIN, 0};
	if (poll(&pf, 1, ANSWER_MS) <= 0)
		return fail(ETIMEDOUT, "channel '%s': the producer did not answer within %d ms", name,
			    ANSWER_MS);
	int nfds;
	int n = _shmring_recv(s, &u, sizeof(u), fds, 3, &nfds);
	if (n == (int)sizeof(u.r) && u.r.type == SHMRING_MSG_REFUSED && u.r.size == sizeof(u.r) &&
	    nfds == 0)
		return peer_refused(name, &u.r);
	if (n == (int)sizeof(u.w) && u.w.type == SHMRING_MSG_WELCOME && u.w.size == sizeof(u.w) &&
	    nfds == nfds_want && u.w.version == SHMRING_VERSION) {
		*w = u.w;
		return 0;
	}
	while (nfds > 0)
		close(fds[--nfds]);
	if (n < 0 && n != -EBADMSG) /* gone (closing or died): the caller waits for the next */
		return fail(ECONNRESET, "channel '%s': the producer hung up without answering", name);
	return fail(EBADMSG, "channel '%s': the producer answered HELLO with an invalid message",
		    name);
}

/* Whether the process serving the name may be this reader's producer:
 * this uid or root, or what o trusts.  Anyone can bind an abstract name
 * before the real producer; its frames would be taken as the channel's.
 * -EPERM naming the uid and the setting that would trust it. */
static int trusted(const char *name, int s, const struct shmring_consumer_options *o)
{
	struct ucred cr = {0, 0, 0};
	socklen_t cl = sizeof(cr);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		return fail(errno, "channel '%s': who serves it: %s", name, strerror(errno));
	uid_t me = geteuid();
	if (cr.uid == 0 || cr.uid == me)
		return 0;
	if (o && (o->trust & SHMRING_TRUST_UID) && cr.uid == o->producer_uid)
		return 0;
	if (o && (o->trust & SHMRING_TRUST_GID)) {
		if (cr.gid == o->producer_gid)
			return 0;
		gid_t groups[64];
		socklen_t len = sizeof(groups);
		if (getsockopt(s, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			for (size_t i = 0; i < len / sizeof(gid_t); i++)
				if (groups[i] == o->producer_gid)
					return 0;
	}
	return fail(EPERM, "channel '%s' is served by uid %u (pid %d), not by this user (uid %u) or "
		    "root: not trusted as its producer (anyone can take a channel's name first); to "
		    "trust it, set producer-user=%u (or producer-group=) on shmringsrc, producer_uid=%u "
		    "in Python, SHMRING_TRUST_UID in C", name, (unsigned)cr.uid, (int)cr.pid,
		    (unsigned)me, (unsigned)cr.uid, (unsigned)cr.uid);
}

/* Connect, check who serves the name (a reader), say HELLO, read the
 * answer: the socket, or -errno. */
static int hello_once(const char *name, const struct shmring_msg_hello *h,
		      const struct shmring_consumer_options *o, uint64_t deadline,
		      struct shmring_cancel *stop, struct shmring_msg_welcome *w, int *fds)
{
	int s = connect_channel(name, deadline, stop);
	if (s < 0)
		return s;
	if (h->role == SHMRING_ROLE_READER) {
		int rc = trusted(name, s, o);
		if (rc < 0) {
			close(s);
			return rc;
		}
	}
	int rc = _shmring_send(s, h, sizeof(*h), NULL, 0);
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
		close(s);
		return fail(-rc, "channel '%s': sending HELLO: %s", name, strerror(-rc));
	}
	int want = h->role != SHMRING_ROLE_READER ? 1 : (h->flags & SHMRING_HELLO_WAKE_FD) ? 3 : 2;
	rc = answer(name, s, w, fds, want);
	if (rc < 0) {
		close(s);
		return rc;
	}
	return s;
}

/* Connect, say HELLO (as role, with o), read the answer; a producer that
 * hangs up without answering (it was closing or died) is waited out like
 * an absent one, until the deadline. */
static int hello(const char *name, uint32_t role, const struct shmring_consumer_options *o,
		 uint64_t deadline, struct shmring_cancel *stop, struct shmring_msg_welcome *w,
		 int *fds)
{
	uint32_t mode = o ? o->mode : 0;
	struct shmring_msg_hello h = {SHMRING_MSG_HELLO, sizeof(h), SHMRING_VERSION, role,
				       o ? o->holds : 0, mode & ~SHMRING_CONSUMER_POLLABLE,
				       (mode & SHMRING_CONSUMER_POLLABLE) ? SHMRING_HELLO_WAKE_FD : 0};
	uint64_t backoff = FIRST_RETRY_NS;
	for (;;) {
		uint32_t iv = __atomic_load_n(&stop->word, __ATOMIC_ACQUIRE);
		int s = hello_once(name, &h, o, deadline, stop, w, fds);
		uint64_t now = _shmring_now();
		if (s != -ECONNRESET)
			return s;
		if (now >= deadline)
			return fail(ENOENT, "channel '%s' has no producer: it went away while this "
				    "reader attached; start the producer", name);
		_shmring_nap(&stop->word, iv, now + backoff < deadline ? now + backoff : deadline);
		backoff = backoff * 2 < LAST_RETRY_NS ? backoff * 2 : LAST_RETRY_NS;
	}
}

/* Map what WELCOME gave, check it against the pool's identity. */
static int map_welcome(shmring_consumer *c, const struct shmring_msg_welcome *w, int *fds)
{
	int rc = _shmring_pool_open(&c->m, fds[0], c->name);
	fds[0] = -1;
	if (rc < 0)
		return rc;
	c->block_fd = fds[1];
	fds[1] = -1;
	c->wake_fd = fds[2];
	fds[2] = -1;
	rc = _shmring_block_open(c->block_fd, c->name, &c->b);
	if (rc < 0)
		return rc;
	const struct shmring_pool_header *id = &c->m.id;
	if (w->pool_size != id->pool_size || w->generation != id->generation ||
	    w->index >= id->max_readers || w->holds < 1 || w->holds > id->max_holds ||
	    w->mode > SHMRING_MODE_LIVE)
		return fail(EBADMSG, "channel '%s': WELCOME does not match the pool", c->name);
	c->index = w->index;
	c->holds = w->holds;
	c->mode = w->mode;
	/* A live reader takes one entry at a time: the producer pushes its
	 * oldest entries out, which entries taken early would pin. */
	c->batch = w->mode != SHMRING_MODE_LIVE && id->policy != SHMRING_POLICY_LIVE;
	c->qlen = id->queue_len;
	c->n_slots = id->n_slots;
	return 0;
}

void shmring_cancel_fire(struct shmring_cancel *cancel)
{
	if (!cancel)
		return;
	__atomic_store_n(&cancel->fired, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&cancel->word, 1, __ATOMIC_SEQ_CST);
	_shmring_wake(&cancel->word, 1);
}

void shmring_cancel_reset(struct shmring_cancel *cancel)
{
	if (cancel)
		__atomic_store_n(&cancel->fired, 0, __ATOMIC_RELEASE);
}

int shmring_consumer_attach(const char *name, const struct shmring_consumer_options *opts,
			     int64_t timeout_ns, shmring_consumer **out)
{
	return shmring_consumer_attach_cancel(name, opts, timeout_ns, NULL, out);
}

int shmring_consumer_attach_cancel(const char *name, const struct shmring_consumer_options *opts,
				    int64_t timeout_ns, struct shmring_cancel *cancel, shmring_consumer **out)
{
	if (!out)
		return fail(EINVAL, "NULL output handle");
	*out = NULL;
	int rc = _shmring_check_name(name);
	if (rc < 0)
		return rc;
	if (opts && (opts->mode & ~SHMRING_CONSUMER_POLLABLE) > SHMRING_MODE_LIVE)
		return fail(EINVAL, "unknown reader mode %u", opts->mode);
	if (cancel && __atomic_load_n(&cancel->fired, __ATOMIC_ACQUIRE))
		return fail(EINTR, "attaching to channel '%s': cancelled", name);
	shmring_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return fail(ENOMEM, "out of memory");
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->m.fd = c->block_fd = c->wake_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	struct shmring_msg_welcome w;
	int fds[3] = {-1, -1, -1};
	c->sock = hello(name, SHMRING_ROLE_READER, opts, _shmring_deadline(timeout_ns),
			cancel ? cancel : &c->stop, &w, fds);
	rc = c->sock < 0 ? c->sock : map_welcome(c, &w, fds);
	if (rc < 0) {
		char why[SHMRING_ERROR_MAX];
		snprintf(why, sizeof(why), "%s", _shmring_error());
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		shmring_consumer_close(c);
		return fail(-rc, "%s", why);
	}
	*out = c;
	return 0;
}

/* Latch a fatal error: every later call returns it. */
static int latch(shmring_consumer *c, int rc)
{
	c->ended = rc;
	return rc;
}

static int frame_desc(shmring_consumer *c, uint32_t id, struct shmring_frame *f)
{
	unsigned k = id % SHMRING_DESC_SLOTS;
	if (c->desc[k].id != id) {
		struct shmring_desc tmp;
		int rc = _shmring_read_desc(&c->m, id, c->name, &tmp);
		if (rc < 0)
			return rc;
		c->desc[k] = tmp;
	}
	f->desc = &c->desc[k];
	f->desc_changed = id != c->last_desc;
	c->last_desc = id;
	return 0;
}

/* Validate a private copy of slot s's header and fill *f. */
static int check_slot(shmring_consumer *c, uint32_t s, struct shmring_frame *f)
{
	struct shmring_slot sl;
	memcpy(&sl, pool_slot(&c->m, s), sizeof(sl));
	if ((sl.type != SHMRING_SLOT_FRAME && sl.type != SHMRING_SLOT_EOS) || sl.reserved ||
	    sl.size > c->m.id.slot_size || (sl.type == SHMRING_SLOT_EOS && sl.size) ||
	    (sl.flags & ~SHMRING_FLAGS_ALL))
		return fail(EBADMSG, "channel '%s': slot %u header is invalid (type %u, size %llu)",
			    c->name, s, sl.type, (unsigned long long)sl.size);
	if (sl.type == SHMRING_SLOT_EOS)
		return 0;
	if (c->have_seq && sl.seq <= c->last_seq)
		return fail(EBADMSG, "channel '%s': frame seq %llu after %llu", c->name,
			    (unsigned long long)sl.seq, (unsigned long long)c->last_seq);
	/* Description 0 is none: the private copy of an unused slot is
	 * zeroed, never checked. */
	if (sl.desc_id == 0)
		return fail(EBADMSG, "channel '%s': frame seq %llu names description 0 (none)", c->name,
			    (unsigned long long)sl.seq);
	int rc = frame_desc(c, sl.desc_id, f);
	if (rc < 0)
		return rc;
	if (f->desc->n_planes && sl.size < f->desc->frame_size)
		return fail(EBADMSG, "channel '%s': frame of %llu bytes, its description needs %llu",
			    c->name, (unsigned long long)sl.size,
			    (unsigned long long)f->desc->frame_size);
	c->frames_dropped += c->have_seq ? sl.seq - c->last_seq - 1 : 0;
	c->last_seq = sl.seq;
	c->have_seq = 1;
	f->data = pool_payload(&c->m, s);
	f->size = sl.size;
	f->seq = sl.seq;
	f->meta = (struct shmring_meta){sl.pts, sl.dts, sl.duration, sl.flags};
	f->commit_ns = sl.commit_ns;
	f->_slot = s;
	return 1;
}

static uint32_t free_hold(const shmring_consumer *c)
{
	for (uint32_t k = 0; k < c->holds; k++)
		if (!((c->held_mask | c->ready_mask) >> k & 1))
			return k;
	return UINT32_MAX;
}

static uint32_t free_holds(const shmring_consumer *c)
{
	return c->holds - (uint32_t)__builtin_popcountll(c->held_mask | c->ready_mask);
}

/* T1 for the entry at head h (lock held), without W4's wake (the caller
 * does it once for the entries it takes).  1: taken into hold k, 0: the
 * producer pushed it out first (look again). */
static int take_entry(shmring_consumer *c, uint64_t h, uint32_t k, uint32_t *slot)
{
	uint32_t s = __atomic_load_n(&c->b->queue[h % c->qlen], __ATOMIC_RELAXED);
	if (s >= c->n_slots)
		return fail(EBADMSG, "channel '%s': queue entry %llu names slot %u of %u", c->name,
			    (unsigned long long)h, s, c->n_slots);
	/* Release: pairs with the producer's acquire load of holds (P3). */
	__atomic_store_n(&c->b->holds[k], s, __ATOMIC_RELEASE);
	/* acq_rel: pairs with the producer's CAS (P2) and its acquire load of head (P3). */
	if (!__atomic_compare_exchange_n(&c->b->head, &h, h + 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&c->b->holds[k], SHMRING_SLOT_NONE, __ATOMIC_RELEASE);
		return 0;
	}
	/* W4: seq_cst add (the load of producer_waiting follows the last). */
	__atomic_add_fetch(&c->b->taken, 1, __ATOMIC_SEQ_CST);
	*slot = s;
	return 1;
}

/* W4's end, once after the entries taken: seq_cst load of
 * producer_waiting after the seq_cst adds (pairs with W3). */
static void wake_producer(shmring_consumer *c)
{
	if (__atomic_load_n(&c->m.h->producer_waiting, __ATOMIC_SEQ_CST))
		_shmring_wake(&c->b->taken, 0);
}

/* The oldest entry taken and not handed out: its hold, and its slot in *s. */
static uint32_t pop_ready(shmring_consumer *c, uint32_t *s)
{
	uint32_t k = c->ready_hold[c->ready_first];
	*s = c->ready_slot[c->ready_first];
	c->ready_first = (c->ready_first + 1) % SHMRING_HOLDS_MAX;
	c->ready_n--;
	c->ready_mask &= ~(1ull << k);
	return k;
}

/* Hand out the oldest entry taken and not handed out.  1 frame, 2 EOS, <0. */
static int deliver(shmring_consumer *c, struct shmring_frame *f)
{
	uint32_t s, k = pop_ready(c, &s);
	int rc = check_slot(c, s, f);
	if (rc <= 0) {
		__atomic_store_n(&c->b->holds[k], SHMRING_SLOT_NONE, __ATOMIC_RELEASE);
		return rc < 0 ? rc : 2;
	}
	c->held_mask |= 1ull << k;
	c->n_held++;
	f->_hold = k;
	return 1;
}

/* SHMRING_NEXT_LATEST: entries taken early are skipped (their holds given
 * back; the seq gap counts them as dropped). */
static void drop_ready(shmring_consumer *c)
{
	while (c->ready_n) {
		uint32_t s, k = pop_ready(c, &s);
		/* Release (R1): pairs with the producer's acquire load of holds (P3). */
		__atomic_store_n(&c->b->holds[k], SHMRING_SLOT_NONE, __ATOMIC_RELEASE);
	}
}

/* Take up to m entries from head h into free holds, in order (the first
 * may fail: 0, look again).  Entries taken wait in the ready list. */
static int take_entries(shmring_consumer *c, uint64_t h, uint32_t m)
{
	uint32_t got = 0;
	for (; got < m; got++) {
		uint32_t k = free_hold(c), s = 0;
		int rc = take_entry(c, h + got, k, &s);
		if (rc <= 0) {
			if (got == 0)
				return rc; /* an error about a later entry comes when it is the first */
			break;
		}
		uint32_t at = (c->ready_first + c->ready_n) % SHMRING_HOLDS_MAX;
		c->ready_slot[at] = s;
		c->ready_hold[at] = k;
		c->ready_n++;
		c->ready_mask |= 1ull << k;
	}
	wake_producer(c);
	return 1;
}

/* A tail older than head is stale (the producer pushed entries and moved
 * head on between the two loads) while the producer makes progress:
 * looked at again while its commit_seq moves, up to a second, or up to
 * STALE_TAIL_MAX times in a row without progress; then the queue is taken
 * for corrupt.  A reader far slower than its producer (an emulator, a
 * loaded machine) sees a stale tail many times in a row. */
#define STALE_TAIL_MAX 1000u
#define STALE_TAIL_NS 1000000000ull

/* Take the next entry (lock held).  1 frame, 0 queue empty, 2 EOS, <0. */
static int take(shmring_consumer *c, unsigned flags, struct shmring_frame *f)
{
	uint64_t stale_since = 0;
	uint32_t seen = 0, still = 0;
	if (c->ready_n) {
		if (!(flags & SHMRING_NEXT_LATEST))
			return deliver(c, f);
		drop_ready(c);
	}
	for (;;) {
		/* Acquire: pairs with the producer's release store of tail (P1). */
		uint64_t t = __atomic_load_n(&c->b->tail, __ATOMIC_ACQUIRE);
		uint64_t h = __atomic_load_n(&c->b->head, __ATOMIC_ACQUIRE);
		if (h == t)
			return 0;
		if (t < h) {
			uint32_t seq = __atomic_load_n(&c->m.h->commit_seq, __ATOMIC_ACQUIRE);
			uint64_t now = _shmring_now();
			if (!stale_since || seq != seen) {
				stale_since = stale_since ? stale_since : now;
				seen = seq;
				still = 0;
			}
			if (++still < STALE_TAIL_MAX && now - stale_since < STALE_TAIL_NS)
				continue;
		}
		if (t < h || t - h > c->qlen)
			return fail(EBADMSG, "channel '%s': queue tail %llu, head %llu (length %u)",
				    c->name, (unsigned long long)t, (unsigned long long)h, c->qlen);
		uint32_t nfree = free_holds(c);
		if (nfree == 0)
			return fail(ENOBUFS, "channel '%s': this reader holds %u frames, its most; "
				    "release one first", c->name, c->holds);
		if ((flags & SHMRING_NEXT_LATEST) && t - h > 1) {
			/* Skip to the newest: the skipped entries are not held. */
			__atomic_compare_exchange_n(&c->b->head, &h, t - 1, 0, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
			continue;
		}
		/* Every queued entry there are holds for, at once: a lossless
		 * producer waiting for room is woken once for all of them. */
		uint32_t m = 1;
		if (c->batch && !(flags & SHMRING_NEXT_LATEST))
			m = t - h < nfree ? (uint32_t)(t - h) : nfree;
		int rc = take_entries(c, h, m);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		return deliver(c, f);
	}
}

/* Nothing queued: has the channel ended?  0 no, else what next() returns. */
static int channel_end(shmring_consumer *c)
{
	/* The hang-up (a death, or this reader disconnected) is looked at
	 * once per HUP_CHECK_NS at most: a reader that keeps up finds its
	 * queue empty at every frame, and a poll() each time would cost a
	 * system call per frame.  A clean close is seen in the state. */
	struct pollfd pf = {c->sock, POLLIN, 0};
	uint64_t now = _shmring_now();
	int hup = 0;
	if (c->wake_eof || now - c->hup_checked >= HUP_CHECK_NS) {
		c->hup_checked = now;
		hup = poll(&pf, 1, 0) > 0;
	}
	/* W5: end of file on the wake descriptor is the hang-up, whichever
	 * of the producer's descriptors the kernel closed first. */
	hup |= c->wake_eof;
	if (hup && (pf.revents & POLLIN)) {
		/* After WELCOME the producer may only say why it disconnects
		 * this reader (REFUSED, then a hang-up): a protocol error
		 * whatever errno it names.  Anything else is named too, not
		 * taken for a death. */
		struct shmring_msg_refused r;
		int fds[1], nfds;
		int n = _shmring_recv(c->sock, &r, sizeof(r), fds, 0, &nfds);
		if (n == (int)sizeof(r) && r.type == SHMRING_MSG_REFUSED && r.size == sizeof(r)) {
			r.message[sizeof(r.message) - 1] = '\0';
			return latch(c, fail(EPROTO, "%s", r.message));
		}
		if (n == -EBADMSG)
			return latch(c, fail(EPROTO, "channel '%s': the producer sent an invalid message "
					     "after WELCOME (carrying descriptors, or longer than any "
					     "message)", c->name));
		if (n > 0)
			return latch(c, fail(EPROTO, "channel '%s': the producer sent an unexpected "
					     "message (%d bytes, type %u) after WELCOME", c->name, n,
					     n >= (int)sizeof(uint32_t) ? r.type : 0u));
	}
	/* Acquire: pairs with the producer's release store of state (S1),
	 * loaded after the hang-up so that a clean close is not taken for a death. */
	uint32_t st = __atomic_load_n(&c->m.h->state, __ATOMIC_ACQUIRE);
	/* Entries pushed after take() found the queue empty, and before the
	 * close or death seen here, are read first.  Acquire: pairs with P1;
	 * after the state's acquire, so every push before the close is seen. */
	if ((hup || st != SHMRING_STATE_OPEN) &&
	    __atomic_load_n(&c->b->tail, __ATOMIC_ACQUIRE) != __atomic_load_n(&c->b->head, __ATOMIC_ACQUIRE))
		return 0;
	if (st == SHMRING_STATE_CLOSED)
		return __atomic_load_n(&c->m.h->eos, __ATOMIC_RELAXED)
			       ? latch(c, 1)
			       : latch(c, fail(ESHUTDOWN, "channel '%s': the producer closed without "
					       "end of stream", c->name));
	if (st != SHMRING_STATE_OPEN)
		return latch(c, fail(EBADMSG, "channel '%s': pool state %u", c->name, st));
	if (hup)
		return latch(c, fail(EOWNERDEAD, "channel '%s': the producer died", c->name));
	return 0;
}

/* A new waiting value for each sleep, never 0 and below 2^31 (two
 * threads may wait at once); bit 31 says where the reader sleeps (W5). */
static uint32_t sleep_value(shmring_consumer *c)
{
	uint32_t g;
	do
		g = __atomic_add_fetch(&c->sleeps, 1, __ATOMIC_RELAXED) & ~SHMRING_WAITING_FD;
	while (g == 0);
	return g;
}

/* W5: arm the wake descriptor (nothing was taken after commit_seq was v):
 * read its bytes, then publish waiting as W1 does and look at tail once
 * more.  1 if the caller must look again (an entry arrived, or end of
 * file: the hang-up), 0 if a commit from now on makes it readable. */
static int arm(shmring_consumer *c, uint32_t v)
{
	char buf[64];
	ssize_t n;
	while ((n = recv(c->wake_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
	}
	if (n == 0 && !c->wake_eof) {
		c->wake_eof = 1;
		return 1;
	}
	/* Relaxed: published by the seq_cst (release) store of waiting. */
	__atomic_store_n(&c->b->sleep_seq, v, __ATOMIC_RELAXED);
	/* seq_cst store, then seq_cst load of tail: pairs with W2. */
	__atomic_store_n(&c->b->waiting, sleep_value(c) | SHMRING_WAITING_FD, __ATOMIC_SEQ_CST);
	uint64_t t = __atomic_load_n(&c->b->tail, __ATOMIC_SEQ_CST);
	uint64_t h = __atomic_load_n(&c->b->head, __ATOMIC_RELAXED);
	if (t == h)
		return 0;
	__atomic_store_n(&c->b->waiting, 0, __ATOMIC_RELAXED);
	return 1;
}

/* W1: sleep on commit_seq (value v, loaded before the last look). */
static void wait_commit(shmring_consumer *c, uint32_t v, uint32_t iv, uint64_t deadline)
{
	/* seq_cst store, then seq_cst load of tail: pairs with W2. */
	uint32_t g = sleep_value(c);
	/* Relaxed: published by the seq_cst (release) store of waiting. */
	__atomic_store_n(&c->b->sleep_seq, v, __ATOMIC_RELAXED);
	__atomic_store_n(&c->b->waiting, g, __ATOMIC_SEQ_CST);
	uint64_t t = __atomic_load_n(&c->b->tail, __ATOMIC_SEQ_CST);
	uint64_t h = __atomic_load_n(&c->b->head, __ATOMIC_RELAXED);
	if (t == h) {
		uint32_t *w = &c->m.h->commit_seq;
		_shmring_wait(&w, &v, 1, &c->stop.word, iv, deadline);
	}
	__atomic_store_n(&c->b->waiting, 0, __ATOMIC_RELAXED);
}

static int next_locked(shmring_consumer *c, struct shmring_frame *f, uint64_t deadline,
		       unsigned flags)
{
	for (;;) {
		uint32_t iv = __atomic_load_n(&c->stop.word, __ATOMIC_ACQUIRE);
		/* Acquire: pairs with the producer's seq_cst add (W2). */
		uint32_t v = __atomic_load_n(&c->m.h->commit_seq, __ATOMIC_ACQUIRE);
		int rc = take(c, flags, f);
		if (rc == 1)
			c->frames_read++;
		if (rc == 2)
			return 0;
		if (rc != 0)
			return rc == -EBADMSG ? latch(c, rc) : rc;
		rc = channel_end(c);
		if (rc)
			return rc == 1 ? 0 : rc;
		if (__atomic_load_n(&c->stop.fired, __ATOMIC_ACQUIRE))
			return fail(EINTR, "channel '%s': interrupted", c->name);
		if (_shmring_now() >= deadline) {
			/* A pollable reader arms its descriptor whenever it
			 * says "no frame" (W5). */
			if (c->wake_fd >= 0 && arm(c, v))
				continue;
			return fail(ETIMEDOUT, "channel '%s': no frame in time", c->name);
		}
		pthread_mutex_unlock(&c->lock);
		wait_commit(c, v, iv, deadline);
		pthread_mutex_lock(&c->lock);
	}
}

int shmring_consumer_next(shmring_consumer *c, struct shmring_frame *f, int64_t timeout_ns,
			   unsigned flags)
{
	if (!c || !f)
		return fail(EINVAL, "NULL argument");
	pthread_mutex_lock(&c->lock);
	int rc = c->ended == 1 ? 0
		 : c->ended	 ? fail(-c->ended, "channel '%s' has ended: %s", c->name,
					strerror(-c->ended))
				 : next_locked(c, f, _shmring_deadline(timeout_ns), flags);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int shmring_consumer_release(shmring_consumer *c, const struct shmring_frame *f)
{
	if (!c || !f)
		return fail(EINVAL, "NULL argument");
	pthread_mutex_lock(&c->lock);
	uint32_t k = f->_hold;
	int ok = k < c->holds && (c->held_mask >> k & 1);
	if (ok) {
		/* R1: release, pairs with the producer's acquire load of holds (P3). */
		__atomic_store_n(&c->b->holds[k], SHMRING_SLOT_NONE, __ATOMIC_RELEASE);
		c->held_mask &= ~(1ull << k);
		c->n_held--;
	}
	pthread_mutex_unlock(&c->lock);
	return ok ? 0 : fail(EINVAL, "channel '%s': that frame is not held", c->name);
}

int shmring_consumer_fd(shmring_consumer *c)
{
	if (!c)
		return fail(EINVAL, "NULL argument");
	if (c->wake_fd < 0)
		return fail(EINVAL, "channel '%s': this reader has no wake descriptor: attach it with "
			    "SHMRING_CONSUMER_POLLABLE in the options' mode", c->name);
	return c->wake_fd;
}

unsigned shmring_consumer_held(shmring_consumer *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	unsigned n = c->n_held;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static int current_desc(const struct pool_map *m, const char *name, struct shmring_desc *out)
{
	/* Acquire: pairs with the producer's release store of desc_id (D1). */
	int rc = 0;
	for (int attempt = 0; attempt < 3; attempt++) { /* a rewrite in between: look again */
		uint32_t id = __atomic_load_n(&m->h->desc_id, __ATOMIC_ACQUIRE);
		if (id == 0)
			return fail(ENODATA, "channel '%s' has no stream description yet", name);
		rc = _shmring_read_desc(m, id, name, out);
		if (rc == 0 || __atomic_load_n(&m->h->desc_id, __ATOMIC_ACQUIRE) == id)
			return rc;
	}
	return rc;
}

int shmring_consumer_current_desc(shmring_consumer *c, struct shmring_desc *out)
{
	if (!c || !out)
		return fail(EINVAL, "NULL argument");
	return current_desc(&c->m, c->name, out);
}

void shmring_consumer_interrupt(shmring_consumer *c)
{
	if (!c)
		return;
	shmring_cancel_fire(&c->stop);
	if (c->m.h)
		_shmring_wake(&c->m.h->commit_seq, 0);
}

void shmring_consumer_resume(shmring_consumer *c)
{
	if (c)
		shmring_cancel_reset(&c->stop);
}

int shmring_consumer_stats(shmring_consumer *c, struct shmring_stats *st)
{
	if (!c || !st)
		return fail(EINVAL, "NULL argument");
	_shmring_fill_stats(&c->m, st);
	pthread_mutex_lock(&c->lock);
	st->frames_read = c->frames_read;
	st->frames_dropped = c->frames_dropped;
	st->held = c->n_held;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void shmring_consumer_close(shmring_consumer *c)
{
	if (!c)
		return;
	if (c->b)
		munmap(c->b, SHMRING_BLOCK_SIZE);
	if (c->block_fd >= 0)
		close(c->block_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	_shmring_pool_close(&c->m);
	if (c->sock >= 0)
		close(c->sock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int shmring_inspect(const char *name, struct shmring_stats *st, struct shmring_desc *desc)
{
	if (!st)
		return fail(EINVAL, "NULL argument");
	int rc = _shmring_check_name(name);
	if (rc < 0)
		return rc;
	struct shmring_cancel never = {0, 0};
	struct shmring_msg_welcome w;
	int fd = -1;
	int s = hello(name, SHMRING_ROLE_OBSERVER, NULL, _shmring_deadline(0), &never, &w, &fd);
	if (s < 0)
		return s;
	close(s);
	struct pool_map m;
	rc = _shmring_pool_open(&m, fd, name);
	if (rc == 0 && (w.pool_size != m.id.pool_size || w.generation != m.id.generation))
		rc = fail(EBADMSG, "channel '%s': WELCOME does not match the pool", name);
	if (rc == 0) {
		_shmring_fill_stats(&m, st);
		if (desc && current_desc(&m, name, desc) < 0)
			memset(desc, 0, sizeof(*desc));
	}
	_shmring_pool_close(&m);
	return rc;
}
