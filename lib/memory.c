/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memory.c: the memfds: the pool and reader blocks, created, sealed, mapped and validated. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define POOL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
#define BLOCK_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* A memfd of size bytes.  All of it is allocated once, so that a lack of
 * memory shows at creation with a clear error; then everything past the
 * first keep bytes is given back, to be allocated again page by page as
 * it is first written.  A pool's slots are taken lowest first, so its
 * resident memory follows what its readers hold, not its most. */
static int new_memfd(const char *what, const char *name, uint64_t size, uint64_t keep)
{
	char label[64];
	snprintf(label, sizeof(label), "shmring-%s:%.40s", what, name);
	int fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail(errno, "channel '%s': memfd_create for the %s: %s", name, what,
			    strerror(errno));
	int rc = ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
	if (!rc)
		rc = posix_fallocate(fd, 0, (off_t)size);
	if (rc) {
		close(fd);
		if (rc == ENOSPC || rc == ENOMEM)
			return fail(ENOSPC, "channel '%s': no memory for the %llu-byte %s; use fewer or "
				    "smaller slots", name, (unsigned long long)size, what);
		return fail(rc, "channel '%s': allocating the %s: %s", name, what, strerror(rc));
	}
	/* A kernel without hole punching on memfds keeps all of it. */
	if (keep < size)
		(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)keep,
				(off_t)(size - keep));
	return fd;
}

int _shmring_pool_create(struct pool_map *m, const char *name, const struct shmring_pool_header *id)
{
	memset(m, 0, sizeof(*m));
	m->fd = new_memfd("pool", name, id->pool_size, id->payload_offset);
	if (m->fd < 0)
		return m->fd;
	void *base = mmap(NULL, id->pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (base == MAP_FAILED) {
		int e = errno;
		close(m->fd);
		m->fd = -1;
		return fail(e == ENOMEM ? ENOSPC : e, "channel '%s': mapping the pool: %s", name,
			    strerror(e));
	}
	m->base = base;
	m->h = base;
	m->id = *id;
	memcpy(m->h, id, offsetof(struct shmring_pool_header, commit_seq));
	return 0;
}

/* After this no mapping of the pool can be writable but the producer's. */
int _shmring_pool_seal(struct pool_map *m, const char *name)
{
	if (fcntl(m->fd, F_ADD_SEALS, POOL_SEALS) < 0)
		return fail(errno, "channel '%s': sealing the pool: %s (Linux 5.1 or later needed)",
			    name, strerror(errno));
	return 0;
}

void _shmring_pool_close(struct pool_map *m)
{
	if (m->base)
		munmap(m->base, m->id.pool_size);
	if (m->fd >= 0)
		close(m->fd);
	m->base = NULL;
	m->h = NULL;
	m->fd = -1;
}

/* Seals and size of a received memfd: what it must have before mapping.
 * size: the exact size wanted, or 0 for at least a pool header. */
/* A received memfd: sealed as the protocol says, a memory file of the
 * right size, opened for what this side does with it (a block read and
 * written, never sealed against writes).  What a producer got wrong is
 * EBADMSG naming it, never the mapping's EACCES (which reads as a
 * permission to ask for). */
static int check_memfd(int fd, int seals, uint64_t size, const char *what, const char *name,
		       int writable)
{
	int have = fcntl(fd, F_GET_SEALS);
	if (have < 0 || (have & seals) != seals)
		return fail(EBADMSG, "channel '%s': the %s is not sealed (seals 0x%x, need 0x%x): "
			    "it could shrink under this reader", name, what, have, seals);
	int mode = fcntl(fd, F_GETFL);
	if (mode < 0 || (mode & O_ACCMODE) == O_WRONLY ||
	    (writable && (mode & O_ACCMODE) != O_RDWR))
		return fail(EBADMSG, "channel '%s': the producer sent the %s opened %s; it must be "
			    "opened %s", name, what, mode < 0 ? "wrongly" : (mode & O_ACCMODE) == O_WRONLY ?
			    "write-only" : "read-only", writable ? "read-write" : "for reading");
	if (writable && (have & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return fail(EBADMSG, "channel '%s': the producer sealed the %s against writes (seals "
			    "0x%x); this reader must write to it", name, what, have);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(EBADMSG, "channel '%s': the %s is not a memory file", name, what);
	if (size ? (uint64_t)st.st_size != size
		 : (uint64_t)st.st_size < sizeof(struct shmring_pool_header))
		return fail(EBADMSG, "channel '%s': the %s has %lld bytes, %s %llu", name, what,
			    (long long)st.st_size, size ? "not" : "less than",
			    (unsigned long long)(size ? size : sizeof(struct shmring_pool_header)));
	return 0;
}

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond))                                                    \
			return fail(EBADMSG, __VA_ARGS__);                      \
	} while (0)

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Every identity field of a private copy, against the others and the
 * memfd's size. */
