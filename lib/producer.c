/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* producer.c: the producer: the pool, reservations, commits into every reader's queue. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_SLOT_SIZE (4ull << 20)

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

/* The pool's identity from the options, checked. */
static int make_identity(const char *name, const struct shmring_producer_options *o,
			 struct shmring_pool_header *id)
{
	memset(id, 0, sizeof(*id));
	id->max_readers = or_default(o->max_readers, 4);
	id->queue_len = or_default(o->queue_len, o->policy == SHMRING_POLICY_LOSSLESS ? 8 : 2);
	id->max_holds = or_default(o->max_holds, 3);
	id->max_reserved = or_default(o->max_reserved, 2);
	id->policy = o->policy;
	if (id->max_readers > SHMRING_MAX_READERS || id->queue_len > SHMRING_QUEUE_MAX ||
	    id->max_holds > SHMRING_HOLDS_MAX || id->max_reserved > SHMRING_RESERVED_MAX)
		return fail(EINVAL, "channel '%s': limits out of range (max_readers <= %u, queue_len "
			    "<= %u, max_holds <= %u, max_reserved <= %u)", name, SHMRING_MAX_READERS,
			    SHMRING_QUEUE_MAX, SHMRING_HOLDS_MAX, SHMRING_RESERVED_MAX);
	if (o->policy > SHMRING_POLICY_LIVE)
		return fail(EINVAL, "unknown flow policy %u (use lossless, drop-new or live)", o->policy);
	uint64_t slot = round_up(o->slot_size ? o->slot_size : DEFAULT_SLOT_SIZE, SHMRING_SLOT_ALIGN);
	if (slot > SHMRING_MAX_SLOT_SIZE)
		return fail(EINVAL, "channel '%s': slot size %llu is over the %llu-byte limit", name,
			    (unsigned long long)o->slot_size, SHMRING_MAX_SLOT_SIZE);
	id->magic = SHMRING_MAGIC;
	id->version = SHMRING_VERSION;
	id->header_size = SHMRING_HEADER_SIZE;
	id->slot_size = slot;
	id->n_slots = pool_slots_needed(id);
	id->slot_table_offset = SHMRING_SLOT_TABLE_OFFSET;
	id->payload_offset = SHMRING_SLOT_TABLE_OFFSET +
			     round_up((uint64_t)id->n_slots * SHMRING_SLOT_HEADER_SIZE, SHMRING_SLOT_ALIGN);
	id->pool_size = id->payload_offset + (uint64_t)id->n_slots * slot;
	if (id->pool_size > SHMRING_MAX_POOL_SIZE)
		return fail(EINVAL, "channel '%s': %u slots of %llu bytes is over the %llu-byte limit; "
			    "use fewer readers, a shorter queue or fewer holds", name, id->n_slots,
			    (unsigned long long)slot, SHMRING_MAX_POOL_SIZE);
	id->generation = _shmring_now() ^ ((uint64_t)getpid() << 32);
	id->block_size = SHMRING_BLOCK_SIZE;
	id->desc_offset = SHMRING_DESC_OFFSET;
	id->desc_slot_size = SHMRING_DESC_SLOT_SIZE;
	id->desc_slots = SHMRING_DESC_SLOTS;
	id->reader_lines_offset = SHMRING_READER_LINES_OFFSET;
	return 0;
}

static int setup(shmring_producer *p, const char *name, const struct shmring_producer_options *o)
{
	struct shmring_pool_header id;
	int rc = make_identity(name, o, &id);
	if (rc < 0)
		return rc;
	p->policy = id.policy;
	p->n_slots = id.n_slots;
	p->queue_len = id.queue_len;
	p->max_holds = id.max_holds;
	p->max_readers = id.max_readers;
	p->max_reserved = id.max_reserved;
	p->share = o->share;
	p->share_uid = o->share_uid;
	p->share_gid = o->share_gid;
	p->slot_desc = calloc(id.n_slots, sizeof(*p->slot_desc));
	p->pinned = calloc((id.n_slots + 63) / 64, sizeof(*p->pinned));
	if (!p->slot_desc || !p->pinned)
		return fail(ENOMEM, "out of memory");
	rc = _shmring_door_bind(p);
	if (rc < 0)
		return rc;
	rc = _shmring_pool_create(&p->m, name, &id);
	if (rc < 0)
		return rc;
	struct shmring_pool_header *h = p->m.h;
	h->state = SHMRING_STATE_OPEN;
	h->producer_pid = (uint32_t)getpid();
	rc = _shmring_pool_seal(&p->m, name);
	if (rc < 0)
		return rc;
	return _shmring_door_start(p);
}

