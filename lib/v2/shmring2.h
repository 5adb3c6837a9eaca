/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shmring2.h: protocol 2 (several isolated readers per channel): its byte layout, messages and API. */
#ifndef SHMRING_SHMRING2_H
#define SHMRING_SHMRING2_H

/*
 * Protocol 2, as designed in docs/PROTOCOL-2.md.  This header is its
 * byte-level specification.  It lives beside protocol 1 until it replaces
 * it; then its names lose the "2" and it moves into shmring/shmring.h.
 * It reuses protocol 1's stream description (struct shmring_desc), frame
 * metadata, flags, policies and conventions: functions return 0, a count
 * or a negative errno, never print; shmring2_last_error() gives the
 * calling thread's detailed message; timeouts are in ns (0 = do not wait,
 * SHMRING_FOREVER = no limit); every wait sleeps on a futex in slices of
 * at most 200 ms and can be interrupted from another thread (-EINTR).
 *
 * Objects
 * -------
 * - The channel NAME (as in protocol 1) is the abstract AF_UNIX
 *   SOCK_SEQPACKET socket "\0shmring/NAME", bound and listened on by the
 *   producer.  Nothing of a channel exists on any filesystem.
 * - The pool: a memfd the producer maps read-write and then seals with
 *   F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL.
 *   Readers and observers receive it over the socket and map it
 *   read-only.  All of it is written by the producer only.
 * - One reader block per reader: a 4096-byte memfd sealed with
 *   F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, mapped read-write by the
 *   producer and by that reader alone.  The producer treats every byte of
 *   it as untrusted and keeps the truth privately.
 * All integers are little-endian (the host's order).
 *
 * Pool layout
 * -----------
 *   offset 0                    struct shmring2_pool_header        4096 bytes
 *   offset 4096                 struct shmring_desc[8]             8 x 4096 (as in protocol 1)
 *   offset slot_table_offset    struct shmring2_slot[n_slots]      64 bytes each, padded to 4096
 *   offset payload_offset       n_slots payloads of slot_size bytes (multiple of 4096)
 *   pool_size = payload_offset + n_slots * slot_size = the memfd's size
 *
 * The payload of slot i is at payload_offset + i * slot_size.
 * n_slots = max_readers * (queue_len + max_holds) + max_reserved + 1:
 * a reader can pin at most queue_len + max_holds slots whatever it
 * writes, so the producer always finds a free slot.
 *
 * Ordering pairs (every shared access is an explicit atomic)
 * ----------------------------------------------------------
 * P1 push (producer): write payload and slot header (plain), store
 *    queue[tail % queue_len] (relaxed), release-store tail + 1.
 *    Pairs with T1.
 * T1 take (reader): acquire-load tail, acquire-load head; read
 *    s = queue[head % queue_len]; release-store holds[k] = s; then
 *    CAS(head, h, h + 1) acq_rel.  On success read the slot header and
 *    payload (ordered after the producer's P1 by the acquire of tail).
 *    On failure (the producer pushed entry h out, P2): store
 *    holds[k] = NONE and retry.
 * P2 push out (producer, live policy or live reader, queue full):
 *    CAS(head, h, h + 1) acq_rel.  Success: the producer removed entry h.
 *    Failure: the reader took it first (T1); retry with the new head.
 * P3 pins (producer, before it picks a slot): per reader, acquire-load
 *    head FIRST (pairs with T1's CAS), then acquire-load holds[].  The
 *    reader stores holds[k] before the CAS that moves head, so an entry
 *    being taken is seen either in [head, tail) or in holds[].
 * R1 release (reader): release-store holds[k] = NONE (pairs with P3).
 * W1 reader wait: v = acquire-load commit_seq; seq_cst store waiting = 1;
 *    seq_cst load tail; if nothing new, FUTEX_WAIT(commit_seq, v) for at
 *    most 200 ms; store waiting = 0.
 * W2 producer wake: after P1 for every reader, seq_cst add 1 to
 *    commit_seq, then seq_cst load each reader's waiting; FUTEX_WAKE
 *    (commit_seq) if any is 1.  With W1 (store, then load on each side)
 *    either the reader sees the new tail or the producer sees waiting.
 * W3 lossless producer wait (a lossless reader's queue is full): seq_cst
 *    store producer_waiting = 1, seq_cst load each full reader's taken,
 *    re-check head, then FUTEX_WAITV on those taken words (200 ms at
 *    most); producer_waiting = 0.
 * W4 reader after a take: seq_cst add 1 to taken, seq_cst load
 *    producer_waiting; FUTEX_WAKE(taken) if it is 1.  Pairs with W3.
 * D1 description: the producer stores id = 0, a release fence, writes
 *    every other field of a description slot, then release-stores its id
 *    (and then pool desc_id).  A reader acquire-loads id, copies the slot,
 *    issues an acquire fence and loads id again (a seqlock: a copy torn by
 *    a rewrite is refused), then validates the copy (as in protocol 1).
 *    The producer rewrites a description slot only while no pinned slot
 *    names the description it holds, so a frame's description never
 *    changes while the frame can be read.
 * S1 state: the producer release-stores state (and eos before it) then
 *    does W2; a reader acquire-loads state.
 *
 * What the producer checks in a reader block (else it disconnects that
 * reader, which gets -EPROTO naming the field): head never goes backwards
 * and never passes tail; every holds[] entry is NONE or a slot index
 * < n_slots.  It never reads tail or queue[] back: its private copies are
 * the truth.
 *
 * What a reader checks in the pool (else -EBADMSG and it disconnects):
 * every identity field and the memfd's size and seals before mapping;
 * 0 <= tail - head <= queue_len; a queue entry < n_slots; a slot header's
 * type (FRAME or EOS), size <= slot_size, reserved = 0, seq greater than
 * the last one it read, and its description (whole planes, as protocol 1);
 * state OPEN or CLOSED.  It copies the identity once and never reads it
 * back.
 */