static int check_identity(const struct shmring_pool_header *h, uint64_t fsize, const char *name)
{
	CHECK(h->magic == SHMRING_MAGIC, "channel '%s': pool magic is wrong", name);
	if (h->version != SHMRING_VERSION)
		return fail(EPROTO, "channel '%s': pool of protocol %u, this reader speaks %u", name,
			    h->version, SHMRING_VERSION);
	CHECK(h->header_size == SHMRING_HEADER_SIZE && h->desc_offset == SHMRING_DESC_OFFSET &&
		      h->desc_slot_size == SHMRING_DESC_SLOT_SIZE &&
		      h->desc_slots == SHMRING_DESC_SLOTS &&
		      h->reader_lines_offset == SHMRING_READER_LINES_OFFSET &&
		      h->block_size == SHMRING_BLOCK_SIZE &&
		      h->slot_table_offset == SHMRING_SLOT_TABLE_OFFSET,
	      "channel '%s': pool header has a wrong fixed offset or size", name);
	CHECK(h->max_readers >= 1 && h->max_readers <= SHMRING_MAX_READERS && h->queue_len >= 1 &&
		      h->queue_len <= SHMRING_QUEUE_MAX && h->max_holds >= 1 &&
		      h->max_holds <= SHMRING_HOLDS_MAX && h->max_reserved >= 1 &&
		      h->max_reserved <= SHMRING_RESERVED_MAX && h->policy <= SHMRING_POLICY_LIVE,
	      "channel '%s': pool limits out of range", name);
	CHECK(h->n_slots == pool_slots_needed(h), "channel '%s': pool has %u slots, its limits need %u", name,
	      h->n_slots, pool_slots_needed(h));
	CHECK(h->slot_size >= SHMRING_SLOT_ALIGN && h->slot_size <= SHMRING_MAX_SLOT_SIZE &&
		      h->slot_size % SHMRING_SLOT_ALIGN == 0,
	      "channel '%s': slot size %llu out of range", name, (unsigned long long)h->slot_size);
	uint64_t payload = SHMRING_SLOT_TABLE_OFFSET +
			   round_up((uint64_t)h->n_slots * SHMRING_SLOT_HEADER_SIZE, SHMRING_SLOT_ALIGN);
	CHECK(h->payload_offset == payload, "channel '%s': payload offset %llu, expected %llu", name,
	      (unsigned long long)h->payload_offset, (unsigned long long)payload);
	CHECK(h->pool_size == payload + (uint64_t)h->n_slots * h->slot_size && h->pool_size == fsize,
	      "channel '%s': pool size %llu does not match its slots or its memfd (%llu)", name,
	      (unsigned long long)h->pool_size, (unsigned long long)fsize);
	for (unsigned i = 0; i < sizeof(h->reserved0); i++)
		CHECK(!h->reserved0[i], "channel '%s': pool reserved bytes not zero", name);
	return 0;
}

/* A reader's (or observer's) pool: check the memfd, copy and check the
 * identity, map all of it read-only. */
int _shmring_pool_open(struct pool_map *m, int fd, const char *name)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	int rc = check_memfd(fd, POOL_SEALS, 0, "pool", name, 0);
	if (rc < 0)
		return rc;
	if (pread(fd, &m->id, sizeof(m->id), 0) != (ssize_t)sizeof(m->id))
		return fail(EBADMSG, "channel '%s': cannot read the pool header", name);
	struct stat st;
	fstat(fd, &st);
	rc = check_identity(&m->id, (uint64_t)st.st_size, name);
	if (rc < 0)
		return rc;
	void *base = mmap(NULL, m->id.pool_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return fail(errno, "channel '%s': mapping the pool: %s", name, strerror(errno));
	m->base = base;
	m->h = base;
	return 0;
}