int shmring_producer_create(const char *name, const struct shmring_producer_options *opts,
			     shmring_producer **out)
{
	static const struct shmring_producer_options defaults;
	if (!out)
		return fail(EINVAL, "NULL output handle");
	*out = NULL;
	int rc = _shmring_check_name(name);
	if (rc < 0)
		return rc;
	shmring_producer *p = calloc(1, sizeof(*p));
	if (!p)
		return fail(ENOMEM, "out of memory");
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->m.fd = p->listen_fd = p->wake_fd = -1;
	p->uid = geteuid();
	pthread_mutex_init(&p->lock, NULL);
	rc = setup(p, name, opts ? opts : &defaults);
	if (rc < 0) {
		char why[SHMRING_ERROR_MAX];
		snprintf(why, sizeof(why), "%s", _shmring_error());
		shmring_producer_close(p);
		return fail(-rc, "%s", why);
	}
	*out = p;
	return 0;
}

int shmring_producer_set_stream(shmring_producer *p, const struct shmring_stream_info *info)
{
	if (!p)
		return fail(EINVAL, "stream description needs a producer");
	uint32_t id = p->desc_counter + 1 ? p->desc_counter + 1 : 1;
	struct shmring_desc d;
	int rc = _shmring_make_desc(&d, id, info, p->name);
	if (rc < 0)
		return rc;
	p->pending = d;
	p->desc_counter = id;
	p->have_pending = 1;
	return 0;
}

void _shmring_break(shmring_producer *p, struct reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->broken = 1;
	uint64_t one = 1;
	if (write(p->wake_fd, &one, sizeof(one)) < 0) {
		/* the eventfd counter is full: the door is awake anyway */
	}
}

/* The reader's head (P3: acquire, first), checked against the private
 * truth.  0, or -1 after breaking the reader. */
static int load_head(shmring_producer *p, struct reader *r, uint64_t *out)
{
	/* Acquire: pairs with the reader's CAS of head (T1). */
	uint64_t h = __atomic_load_n(&r->b->head, __ATOMIC_ACQUIRE);
	if (h < r->head || h > r->tail) {
		_shmring_break(p, r, "head %llu outside [%llu, %llu]", (unsigned long long)h,
				(unsigned long long)r->head, (unsigned long long)r->tail);
		return -1;
	}
	r->head = h;
	*out = h;
	return 0;
}

#define SET_BIT(bits, i) ((bits)[(i) / 64] |= 1ull << ((i) % 64))
#define HAS_BIT(bits, i) (((bits)[(i) / 64] >> ((i) % 64)) & 1u)

/* Mark every slot reader r may pin: queued entries [head, tail), then
 * its holds (P3: head first, then holds). */
static void pin_reader(shmring_producer *p, struct reader *r)
{
	uint64_t h;
	if (load_head(p, r, &h) < 0)
		return;
	for (uint64_t i = h; i < r->tail; i++)
		SET_BIT(p->pinned, r->q[i % p->queue_len]);
	for (uint32_t k = 0; k < r->holds; k++) {
		/* Acquire: pairs with the reader's release stores of holds (T1, R1). */
		uint32_t s = __atomic_load_n(&r->b->holds[k], __ATOMIC_ACQUIRE);
		if (s == SHMRING_SLOT_NONE)
			continue;
		if (s >= p->n_slots) {
			_shmring_break(p, r, "holds[%u] = %u, not a slot (%u slots)", k, s, p->n_slots);
			return;
		}
		SET_BIT(p->pinned, s);
	}
}

static void collect_pins(shmring_producer *p)
{
	memset(p->pinned, 0, (p->n_slots + 63) / 64 * sizeof(*p->pinned));
	for (uint32_t i = 0; i < p->max_readers; i++)
		if (p->r[i].active && !p->r[i].broken)
			pin_reader(p, &p->r[i]);
	for (uint32_t i = 0; i < p->max_reserved; i++)
		if (p->resv[i].used)
			SET_BIT(p->pinned, p->resv[i].slot);
}

/* 1 if a pinned slot or a reservation still names the description that
 * the pending description would overwrite (D1). */
static int desc_slot_busy(shmring_producer *p)
{
	uint32_t id = p->pending.id;
	for (uint32_t s = 0; s < p->n_slots; s++) {
		uint32_t d = p->slot_desc[s];
		if (HAS_BIT(p->pinned, s) && d && d != id && d % SHMRING_DESC_SLOTS == id % SHMRING_DESC_SLOTS)
			return 1;
	}
	for (uint32_t i = 0; i < p->max_reserved; i++) {
		uint32_t d = p->resv[i].desc_id;
		if (p->resv[i].used && d != id && d % SHMRING_DESC_SLOTS == id % SHMRING_DESC_SLOTS)
			return 1;
	}
	return 0;
}