#include "shmring/shmring.h" /* struct shmring_desc, shmring_meta, shmring_stream_info, policies */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMRING2_MAGIC 0x32474e49524d4853ull /* "SHMRING2" in memory order */
#define SHMRING2_VERSION 2u
#define SHMRING2_HEADER_SIZE 4096u
#define SHMRING2_DESC_OFFSET 4096u
#define SHMRING2_SLOT_TABLE_OFFSET (SHMRING2_DESC_OFFSET + SHMRING_DESC_SLOTS * SHMRING_DESC_SLOT_SIZE)
#define SHMRING2_SLOT_HEADER_SIZE 64u
#define SHMRING2_READER_LINES_OFFSET 1024u
#define SHMRING2_READER_LINE_SIZE 64u
#define SHMRING2_MAX_READERS 32u   /* hard limit of max_readers */
#define SHMRING2_QUEUE_MAX 64u     /* hard limit of queue_len */
#define SHMRING2_HOLDS_MAX 64u     /* hard limit of max_holds */
#define SHMRING2_RESERVED_MAX 16u  /* hard limit of max_reserved */
#define SHMRING2_BLOCK_SIZE 4096u
#define SHMRING2_SLOT_NONE UINT32_MAX /* holds[] entry: nothing held */
#define SHMRING2_SLOT_ALIGN 4096u
#define SHMRING2_MAX_SLOT_SIZE (1ull << 30)
#define SHMRING2_MAX_POOL_SIZE (1ull << 36)
#define SHMRING2_SOCKET_PREFIX "shmring/" /* after the abstract namespace's NUL */
#define SHMRING2_MESSAGE_MAX 384u

/* pool_header.state */
enum shmring2_state {
	SHMRING2_STATE_OPEN = 1,   /* producing */
	SHMRING2_STATE_CLOSED = 2, /* closed cleanly (eos says whether EOS came last) */
};

/* slot.type */
enum shmring2_slot_type {
	SHMRING2_SLOT_FRAME = 1, /* a frame: size bytes of payload */
	SHMRING2_SLOT_EOS = 2,   /* end of stream; no payload */
};

/* HELLO.mode and reader line mode. */
enum shmring2_mode {
	SHMRING2_MODE_CHANNEL = 0, /* follow the channel's policy */
	SHMRING2_MODE_LIVE = 1,    /* live whatever the policy: never holds the producer back */
};

/* HELLO.role */
enum shmring2_role {
	SHMRING2_ROLE_READER = 1,   /* gets the pool and a block, frames in its queue */
	SHMRING2_ROLE_OBSERVER = 2, /* gets the pool only, reads the counters */
};

