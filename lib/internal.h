/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: the private structures and the functions the source files share. */
#ifndef SHMRING_V2_INTERNAL_H
#define SHMRING_V2_INTERNAL_H

#include "common.h"
#include "shmring/shmring.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#define SLICE_NS 200000000ull /* longest single futex wait: liveness checks */
#define FALLBACK_SLICE_NS 10000000ull /* the same without futex_waitv, waiting on several words */
#define MAX_PENDING 16u       /* connections that have not sent HELLO yet */
#define PENDING_NS 1000000000ull

/* A mapped pool, as the producer (read-write) and readers (read-only) see
 * it.  id is the identity, copied once (readers: validated) and never read
 * back from shared memory. */
struct pool_map {
	int fd;
	uint8_t *base;
	struct shmring_pool_header *h;
	struct shmring_pool_header id;
};

/* The slots a pool's limits need (see the header): the queues of lossless
 * and live readers hold the last queue_len frames committed, together;
 * a drop-new reader's queue may hold any queue_len older ones. */
static inline uint32_t pool_slots_needed(const struct shmring_pool_header *h)
{
	uint32_t queued = h->policy == SHMRING_POLICY_DROP_NEW ? h->max_readers * h->queue_len : h->queue_len;
	return queued + h->max_readers * h->max_holds + h->max_reserved + 1;
}

static inline struct shmring_slot *pool_slot(const struct pool_map *m, uint32_t i)
{
	return (struct shmring_slot *)(m->base + m->id.slot_table_offset +
					(uint64_t)i * SHMRING_SLOT_HEADER_SIZE);
}

static inline uint8_t *pool_payload(const struct pool_map *m, uint32_t i)
{
	return m->base + m->id.payload_offset + (uint64_t)i * m->id.slot_size;
}

static inline struct shmring_reader_line *pool_line(const struct pool_map *m, uint32_t i)
{
	return (struct shmring_reader_line *)(m->base + SHMRING_READER_LINES_OFFSET +
					       (uint64_t)i * SHMRING_READER_LINE_SIZE);
}

static inline struct shmring_desc *pool_desc(const struct pool_map *m, uint32_t id)
{
	return (struct shmring_desc *)(m->base + SHMRING_DESC_OFFSET +
				       (uint64_t)(id % SHMRING_DESC_SLOTS) * SHMRING_DESC_SLOT_SIZE);
}

/* memory.c */
int _shmring_pool_create(struct pool_map *m, const char *name, const struct shmring_pool_header *id);
int _shmring_pool_seal(struct pool_map *m, const char *name);
int _shmring_pool_open(struct pool_map *m, int fd, const char *name);
void _shmring_pool_close(struct pool_map *m);
int _shmring_block_create(const char *name, struct shmring_block **out);
int _shmring_block_open(int fd, const char *name, struct shmring_block **out);
int _shmring_read_desc(const struct pool_map *m, uint32_t id, const char *name,
			struct shmring_desc *out);
void _shmring_fill_stats(const struct pool_map *m, struct shmring_stats *st);

/* wait.c */
uint64_t _shmring_now(void);
uint64_t _shmring_deadline(int64_t timeout_ns);
void _shmring_wake(uint32_t *word, int private_word);
int _shmring_wait(uint32_t *const *words, const uint32_t *vals, unsigned n, uint32_t *intr,
		   uint32_t ival, uint64_t deadline);
void _shmring_nap(uint32_t *intr, uint32_t ival, uint64_t until);

/* door.c: the socket, its messages and the producer's door thread. */
struct sockaddr_un;
int _shmring_address(const char *name, struct sockaddr_un *a);
int _shmring_send(int sock, const void *msg, size_t len, const int *fds, int nfds);
int _shmring_recv(int sock, void *msg, size_t len, int *fds, int maxfds, int *nfds);

/* One connected reader, as the producer knows it.  The door fills it and
 * sets active (under the producer's lock); the frame path owns tail,
 * head, q[] and the counters, and sets broken (under the lock too). */
struct reader {
	int active;  /* connected: the frame path pushes frames to it */
	int broken;  /* the frame path found its block broken: the door hangs up */
	char why[192];
	int sock;
	int block_fd;
	int wake_fd; /* W5: the producer's end of the reader's wake pair, or -1 */
	struct shmring_block *b;
	pid_t pid;
	uid_t uid;
	uint32_t mode, holds;
	int live, lossless;
	uint64_t tail, head; /* private truth: entries pushed, last valid head */
	uint32_t q[SHMRING_QUEUE_MAX];
	uint64_t queued, dropped;
	uint32_t woken; /* its waiting value when the producer last woke it (W2) */
	/* stall timeout: a lossless reader made live (stalled) for holding
	 * the producer back; the time waited for it without room so far, and
	 * since when (0: the producer is not waiting for it now) */
	int stalled;
	uint64_t stall_ns, stall_mark;
};

/* A reader the stall timeout made live, not yet reported. */
struct stall_report {
	pid_t pid;
	uint64_t waited_ns;
};

/* A reservation: its slot is pinned while used.  A lent one waits for
 * room at its commit, not at its reserve, and stays used after the commit
 * (committed) until it is given back. */
struct resv {
	int used, lent, committed;
	uint32_t slot, desc_id;
	uint64_t id, max_size;
};

struct pending_conn {
	uint64_t since; /* when accepted: a connection silent for PENDING_NS is closed */
	int fd;
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

struct shmring_producer {
	char name[SHMRING_NAME_MAX + 1];
	struct pool_map m;
	uint32_t policy, n_slots, queue_len, max_holds, max_readers, max_reserved;
	uint32_t share, share_uid, share_gid;
	uid_t uid;

	pthread_mutex_t lock; /* the readers table, between the door and the frame path */
	struct reader r[SHMRING_MAX_READERS];
	uint32_t n_readers;
	uint64_t dropped_by_gone; /* frames dropped for readers that left (lock) */
	uint32_t door_seq; /* futex word (waited on and woken as shared): +1 when a reader joins or leaves */

	struct resv resv[SHMRING_RESERVED_MAX];
	uint64_t next_resv_id;
	uint32_t *slot_desc;  /* description id named by each slot's frame */
	uint64_t *pinned;     /* scratch bitmap of n_slots bits */

	struct shmring_desc pending;
	int have_pending;
	uint32_t desc_counter, cur_desc;
	uint64_t next_seq, frames_written, frames_lost;

	struct shmring_cancel stop; /* fired by interrupt(), reset by resume() */

	uint64_t stall_timeout_ns; /* 0 = lossless readers are waited for without bound (lock) */
	struct stall_report stalls[SHMRING_MAX_READERS]; /* oldest first (lock) */
	unsigned n_stalls;

	int listen_fd, wake_fd;
	int door_running, door_stop;
	pthread_t door;
	struct pending_conn pend[MAX_PENDING];
	unsigned n_pend;
};

int _shmring_door_bind(shmring_producer *p);
int _shmring_door_start(shmring_producer *p);
void _shmring_door_stop(shmring_producer *p);
void _shmring_door_drop(shmring_producer *p, struct reader *r);
/* producer.c: mark r broken (frame path, lock held) and tell the door. */
void _shmring_break(shmring_producer *p, struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* SHMRING_V2_INTERNAL_H */