static void publish_desc(shmring_producer *p)
{
	struct shmring_desc *slot = pool_desc(&p->m, p->pending.id);
	__atomic_store_n(&slot->id, 0, __ATOMIC_RELAXED);
	/* Release fence: the 0 is visible before any new byte (pairs with
	 * the reader's acquire fence and second load of the id, D1). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((uint8_t *)slot + 4, (const uint8_t *)&p->pending + 4, sizeof(*slot) - 4);
	/* Release: pairs with the reader's acquire load of the slot id (D1). */
	__atomic_store_n(&slot->id, p->pending.id, __ATOMIC_RELEASE);
	__atomic_store_n(&p->m.h->desc_id, p->pending.id, __ATOMIC_RELEASE);
	p->cur_desc = p->pending.id;
	p->have_pending = 0;
}

/* Reservations whose slot is pinned: the max_reserved limit. */
static uint32_t outstanding(const shmring_producer *p)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->max_reserved; i++)
		n += (uint32_t)p->resv[i].used;
	return n;
}

/* Reservations that claimed room in the lossless queues at reserve time
 * and are not committed yet: a frame published now must leave them that
 * room.  Lent reservations claim theirs at their commit. */
static uint32_t claimed(const shmring_producer *p)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->max_reserved; i++)
		n += (uint32_t)(p->resv[i].used && !p->resv[i].lent && !p->resv[i].committed);
	return n;
}

/* Full lossless readers (no room for one more frame after the room
 * claimed by reservations): their taken words and the values loaded
 * (W3), and who they are.  A lossless reader with room has not held the
 * producer back: its stall time starts again from zero. */
static unsigned full_lossless(shmring_producer *p, uint32_t **words, uint32_t *vals,
			      struct reader **who)
{
	unsigned n = 0;
	uint64_t extra = claimed(p) + 1;
	for (uint32_t i = 0; i < p->max_readers; i++) {
		struct reader *r = &p->r[i];
		uint64_t h;
		if (!r->active || r->broken || !r->lossless)
			continue;
		/* seq_cst: pairs with the reader's add to taken then load of
		 * producer_waiting (W4). */
		uint32_t v = __atomic_load_n(&r->b->taken, __ATOMIC_SEQ_CST);
		if (load_head(p, r, &h) < 0)
			continue;
		if (r->tail - h + extra <= p->queue_len) {
			r->stall_ns = r->stall_mark = 0;
			continue;
		}
		words[n] = &r->b->taken;
		who[n] = r;
		vals[n++] = v;
	}
	return n;
}

static void set_line_flags(shmring_producer *p, struct reader *r)
{
	struct shmring_reader_line *l = pool_line(&p->m, (uint32_t)(r - p->r));
	__atomic_store_n(&l->flags, r->stalled ? SHMRING_READER_STALLED : 0u, __ATOMIC_RELAXED);
}

/* The stall timeout ran out for r: make it live (the producer pushes its
 * oldest entries out from now on, P2) until its queue is empty again, and
 * keep a report for shmring_producer_take_stalled(). */
static void stall(shmring_producer *p, struct reader *r)
{
	r->stalled = 1;
	r->lossless = 0;
	r->live = 1;
	set_line_flags(p, r);
	if (p->n_stalls == SHMRING_MAX_READERS) {
		memmove(p->stalls, p->stalls + 1, sizeof(p->stalls[0]) * (SHMRING_MAX_READERS - 1));
		p->n_stalls--;
	}
	p->stalls[p->n_stalls++] = (struct stall_report){r->pid, r->stall_ns};
	r->stall_ns = r->stall_mark = 0;
}

/* Stall timeout: add the time since the last look to each full reader's
 * stall time; make those over the timeout live and leave them out of the
 * wait.  Returns the readers still to wait for; *until is when the first
 * of them runs out of time. */
static unsigned stall_check(shmring_producer *p, uint32_t **words, uint32_t *vals,
			    struct reader **who, unsigned n, uint64_t *until)
{
	uint64_t now = _shmring_now();
	unsigned kept = 0;
	*until = UINT64_MAX;
	for (unsigned i = 0; i < n; i++) {
		struct reader *r = who[i];
		if (r->stall_mark)
			r->stall_ns += now - r->stall_mark;
		r->stall_mark = now;
		if (r->stall_ns >= p->stall_timeout_ns) {
			stall(p, r);
			continue;
		}
		if (now + (p->stall_timeout_ns - r->stall_ns) < *until)
			*until = now + (p->stall_timeout_ns - r->stall_ns);
		words[kept] = words[i];
		vals[kept] = vals[i];
		who[kept++] = r;
	}
	return kept;
}