/*
 * struct shmring2_pool_header: offset 0 of the pool, 4096 bytes, written
 * by the producer only.  Unlisted bytes are zero.
 *
 *  off size field                 notes
 *  --- identity: written before the pool is sealed, then constant
 *    0   8  magic                 SHMRING2_MAGIC
 *    8   4  version               SHMRING2_VERSION
 *   12   4  header_size           4096
 *   16   8  pool_size             = memfd size
 *   24   8  slot_table_offset     SHMRING2_SLOT_TABLE_OFFSET
 *   32   8  payload_offset        slot_table_offset + n_slots * 64 rounded up to 4096
 *   40   8  slot_size             multiple of 4096, 4 KiB .. 1 GiB
 *   48   8  generation            differs for every producer start
 *   56   4  n_slots               max_readers * (queue_len + max_holds) + max_reserved + 1
 *   60   4  max_readers           1 .. 32
 *   64   4  queue_len             1 .. 64
 *   68   4  max_holds             1 .. 64
 *   72   4  max_reserved          1 .. 16
 *   76   4  policy                enum shmring_policy
 *   80   4  block_size            SHMRING2_BLOCK_SIZE
 *   84   4  desc_offset           SHMRING2_DESC_OFFSET
 *   88   4  desc_slot_size        SHMRING_DESC_SLOT_SIZE
 *   92   4  desc_slots            SHMRING_DESC_SLOTS
 *   96   4  reader_lines_offset   SHMRING2_READER_LINES_OFFSET
 *  100  28  reserved0             zero
 *  --- producer line (128..191)
 *  128   4  commit_seq            futex word: +1 per commit or state change (W2)
 *  132   4  state                 enum shmring2_state (S1)
 *  136   8  frames_written        frames committed
 *  144   8  next_seq              sequence number of the next frame
 *  152   4  desc_id               newest published description, 0 = none
 *  156   4  producer_pid
 *  160   4  producer_waiting      1 while waiting for a lossless reader (W3)
 *  164   4  eos                   1 when the newest entry pushed is EOS
 *  168   4  readers               readers connected
 *  172  20  reserved1             zero
 *  --- reader lines: 1024 + i * 64 for reader index i < max_readers
 */
struct shmring2_pool_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t pool_size;
	uint64_t slot_table_offset;
	uint64_t payload_offset;
	uint64_t slot_size;
	uint64_t generation;
	uint32_t n_slots;
	uint32_t max_readers;
	uint32_t queue_len;
	uint32_t max_holds;
	uint32_t max_reserved;
	uint32_t policy;
	uint32_t block_size;
	uint32_t desc_offset;
	uint32_t desc_slot_size;
	uint32_t desc_slots;
	uint32_t reader_lines_offset;
	uint8_t reserved0[28];

	uint32_t commit_seq;
	uint32_t state;
	uint64_t frames_written;
	uint64_t next_seq;
	uint32_t desc_id;
	uint32_t producer_pid;
	uint32_t producer_waiting;
	uint32_t eos;
	uint32_t readers;
	uint8_t reserved1[20];

	uint8_t reserved2[SHMRING2_HEADER_SIZE - 192];
};

/*
 * struct shmring2_reader_line: 64 bytes per reader index in the pool
 * header, written by the producer (what `info` and `top` show).
 *
 *  off size field
 *    0   4  pid            0 = index free
 *    4   4  uid
 *    8   4  mode           enum shmring2_mode granted
 *   12   4  holds          max holds granted
 *   16   8  frames_queued  frames pushed into its queue
 *   24   8  frames_dropped frames it did not get (queue full) or lost (pushed out)
 *   32   4  lag            entries in its queue at the last commit
 *   36  28  reserved       zero
 */
struct shmring2_reader_line {
	uint32_t pid;
	uint32_t uid;
	uint32_t mode;
	uint32_t holds;
	uint64_t frames_queued;
	uint64_t frames_dropped;
	uint32_t lag;
	uint8_t reserved[28];
};