int _shmring_block_create(const char *name, struct shmring_block **out)
{
	int fd = new_memfd("reader", name, SHMRING_BLOCK_SIZE, SHMRING_BLOCK_SIZE);
	if (fd < 0)
		return fd;
	void *b = mmap(NULL, SHMRING_BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED || fcntl(fd, F_ADD_SEALS, BLOCK_SEALS) < 0) {
		int e = errno;
		if (b != MAP_FAILED)
			munmap(b, SHMRING_BLOCK_SIZE);
		close(fd);
		return fail(e, "channel '%s': reader block: %s", name, strerror(e));
	}
	struct shmring_block *blk = b;
	for (unsigned k = 0; k < SHMRING_HOLDS_MAX; k++)
		blk->holds[k] = SHMRING_SLOT_NONE;
	*out = blk;
	return fd;
}

int _shmring_block_open(int fd, const char *name, struct shmring_block **out)
{
	int rc = check_memfd(fd, BLOCK_SEALS, SHMRING_BLOCK_SIZE, "reader block", name, 1);
	if (rc < 0)
		return rc;
	void *b = mmap(NULL, SHMRING_BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED)
		return fail(errno, "channel '%s': mapping the reader block: %s", name, strerror(errno));
	*out = b;
	return 0;
}

/* Description id from slot id % 8, copied and validated (D1). */
int _shmring_read_desc(const struct pool_map *m, uint32_t id, const char *name,
			struct shmring_desc *out)
{
	const struct shmring_desc *slot = pool_desc(m, id);
	/* Acquire: pairs with the producer's release store of the slot id (D1). */
	uint32_t sid = __atomic_load_n(&slot->id, __ATOMIC_ACQUIRE);
	if (sid != id)
		return fail(EBADMSG, "channel '%s': frame names description %u, its slot holds %u",
			    name, id, sid);
	memcpy(out, slot, sizeof(*out));
	/* Acquire fence, then the id again: pairs with the producer's store of
	 * 0 and release fence before it rewrites the slot (D1), so a copy
	 * torn by a rewrite is never taken for description id. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&slot->id, __ATOMIC_RELAXED) != id)
		return fail(EBADMSG, "channel '%s': description %u was rewritten while read", name, id);
	return _shmring_check_desc(out, id, name);
}

/* The counters of the pool header and reader lines (relaxed: statistics). */
void _shmring_fill_stats(const struct pool_map *m, struct shmring_stats *st)
{
	const struct shmring_pool_header *h = m->h;
	memset(st, 0, sizeof(*st));
	st->generation = m->id.generation;
	st->pool_size = m->id.pool_size;
	st->slot_size = m->id.slot_size;
	st->n_slots = m->id.n_slots;
	st->max_readers = m->id.max_readers;
	st->queue_len = m->id.queue_len;
	st->max_holds = m->id.max_holds;
	st->policy = m->id.policy;
	st->state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
	st->producer_pid = (int32_t)__atomic_load_n(&h->producer_pid, __ATOMIC_RELAXED);
	st->readers = __atomic_load_n(&h->readers, __ATOMIC_RELAXED);
	st->frames_written = __atomic_load_n(&h->frames_written, __ATOMIC_RELAXED);
	st->frames_lost = __atomic_load_n(&h->frames_lost, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < m->id.max_readers; i++) {
		const struct shmring_reader_line *l = pool_line(m, i);
		struct shmring_reader_stats *r = &st->reader[i];
		r->pid = (int32_t)__atomic_load_n(&l->pid, __ATOMIC_RELAXED);
		r->uid = __atomic_load_n(&l->uid, __ATOMIC_RELAXED);
		r->mode = __atomic_load_n(&l->mode, __ATOMIC_RELAXED);
		r->holds = __atomic_load_n(&l->holds, __ATOMIC_RELAXED);
		r->lag = __atomic_load_n(&l->lag, __ATOMIC_RELAXED);
		r->flags = __atomic_load_n(&l->flags, __ATOMIC_RELAXED);
		r->frames_queued = __atomic_load_n(&l->frames_queued, __ATOMIC_RELAXED);
		r->frames_dropped = __atomic_load_n(&l->frames_dropped, __ATOMIC_RELAXED);
	}
}