/* The producer stops waiting: time from now on is not a reader's stall. */
static void stall_pause(shmring_producer *p)
{
	for (uint32_t i = 0; i < p->max_readers; i++)
		p->r[i].stall_mark = 0;
}

/* Lossless: wait (lock held, released while asleep) until every lossless
 * reader has room in its queue, or was made live by the stall timeout.
 * Room that an empty queue cannot give is an error, not a wait without
 * end. */
static int wait_room(shmring_producer *p, uint64_t deadline)
{
	uint32_t *words[SHMRING_MAX_READERS + 1];
	uint32_t vals[SHMRING_MAX_READERS + 1];
	struct reader *who[SHMRING_MAX_READERS];
	int rc = 0;
	if (claimed(p) + 1 > p->queue_len)
		return fail(EINVAL, "channel '%s': %u reservations not yet committed claim all the room "
			    "of a lossless queue of %u frames: commit one first, lend instead of "
			    "reserving, or make the queue longer", p->name, claimed(p), p->queue_len);
	for (;;) {
		uint32_t iv = __atomic_load_n(&p->stop.word, __ATOMIC_ACQUIRE);
		uint32_t dv = __atomic_load_n(&p->door_seq, __ATOMIC_ACQUIRE);
		uint64_t until = UINT64_MAX;
		__atomic_store_n(&p->m.h->producer_waiting, 1, __ATOMIC_SEQ_CST);
		unsigned n = full_lossless(p, words, vals, who);
		if (n && p->stall_timeout_ns)
			n = stall_check(p, words, vals, who, n, &until);
		if (n == 0)
			break;
		if (__atomic_load_n(&p->stop.fired, __ATOMIC_ACQUIRE)) {
			rc = fail(EINTR, "channel '%s': interrupted while waiting for a reader", p->name);
			break;
		}
		if (_shmring_now() >= deadline) {
			rc = fail(ETIMEDOUT, "channel '%s': timed out waiting for %u lossless reader(s) "
				  "to take frames", p->name, n);
			break;
		}
		/* door_seq: a reader that leaves ends the wait at once. */
		words[n] = &p->door_seq;
		vals[n] = dv;
		pthread_mutex_unlock(&p->lock);
		_shmring_wait(words, vals, n + 1, &p->stop.word, iv, until < deadline ? until : deadline);
		pthread_mutex_lock(&p->lock);
	}
	__atomic_store_n(&p->m.h->producer_waiting, 0, __ATOMIC_RELAXED);
	stall_pause(p);
	return rc;
}

/* A slot no reader pins and no reservation uses: the lowest-numbered
 * one, so that a channel whose readers keep up writes into the same few
 * slots, still in the CPU's caches, instead of walking the whole pool.
 * Always exists by the choice of n_slots. */
static uint32_t free_slot(shmring_producer *p)
{
	for (uint32_t w = 0; w < (p->n_slots + 63) / 64; w++) {
		uint64_t bits = ~p->pinned[w];
		if (bits) {
			uint32_t s = w * 64 + (uint32_t)__builtin_ctzll(bits);
			return s < p->n_slots ? s : UINT32_MAX;
		}
	}
	return UINT32_MAX;
}

/* Pins collected, and the pending description's slot free (D1).  A
 * frame still pinned that names the description it would overwrite:
 * drop-new and live drop this frame; lossless waits, looking again every
 * slice (releases wake nobody). */
static int desc_ready(shmring_producer *p, uint64_t deadline)
{
	for (;;) {
		collect_pins(p);
		if (!p->have_pending || !desc_slot_busy(p))
			return 0;
		if (p->policy != SHMRING_POLICY_LOSSLESS)
			return fail(ENOBUFS, "channel '%s': a frame readers still hold names description "
				    "slot %u, which the new caps need; frame dropped", p->name,
				    p->pending.id % SHMRING_DESC_SLOTS);
		uint32_t iv = __atomic_load_n(&p->stop.word, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&p->stop.fired, __ATOMIC_ACQUIRE))
			return fail(EINTR, "channel '%s': interrupted", p->name);
		if (_shmring_now() >= deadline)
			return fail(ETIMEDOUT, "channel '%s': timed out waiting for readers to release "
				    "frames of description slot %u, which the new caps need", p->name,
				    p->pending.id % SHMRING_DESC_SLOTS);
		pthread_mutex_unlock(&p->lock);
		_shmring_wait(NULL, NULL, 0, &p->stop.word, iv, deadline);
		pthread_mutex_lock(&p->lock);
	}
}