/*
 * struct shmring2_slot: the header of slot i, at slot_table_offset + i * 64,
 * written by the producer while no reader can hold slot i, before P1.
 *
 *  off size field
 *    0   8  seq          frame sequence number (EOS: the next frame's)
 *    8   8  size         payload bytes, <= slot_size (EOS: 0)
 *   16   8  pts          ns, SHMRING_NO_TIME if unset
 *   24   8  dts          ns, SHMRING_NO_TIME if unset
 *   32   8  duration     ns, SHMRING_NO_TIME if unset
 *   40   8  commit_ns    producer's CLOCK_MONOTONIC at commit
 *   48   4  desc_id      description in force (FRAME), 0 for EOS
 *   52   2  type         enum shmring2_slot_type
 *   54   2  flags        enum shmring_frame_flags
 *   56   8  reserved     zero
 */
struct shmring2_slot {
	uint64_t seq;
	uint64_t size;
	uint64_t pts;
	uint64_t dts;
	uint64_t duration;
	uint64_t commit_ns;
	uint32_t desc_id;
	uint16_t type;
	uint16_t flags;
	uint64_t reserved;
};

/*
 * struct shmring2_block: a reader's block, 4096 bytes.  The reader may
 * write any byte of it; the producer validates what it reads (see above).
 *
 *  off size field        writer
 *    0   8  head         reader (T1); producer too (P2, CAS only)
 *    8   4  waiting      reader: 1 while asleep on commit_seq (W1)
 *   12   4  taken        reader: futex word, +1 per entry taken (W4)
 *   16  48  reserved0    zero
 *   64   8  tail         producer: entries pushed so far (P1)
 *   72  56  reserved1    zero
 *  128 256  queue[64]    producer: slot index of entry i at queue[i % queue_len]
 *  384 256  holds[64]    reader: slot indices it holds or SHMRING2_SLOT_NONE;
 *                        entries >= max_holds granted stay NONE
 *  640 ...  reserved2    zero
 */
struct shmring2_block {
	uint64_t head;
	uint32_t waiting;
	uint32_t taken;
	uint8_t reserved0[48];
	uint64_t tail;
	uint8_t reserved1[56];
	uint32_t queue[SHMRING2_QUEUE_MAX];
	uint32_t holds[SHMRING2_HOLDS_MAX];
	uint8_t reserved2[SHMRING2_BLOCK_SIZE - 640];
};

/*
 * Messages: one struct per SOCK_SEQPACKET message, each starting with
 * u32 type, u32 size (= sizeof the struct).  A wrong size, an unknown
 * type or an unexpected descriptor count closes the connection.
 *
 *   HELLO    reader -> producer, first message, no descriptors
 *   WELCOME  producer -> reader: the pool (+ the block for a reader)
 *   REFUSED  producer -> reader, then the producer hangs up: error is the
 *            errno the reader returns (EBUSY: reader limit, with the pids;
 *            EACCES: uid not allowed; EPROTO: bad HELLO or block), message
 *            a NUL-terminated sentence naming the problem and the fix.
 * A clean close needs no message: the producer stores state CLOSED (S1)
 * before it hangs up; a hang-up with state OPEN means it died.  A reader
 * closes by hanging up.
 */
enum shmring2_msg_type {
	SHMRING2_MSG_HELLO = 1,
	SHMRING2_MSG_WELCOME = 2,
	SHMRING2_MSG_REFUSED = 3,
};

/*  off size field
 *    0   4  type = HELLO      4   4  size = 32
 *    8   4  version           12  4  role (enum shmring2_role)
 *   16   4  holds wanted (0 = the producer's max_holds)
 *   20   4  mode (enum shmring2_mode)       24  8  reserved (zero) */
struct shmring2_msg_hello {
	uint32_t type;
	uint32_t size;
	uint32_t version;
	uint32_t role;
	uint32_t holds;
	uint32_t mode;
	uint64_t reserved;
};

/*  off size field
 *    0   4  type = WELCOME    4   4  size = 40
 *    8   4  version           12  4  reader index (UINT32_MAX: observer)
 *   16   8  pool_size         24  8  generation
 *   32   4  holds granted     36  4  mode granted
 * Descriptors: the pool, then the block (readers only). */
struct shmring2_msg_welcome {
	uint32_t type;
	uint32_t size;
	uint32_t version;
	uint32_t index;
	uint64_t pool_size;
	uint64_t generation;
	uint32_t holds;
	uint32_t mode;
};

/*  off size field
 *    0   4  type = REFUSED    4   4  size = 16 + SHMRING2_MESSAGE_MAX
 *    8   4  error (positive errno)  12 4 reserved
 *   16 384  message, NUL-terminated */
struct shmring2_msg_refused {
	uint32_t type;
	uint32_t size;
	int32_t error;
	uint32_t reserved;
	char message[SHMRING2_MESSAGE_MAX];
};

#define SHMRING2_CHECK_OFFSET(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field " offset")
SHMRING2_CHECK_OFFSET(shmring2_pool_header, magic, 0);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, version, 8);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, header_size, 12);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, pool_size, 16);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, slot_table_offset, 24);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, payload_offset, 32);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, slot_size, 40);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, generation, 48);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, n_slots, 56);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, max_readers, 60);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, queue_len, 64);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, max_holds, 68);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, max_reserved, 72);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, policy, 76);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, block_size, 80);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, desc_offset, 84);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, desc_slot_size, 88);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, desc_slots, 92);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, reader_lines_offset, 96);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, reserved0, 100);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, commit_seq, 128);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, state, 132);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, frames_written, 136);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, next_seq, 144);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, desc_id, 152);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, producer_pid, 156);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, producer_waiting, 160);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, eos, 164);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, readers, 168);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, reserved1, 172);
SHMRING2_CHECK_OFFSET(shmring2_pool_header, reserved2, 192);
_Static_assert(sizeof(struct shmring2_pool_header) == SHMRING2_HEADER_SIZE, "pool header size");
_Static_assert(SHMRING2_READER_LINES_OFFSET + SHMRING2_MAX_READERS * SHMRING2_READER_LINE_SIZE <=
		       SHMRING2_HEADER_SIZE, "reader lines fit the header");
SHMRING2_CHECK_OFFSET(shmring2_reader_line, pid, 0);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, uid, 4);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, mode, 8);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, holds, 12);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, frames_queued, 16);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, frames_dropped, 24);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, lag, 32);
SHMRING2_CHECK_OFFSET(shmring2_reader_line, reserved, 36);
_Static_assert(sizeof(struct shmring2_reader_line) == SHMRING2_READER_LINE_SIZE, "reader line size");
SHMRING2_CHECK_OFFSET(shmring2_slot, seq, 0);
SHMRING2_CHECK_OFFSET(shmring2_slot, size, 8);
SHMRING2_CHECK_OFFSET(shmring2_slot, pts, 16);
SHMRING2_CHECK_OFFSET(shmring2_slot, dts, 24);
SHMRING2_CHECK_OFFSET(shmring2_slot, duration, 32);
SHMRING2_CHECK_OFFSET(shmring2_slot, commit_ns, 40);
SHMRING2_CHECK_OFFSET(shmring2_slot, desc_id, 48);
SHMRING2_CHECK_OFFSET(shmring2_slot, type, 52);
SHMRING2_CHECK_OFFSET(shmring2_slot, flags, 54);
SHMRING2_CHECK_OFFSET(shmring2_slot, reserved, 56);
_Static_assert(sizeof(struct shmring2_slot) == SHMRING2_SLOT_HEADER_SIZE, "slot header size");
SHMRING2_CHECK_OFFSET(shmring2_block, head, 0);
SHMRING2_CHECK_OFFSET(shmring2_block, waiting, 8);
SHMRING2_CHECK_OFFSET(shmring2_block, taken, 12);
SHMRING2_CHECK_OFFSET(shmring2_block, reserved0, 16);
SHMRING2_CHECK_OFFSET(shmring2_block, tail, 64);
SHMRING2_CHECK_OFFSET(shmring2_block, reserved1, 72);
SHMRING2_CHECK_OFFSET(shmring2_block, queue, 128);
SHMRING2_CHECK_OFFSET(shmring2_block, holds, 384);
SHMRING2_CHECK_OFFSET(shmring2_block, reserved2, 640);
_Static_assert(sizeof(struct shmring2_block) == SHMRING2_BLOCK_SIZE, "block size");
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, type, 0);
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, size, 4);
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, version, 8);
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, role, 12);
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, holds, 16);
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, mode, 20);
SHMRING2_CHECK_OFFSET(shmring2_msg_hello, reserved, 24);
_Static_assert(sizeof(struct shmring2_msg_hello) == 32, "HELLO size");
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, type, 0);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, size, 4);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, version, 8);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, index, 12);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, pool_size, 16);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, generation, 24);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, holds, 32);
SHMRING2_CHECK_OFFSET(shmring2_msg_welcome, mode, 36);
_Static_assert(sizeof(struct shmring2_msg_welcome) == 40, "WELCOME size");
SHMRING2_CHECK_OFFSET(shmring2_msg_refused, type, 0);
SHMRING2_CHECK_OFFSET(shmring2_msg_refused, size, 4);
SHMRING2_CHECK_OFFSET(shmring2_msg_refused, error, 8);
SHMRING2_CHECK_OFFSET(shmring2_msg_refused, reserved, 12);
SHMRING2_CHECK_OFFSET(shmring2_msg_refused, message, 16);
_Static_assert(sizeof(struct shmring2_msg_refused) == 16 + SHMRING2_MESSAGE_MAX, "REFUSED size");