/* Room is waited for here (lossless), unless lent: then at the commit. */
static int reserve_slot(shmring_producer *p, uint64_t max_size, uint64_t deadline, int lent,
			uint64_t *id)
{
	int rc = p->policy == SHMRING_POLICY_LOSSLESS && !lent ? wait_room(p, deadline) : 0;
	if (rc == 0)
		rc = desc_ready(p, deadline);
	if (rc < 0)
		return rc;
	if (p->have_pending)
		publish_desc(p);
	uint32_t s = free_slot(p);
	struct resv *rv = NULL;
	for (uint32_t i = 0; i < p->max_reserved && !rv; i++)
		if (!p->resv[i].used)
			rv = &p->resv[i];
	if (s == UINT32_MAX || !rv)
		return fail(EBADMSG, "channel '%s': no free slot: the pool is inconsistent", p->name);
	*rv = (struct resv){1, lent, 0, s, p->cur_desc, ++p->next_resv_id, max_size};
	*id = rv->id;
	return (int)s;
}

/* Reserve (claimed: waits up to deadline for room) or lend (never waits). */
static int reserve_or_lend(shmring_producer *p, size_t max_size, uint64_t deadline, int lent, void **data,
			   uint64_t *id)
{
	if (!p || !data || !id)
		return fail(EINVAL, "NULL argument");
	if (max_size > p->m.id.slot_size)
		return fail(EMSGSIZE, "channel '%s': a %zu-byte frame does not fit its %llu-byte slots; "
			    "create the producer with slot_size >= %zu", p->name, max_size,
			    (unsigned long long)p->m.id.slot_size, max_size);
	if (!p->cur_desc && !p->have_pending)
		return fail(EINVAL, "channel '%s': set a stream description before the first frame",
			    p->name);
	pthread_mutex_lock(&p->lock);
	int rc = outstanding(p) < p->max_reserved
			 ? reserve_slot(p, max_size, deadline, lent, id)
			 : fail(EINVAL, "channel '%s': %u reservations outstanding, the most "
				"(max_reserved); commit or abort one first", p->name, p->max_reserved);
	pthread_mutex_unlock(&p->lock);
	if (rc == -ETIMEDOUT && lent)
		rc = fail(EAGAIN, "channel '%s': readers still hold frames of the description slot "
			  "the new stream description needs; lend again later, or reserve and wait",
			  p->name);
	if (rc < 0)
		return rc;
	*data = pool_payload(&p->m, (uint32_t)rc);
	return 0;
}

int shmring_producer_reserve(shmring_producer *p, size_t max_size, int64_t timeout_ns, void **data,
			      uint64_t *id)
{
	return reserve_or_lend(p, max_size, _shmring_deadline(timeout_ns), 0, data, id);
}

int shmring_producer_lend(shmring_producer *p, size_t max_size, void **data, uint64_t *id)
{
	return reserve_or_lend(p, max_size, 0, 1, data, id);
}

static struct resv *find_resv(shmring_producer *p, uint64_t id)
{
	for (uint32_t i = 0; i < p->max_reserved; i++)
		if (p->resv[i].used && p->resv[i].id == id)
			return &p->resv[i];
	return NULL;
}

/* Make room in a full queue by policy: live (or a live reader) pushes
 * out the oldest (P2), and so does an end of stream, which reaches every
 * reader; else the reader does not get this frame.  1 if there is room. */