/* ======================================================================
 * API
 * ====================================================================== */

typedef struct shmring2_producer shmring2_producer;
typedef struct shmring2_consumer shmring2_consumer;

/* shmring2_producer_options.share */
#define SHMRING2_SHARE_UID (1u << 0) /* also accept readers of uid share_uid */
#define SHMRING2_SHARE_GID (1u << 1) /* also accept readers in group share_gid */

/* All zero = defaults.  Readers of the producer's own uid and root are
 * always accepted. */
struct shmring2_producer_options {
	uint64_t slot_size;     /* largest frame, bytes; rounded up to 4096; 0 = 4 MiB */
	uint32_t policy;        /* enum shmring_policy */
	uint32_t max_readers;   /* 0 = 4; at most SHMRING2_MAX_READERS */
	uint32_t queue_len;     /* 0 = 2; at most SHMRING2_QUEUE_MAX */
	uint32_t max_holds;     /* 0 = 2; at most SHMRING2_HOLDS_MAX */
	uint32_t max_reserved;  /* 0 = 2; at most SHMRING2_RESERVED_MAX */
	uint32_t share;         /* SHMRING2_SHARE_* */
	uint32_t share_uid, share_gid;
};

struct shmring2_consumer_options {
	uint32_t holds; /* frames held at once; 0 = the producer's max_holds (it caps the value) */
	uint32_t mode;  /* enum shmring2_mode */
};

/* A frame handed to the consumer: data points into the read-only pool and
 * is valid until shmring2_consumer_release() of this frame. */
struct shmring2_frame {
	const void *data;
	uint64_t size;
	uint64_t seq;
	struct shmring_meta meta;
	uint64_t commit_ns;
	const struct shmring_desc *desc; /* validated private copy */
	int desc_changed;                /* 1 if desc differs from the previous frame's */
	uint32_t _slot, _hold;           /* private */
};

struct shmring2_reader_stats {
	int32_t pid;
	uint32_t uid, mode, holds, lag;
	uint64_t frames_queued, frames_dropped;
};

struct shmring2_stats {
	uint64_t generation;
	uint64_t pool_size, slot_size;
	uint32_t n_slots, max_readers, queue_len, max_holds;
	uint32_t policy, state;
	int32_t producer_pid;
	uint32_t readers;          /* readers connected */
	uint64_t frames_written;
	/* consumer only: */
	uint64_t frames_read, frames_dropped; /* dropped: gaps in seq it saw */
	uint32_t held;
	/* per reader index (pid 0 = free), from the pool header */
	struct shmring2_reader_stats reader[SHMRING2_MAX_READERS];
};

const char *shmring2_last_error(void);

/* --- producer --- */
/* Bind the channel's name and start the door thread.  -EBUSY naming the
 * pid and uid of the producer that serves the name, -EINVAL (name or
 * options), -ENOMEM/-ENOSPC (the pool cannot be allocated). */
__attribute__((warn_unused_result)) int shmring2_producer_create(
	const char *name, const struct shmring2_producer_options *opts, shmring2_producer **out);