static int make_room(shmring_producer *p, struct reader *r, int frame)
{
	uint64_t h;
	if (load_head(p, r, &h) < 0)
		return 0;
	if (r->stalled && h == r->tail) {
		/* Made live by the stall timeout, and caught up: lossless again. */
		r->stalled = 0;
		r->live = 0;
		r->lossless = 1;
		set_line_flags(p, r);
	}
	while (r->tail - h >= p->queue_len) {
		if (!r->live && frame)
			return 0;
		/* acq_rel: pairs with the reader's CAS of head (T1); success
		 * means the producer removed entry h. */
		if (__atomic_compare_exchange_n(&r->b->head, &h, h + 1, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			r->head = h + 1;
			r->dropped++;
			return 1;
		}
		if (load_head(p, r, &h) < 0)
			return 0;
	}
	return 1;
}

/* P1 for one reader. */
static void push(shmring_producer *p, struct reader *r, uint32_t s, int frame)
{
	if (!make_room(p, r, frame)) {
		if (!r->broken)
			r->dropped++;
	} else {
		r->q[r->tail % p->queue_len] = s;
		__atomic_store_n(&r->b->queue[r->tail % p->queue_len], s, __ATOMIC_RELAXED);
		r->tail++;
		/* Release: pairs with the reader's acquire load of tail (T1). */
		__atomic_store_n(&r->b->tail, r->tail, __ATOMIC_RELEASE);
		r->queued++;
	}
	uint32_t idx = (uint32_t)(r - p->r);
	struct shmring_reader_line *l = pool_line(&p->m, idx);
	__atomic_store_n(&l->frames_queued, r->queued, __ATOMIC_RELAXED);
	__atomic_store_n(&l->frames_dropped, r->dropped, __ATOMIC_RELAXED);
	__atomic_store_n(&l->lag, (uint32_t)(r->tail - r->head), __ATOMIC_RELAXED);
}

/* W2: bump commit_seq, wake if a reader sleeps that no wake reached yet:
 * a reader stores a new waiting value each time it goes to sleep, so one
 * that still shows the value it had when last woken is awake already
 * (woken, and not yet run).  A reader that sleeps on the value this
 * commit made (sleep_seq) saw this commit and waits for the next: a wake
 * now could come before its FUTEX_WAIT and be lost, so it is not
 * remembered as woken.  One wake reaches every sleeper. */
static void wake_readers(shmring_producer *p)
{
	uint32_t w[SHMRING_MAX_READERS];
	int wake = 0;
	uint32_t now = __atomic_add_fetch(&p->m.h->commit_seq, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < p->max_readers; i++) {
		struct reader *r = &p->r[i];
		/* seq_cst: pairs with the reader's store of waiting then load of tail (W1). */
		w[i] = r->active && !r->broken ? __atomic_load_n(&r->b->waiting, __ATOMIC_SEQ_CST) : 0;
		/* Relaxed: the seq_cst load of waiting above read the store
		 * that published it (or a later one). */
		if (w[i] && __atomic_load_n(&r->b->sleep_seq, __ATOMIC_RELAXED) == now)
			w[i] = 0;
		if (w[i] == 0 || w[i] == r->woken)
			continue;
		if ((w[i] & SHMRING_WAITING_FD) && r->wake_fd >= 0) {
			/* W5: never blocks (its own end), never SIGPIPE; a full
			 * buffer means readable already.  Failures are the reader's. */
			static const char byte = 1;
			if (send(r->wake_fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				/* EAGAIN: woken already; EPIPE: it closed its end */
			}
			r->woken = w[i];
			w[i] = 0;
		} else {
			wake = 1;
		}
	}
	if (!wake)
		return;
	_shmring_wake(&p->m.h->commit_seq, 0);
	for (uint32_t i = 0; i < p->max_readers; i++)
		if (w[i])
			p->r[i].woken = w[i];
}

static void publish(shmring_producer *p, struct resv *rv, uint16_t type, uint64_t size,
		    const struct shmring_meta *meta)
{
	static const struct shmring_meta none = SHMRING_META_INIT;
	const struct shmring_meta *m = meta ? meta : &none;
	struct shmring_slot *sl = pool_slot(&p->m, rv->slot);
	*sl = (struct shmring_slot){p->next_seq, size, m->pts, m->dts, m->duration, _shmring_now(),
				     type == SHMRING_SLOT_FRAME ? rv->desc_id : 0, type,
				     (uint16_t)(m->flags & SHMRING_FLAGS_ALL), 0};
	p->slot_desc[rv->slot] = sl->desc_id;
	if (type == SHMRING_SLOT_FRAME) {
		p->next_seq++;
		p->frames_written++;
	}
	__atomic_store_n(&p->m.h->eos, type == SHMRING_SLOT_EOS, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < p->max_readers; i++)
		if (p->r[i].active && !p->r[i].broken)
			push(p, &p->r[i], rv->slot, type == SHMRING_SLOT_FRAME);
	__atomic_store_n(&p->m.h->next_seq, p->next_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&p->m.h->frames_written, p->frames_written, __ATOMIC_RELAXED);
	/* A lent slot stays pinned until it is given back. */
	if (rv->lent)
		rv->committed = 1;
	else
		rv->used = 0;
	wake_readers(p);
}

/* Reservation id, not yet committed, of the kind the caller commits (lent
 * or not), with room for size bytes; NULL (message set) otherwise.  Lock
 * held. */
static struct resv *committable(shmring_producer *p, uint64_t id, size_t size, int lent, int *rc)
{
	struct resv *rv = find_resv(p, id);
	if (!rv || rv->committed)
		*rc = fail(EINVAL, "channel '%s': no reservation %llu to commit", p->name,
			   (unsigned long long)id);
	else if (rv->lent != lent)
		*rc = fail(EINVAL, "channel '%s': reservation %llu is %slent: commit it with %s", p->name,
			   (unsigned long long)id, lent ? "not " : "",
			   lent ? "shmring_producer_commit()" : "shmring_producer_commit_lent()");
	else if (size > rv->max_size)
		*rc = fail(EMSGSIZE, "channel '%s': committing %zu bytes of a %llu-byte reservation",
			   p->name, size, (unsigned long long)rv->max_size);
	else
		return rv;
	return NULL;
}

int shmring_producer_commit(shmring_producer *p, uint64_t id, size_t size,
			     const struct shmring_meta *meta)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	struct resv *rv = committable(p, id, size, 0, &rc);
	if (rv)
		publish(p, rv, SHMRING_SLOT_FRAME, size, meta);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int shmring_producer_commit_lent(shmring_producer *p, uint64_t id, size_t size,
				  const struct shmring_meta *meta, int64_t timeout_ns)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	struct resv *rv = committable(p, id, size, 1, &rc);
	if (rv && p->policy == SHMRING_POLICY_LOSSLESS) {
		rc = wait_room(p, _shmring_deadline(timeout_ns));
		/* wait_room let go of the lock while asleep: the reservation
		 * may have been given back meanwhile. */
		if (rc == 0 && !(rv = committable(p, id, size, 1, &rc)))
			rc = fail(EINVAL, "channel '%s': reservation %llu was given back while its "
				  "commit waited", p->name, (unsigned long long)id);
	}
	if (rv && rc == 0)
		publish(p, rv, SHMRING_SLOT_FRAME, size, meta);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int shmring_producer_abort(shmring_producer *p, uint64_t id)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	pthread_mutex_lock(&p->lock);
	struct resv *rv = find_resv(p, id);
	if (rv)
		rv->used = rv->lent = rv->committed = 0;
	pthread_mutex_unlock(&p->lock);
	return rv ? 0 : fail(EINVAL, "channel '%s': no reservation %llu", p->name, (unsigned long long)id);
}

int shmring_producer_write(shmring_producer *p, const void *data, size_t size,
			    const struct shmring_meta *meta, int64_t timeout_ns)
{
	void *dst;
	uint64_t id;
	int rc = shmring_producer_reserve(p, size, timeout_ns, &dst, &id);
	if (rc < 0)
		return rc;
	memcpy(dst, data, size);
	return shmring_producer_commit(p, id, size, meta);
}

int shmring_producer_eos(shmring_producer *p, int64_t timeout_ns)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	uint64_t id;
	pthread_mutex_lock(&p->lock);
	int rc = outstanding(p) < p->max_reserved
			 ? reserve_slot(p, 0, _shmring_deadline(timeout_ns), 0, &id)
			 : fail(EINVAL, "channel '%s': %u reservations outstanding", p->name,
				p->max_reserved);
	if (rc >= 0) {
		publish(p, find_resv(p, id), SHMRING_SLOT_EOS, 0, NULL);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int shmring_producer_set_seq(shmring_producer *p, uint64_t seq)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	if (seq < p->next_seq) {
		rc = fail(EINVAL, "channel '%s': frame number %llu is behind the next one, %llu: "
			  "numbers only go forward", p->name, (unsigned long long)seq,
			  (unsigned long long)p->next_seq);
	} else {
		if (p->frames_written)
			p->frames_lost += seq - p->next_seq;
		p->next_seq = seq;
		__atomic_store_n(&p->m.h->next_seq, p->next_seq, __ATOMIC_RELAXED);
		__atomic_store_n(&p->m.h->frames_lost, p->frames_lost, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

uint64_t shmring_producer_max_frame(const shmring_producer *p)
{
	return p ? p->m.id.slot_size : 0;
}

int shmring_producer_readers(shmring_producer *p)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	pthread_mutex_lock(&p->lock);
	int n = (int)p->n_readers;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int shmring_producer_wait_reader(shmring_producer *p, int64_t timeout_ns)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	uint64_t deadline = _shmring_deadline(timeout_ns);
	for (;;) {
		uint32_t iv = __atomic_load_n(&p->stop.word, __ATOMIC_ACQUIRE);
		/* acquire, before n_readers: pairs with the door's seq_cst add
		 * after a reader joined (admit in door.c), so a reader that
		 * joins after the look at n_readers changes dv and the wait
		 * below returns at once. */
		uint32_t dv = __atomic_load_n(&p->door_seq, __ATOMIC_ACQUIRE);
		pthread_mutex_lock(&p->lock);
		uint32_t n = p->n_readers;
		pthread_mutex_unlock(&p->lock);
		if (n > 0)
			return 0;
		if (__atomic_load_n(&p->stop.fired, __ATOMIC_ACQUIRE))
			return fail(EINTR, "channel '%s': interrupted while waiting for a reader to attach",
				    p->name);
		if (_shmring_now() >= deadline)
			return fail(ETIMEDOUT, "channel '%s': no reader attached in time", p->name);
		uint32_t *words[1] = {&p->door_seq};
		_shmring_wait(words, &dv, 1, &p->stop.word, iv, deadline);
	}
}

int shmring_producer_watch_readers(shmring_producer *p, uint32_t *changes, int64_t timeout_ns,
				   struct shmring_cancel *cancel)
{
	if (!p || !changes)
		return fail(EINVAL, "NULL argument");
	uint64_t deadline = _shmring_deadline(timeout_ns);
	uint32_t none = 0;
	for (;;) {
		uint32_t cv = cancel ? __atomic_load_n(&cancel->word, __ATOMIC_ACQUIRE) : 0;
		/* acquire: pairs with the door's seq_cst add after a reader
		 * joined or left (n_readers changed under the lock first). */
		uint32_t dv = __atomic_load_n(&p->door_seq, __ATOMIC_ACQUIRE);
		if (dv != *changes) {
			*changes = dv;
			pthread_mutex_lock(&p->lock);
			int n = (int)p->n_readers;
			pthread_mutex_unlock(&p->lock);
			return n;
		}
		if (cancel && __atomic_load_n(&cancel->fired, __ATOMIC_ACQUIRE))
			return fail(EINTR, "channel '%s': watching readers: cancelled", p->name);
		if (_shmring_now() >= deadline)
			return fail(ETIMEDOUT, "channel '%s': no reader attached or left in time", p->name);
		uint32_t *words[1] = {&p->door_seq};
		_shmring_wait(words, &dv, 1, cancel ? &cancel->word : &none, cv, deadline);
	}
}

void shmring_producer_interrupt(shmring_producer *p)
{
	if (!p)
		return;
	shmring_cancel_fire(&p->stop);
	/* Without futex_waitv a wait sleeps on its first shared word alone:
	 * wake a wait for a reader too. */
	__atomic_add_fetch(&p->door_seq, 1, __ATOMIC_SEQ_CST);
	_shmring_wake(&p->door_seq, 0);
}

void shmring_producer_resume(shmring_producer *p)
{
	if (p)
		shmring_cancel_reset(&p->stop);
}

int shmring_producer_stats(shmring_producer *p, struct shmring_stats *st)
{
	if (!p || !st)
		return fail(EINVAL, "NULL argument");
	_shmring_fill_stats(&p->m, st);
	pthread_mutex_lock(&p->lock);
	st->frames_dropped_gone = p->dropped_by_gone;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int shmring_producer_set_stall_timeout(shmring_producer *p, int64_t timeout_ns)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	if (timeout_ns < 0)
		return fail(EINVAL, "channel '%s': stall timeout %lld ns: give 0 (off) or a time", p->name,
			    (long long)timeout_ns);
	pthread_mutex_lock(&p->lock);
	p->stall_timeout_ns = (uint64_t)timeout_ns;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int shmring_producer_take_stalled(shmring_producer *p, char *msg, size_t len)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	pthread_mutex_lock(&p->lock);
	struct stall_report s = {0, 0};
	if (p->n_stalls) {
		s = p->stalls[0];
		memmove(p->stalls, p->stalls + 1, sizeof(p->stalls[0]) * --p->n_stalls);
	}
	pthread_mutex_unlock(&p->lock);
	if (s.pid && msg && len)
		snprintf(msg, len, "channel '%s': lossless reader pid %d took no frame for %llu ms while "
			 "the producer waited for room in its queue (stall timeout): it is live until it "
			 "catches up, losing its oldest queued frames meanwhile", p->name, (int)s.pid,
			 (unsigned long long)(s.waited_ns / 1000000u));
	return (int)s.pid;
}

void shmring_producer_close(shmring_producer *p)
{
	if (!p)
		return;
	_shmring_door_stop(p);
	if (p->m.h) {
		/* S1: release, pairs with the reader's acquire load of state. */
		__atomic_store_n(&p->m.h->state, SHMRING_STATE_CLOSED, __ATOMIC_RELEASE);
		__atomic_add_fetch(&p->m.h->commit_seq, 1, __ATOMIC_SEQ_CST);
		_shmring_wake(&p->m.h->commit_seq, 0);
	}
	for (uint32_t i = 0; i < SHMRING_MAX_READERS; i++)
		if (p->r[i].active)
			_shmring_door_drop(p, &p->r[i]);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	_shmring_pool_close(&p->m);
	pthread_mutex_destroy(&p->lock);
	free(p->slot_desc);
	free(p->pinned);
	free(p);
}