/* Same contract as shmring_producer_set_stream(). */
int shmring2_producer_set_stream(shmring2_producer *p, const struct shmring_stream_info *info);
/* Reserve a slot for a frame of up to max_size bytes.  Lossless: waits
 * (up to timeout_ns) until every lossless reader has room in its queue.
 * -EMSGSIZE (names the slot size), -EINVAL (no description yet, or
 * max_reserved reservations outstanding), -ETIMEDOUT, -EINTR, -ENOBUFS
 * (drop-new/live: a frame readers still hold names the description slot
 * a new description needs; the frame is dropped; lossless waits for its
 * release instead). */
__attribute__((warn_unused_result)) int shmring2_producer_reserve(
	shmring2_producer *p, size_t max_size, int64_t timeout_ns, void **data, uint64_t *id);
/* Publish size <= max_size bytes of reservation id to every reader, in
 * the order of commits.  Never waits. */
int shmring2_producer_commit(shmring2_producer *p, uint64_t id, size_t size,
			     const struct shmring_meta *meta);
int shmring2_producer_abort(shmring2_producer *p, uint64_t id);
/* reserve + copy + commit. */
int shmring2_producer_write(shmring2_producer *p, const void *data, size_t size,
			    const struct shmring_meta *meta, int64_t timeout_ns);
/* Push an end of stream to every reader (waits like reserve). */
int shmring2_producer_eos(shmring2_producer *p, int64_t timeout_ns);
uint64_t shmring2_producer_max_frame(const shmring2_producer *p);
/* Readers connected now. */
int shmring2_producer_readers(shmring2_producer *p);
void shmring2_producer_interrupt(shmring2_producer *p);
void shmring2_producer_resume(shmring2_producer *p);
int shmring2_producer_stats(shmring2_producer *p, struct shmring2_stats *st);
/* Store state CLOSED, wake the readers, hang up, free the name.  NULL ok. */
void shmring2_producer_close(shmring2_producer *p);

/* --- consumer --- */
/* Connect to channel name, waiting up to timeout_ns for its producer (a
 * producer that hangs up without answering is waited out like an absent
 * one).  -ENOENT (no producer by then), -EBUSY (reader limit: the message names
 * the limit and the readers' pids), -EACCES (uid not allowed: the message
 * names the setting that would let it in), -EBADMSG (memory that fails
 * the checks), -EPROTO (version).  opts NULL = defaults. */
__attribute__((warn_unused_result)) int shmring2_consumer_attach(
	const char *name, const struct shmring2_consumer_options *opts, int64_t timeout_ns,
	shmring2_consumer **out);
/* Wait for the next frame.  1 with *frame filled, 0 at end of stream
 * (and after a clean close that followed EOS), -ETIMEDOUT, -EINTR,
 * -ENOBUFS (holding its maximum: release a frame first), -EOWNERDEAD (the
 * producer died), -ESHUTDOWN (closed without EOS), -EBADMSG (corrupt
 * pool), -EPROTO (the producer disconnected this reader; message says
 * why).  SHMRING_NEXT_LATEST skips to the newest queued frame. */
int shmring2_consumer_next(shmring2_consumer *c, struct shmring2_frame *frame, int64_t timeout_ns,
			   unsigned flags);
/* Give a frame back; any order, any thread. */
int shmring2_consumer_release(shmring2_consumer *c, const struct shmring2_frame *frame);
unsigned shmring2_consumer_held(shmring2_consumer *c);
/* The newest published description, validated; -ENODATA if none. */
int shmring2_consumer_current_desc(shmring2_consumer *c, struct shmring_desc *out);
void shmring2_consumer_interrupt(shmring2_consumer *c);
void shmring2_consumer_resume(shmring2_consumer *c);
int shmring2_consumer_stats(shmring2_consumer *c, struct shmring2_stats *st);
/* Hang up (frames still held come back to the producer).  NULL ok. */
void shmring2_consumer_close(shmring2_consumer *c);

/* --- observer --- */
/* Connect as an observer, read the counters (and the current description
 * if desc is not NULL and there is one), hang up. */
__attribute__((warn_unused_result)) int shmring2_inspect(const char *name, struct shmring2_stats *st,
							 struct shmring_desc *desc);

#ifdef __cplusplus
}
#endif
#endif /* SHMRING_SHMRING2_H */
