/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shmring.h: the libshmring API and the protocol it speaks (byte layout, messages, ordering). */
#ifndef SHMRING_SHMRING_H
#define SHMRING_SHMRING_H

/*
 * libshmring moves frames from one producer process to several reader
 * processes through shared memory, each reader isolated from the others
 * and from the producer.  This header is the API and the byte-level
 * specification of the protocol (version 2); docs/PROTOCOL.md walks
 * through the same protocol step by step for implementers in other
 * languages.
 *
 * Conventions
 * -----------
 * - Every function that can fail returns 0 (or a non-negative count) on
 *   success and a negative errno value on failure.  Nothing prints, nothing
 *   exits.  shmring_strerror() names a code; shmring_last_error() gives the
 *   calling thread's detailed message for its last failure (channel name,
 *   sizes, pids), in the manner of dlerror().
 * - Timeouts are in nanoseconds: 0 = do not wait, SHMRING_FOREVER (-1) =
 *   wait without limit.  Every wait sleeps on a futex in slices of at most
 *   200 ms and can be woken from another thread with
 *   shmring_producer_interrupt() / shmring_consumer_interrupt(), and then
 *   returns -EINTR.
 * - Handles are opaque and belong to one process.  A producer handle is
 *   used by one thread at a time.  A consumer handle may release frames
 *   from any thread while another thread waits in shmring_consumer_next().
 *
 * Objects
 * -------
 * - The channel NAME is the abstract AF_UNIX
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
 *   offset 0                    struct shmring_pool_header        4096 bytes
 *   offset 4096                 struct shmring_desc[8]             8 x 4096
 *   offset slot_table_offset    struct shmring_slot[n_slots]      64 bytes each, padded to 4096
 *   offset payload_offset       n_slots payloads of slot_size bytes (multiple of 4096)
 *   pool_size = payload_offset + n_slots * slot_size = the memfd's size
 *
 * The payload of slot i is at payload_offset + i * slot_size.
 * n_slots = queue_len + max_readers * max_holds + max_reserved + 1 under
 * the lossless and live policies, where every commit reaches every
 * reader's queue, so the queues between them hold only the last
 * queue_len frames committed; under drop-new, where a full queue skips
 * frames, max_readers * (queue_len + max_holds) + max_reserved + 1.  A
 * reader pins at most its queue and max_holds slots whatever it writes,
 * so the producer always finds a free slot (PROTOCOL.md).
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
 * P2 push out (producer, queue full: live policy, a live reader, a
 *    lossless reader the stall timeout made live, or an end of stream,
 *    which reaches every reader): CAS(head, h, h + 1) acq_rel.  Success:
 *    the producer removed entry h.
 *    Failure: the reader took it first (T1); retry with the new head.
 * P3 pins (producer, before it picks a slot): per reader, acquire-load
 *    head FIRST (pairs with T1's CAS), then acquire-load holds[].  The
 *    reader stores holds[k] before the CAS that moves head, so an entry
 *    being taken is seen either in [head, tail) or in holds[].
 * R1 release (reader): release-store holds[k] = NONE (pairs with P3).
 * W1 reader wait: v = acquire-load commit_seq; store sleep_seq = v
 *    (relaxed); seq_cst store waiting = g (a new value for each sleep,
 *    never 0: a count); seq_cst load tail; if nothing new,
 *    FUTEX_WAIT(commit_seq, v) for at most 200 ms; store waiting = 0.
 * W2 producer wake: after P1 for every reader, seq_cst add 1 to
 *    commit_seq (new value c), then seq_cst load each reader's waiting,
 *    and for a nonzero one sleep_seq (ordered by that load); FUTEX_WAKE
 *    (commit_seq) if a reader waits with sleep_seq != c and waiting not
 *    the value it had at the producer's last wake (that reader is woken
 *    already, not yet run).  A reader with sleep_seq == c saw this
 *    commit and sleeps for the next one: no wake, none remembered (a
 *    wake now could come before its FUTEX_WAIT and be lost).  With W1
 *    (store, then load on each side) either the reader sees the new
 *    tail or the producer sees waiting.
 * W5 wake descriptor (HELLO flag SHMRING_HELLO_WAKE_FD): the reader's end
 *    of a socket pair comes as WELCOME's third descriptor.  The reader
 *    arms it when its queue is empty: read its bytes, store sleep_seq,
 *    seq_cst store waiting = g | SHMRING_WAITING_FD, seq_cst load tail.
 *    W2 then writes one byte (send, MSG_DONTWAIT | MSG_NOSIGNAL) to that
 *    reader's pair instead of waking the futex for it, with the same
 *    skip rules.  The producer's end closes when it closes, dies or drops
 *    the reader: end of file, the hang-up.
 * W3 lossless producer wait (a lossless reader's queue is full): seq_cst
 *    store producer_waiting = 1, seq_cst load each full reader's taken,
 *    re-check head, then FUTEX_WAITV on those taken words (200 ms at
 *    most); producer_waiting = 0.
 * W4 reader after a take: seq_cst add 1 to taken, seq_cst load
 *    producer_waiting; FUTEX_WAKE(taken) if it is 1.  Pairs with W3.
 *    Entries taken back to back may share one load and wake, after the
 *    last add (a reader that is not live takes every queued entry it has
 *    holds for at once).
 * D1 description: the producer stores id = 0, a release fence, writes
 *    every other field of a description slot, then release-stores its id
 *    (and then pool desc_id).  A reader acquire-loads id, copies the slot,
 *    issues an acquire fence and loads id again (a seqlock: a copy torn by
 *    a rewrite is refused), then validates the copy (below).
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
 * the last one it read, and its description (whole planes, below);
 * state OPEN or CLOSED.  It copies the identity once and never reads it
 * back.
 */

#include <errno.h> /* the -E* codes the functions return */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SHMRING_COMPILATION)
#define SHMRING_API __attribute__((visibility("default")))
#else
#define SHMRING_API
#endif
#define SHMRING_WUR __attribute__((warn_unused_result))


#define SHMRING_DESC_SLOT_SIZE 4096u
#define SHMRING_DESC_SLOTS 8u
#define SHMRING_NAME_MAX 99u /* channel name: 1..99 characters ("\0shmring/" NAME fills a sockaddr_un) */
#define SHMRING_CAPS_MAX 3968u /* caps string bytes, including the NUL */
#define SHMRING_MAX_PLANES 4u
#define SHMRING_NO_TIME UINT64_MAX /* pts/dts/duration not set */

/* pool_header.policy: what the producer does when a reader's queue is full. */
enum shmring_policy {
	SHMRING_POLICY_LOSSLESS = 0, /* wait for space (with a timeout) */
	SHMRING_POLICY_DROP_NEW = 1, /* drop the new frame, count it */
	SHMRING_POLICY_LIVE = 2,     /* reclaim the oldest unread frames; while the
				      * reader holds one, keep only the newest
				      * unread frame and drop the new one */
};

/* slot.flags and shmring_meta.flags (GStreamer buffer flags they map to). */
enum shmring_frame_flags {
	SHMRING_FLAG_DISCONT = 1u << 0,    /* GST_BUFFER_FLAG_DISCONT */
	SHMRING_FLAG_DELTA_UNIT = 1u << 1, /* GST_BUFFER_FLAG_DELTA_UNIT */
	SHMRING_FLAG_HEADER = 1u << 2,     /* GST_BUFFER_FLAG_HEADER */
	SHMRING_FLAG_GAP = 1u << 3,        /* GST_BUFFER_FLAG_GAP */
	SHMRING_FLAG_DROPPABLE = 1u << 4,  /* GST_BUFFER_FLAG_DROPPABLE */
	SHMRING_FLAG_MARKER = 1u << 5,     /* GST_BUFFER_FLAG_MARKER */
	SHMRING_FLAG_CORRUPTED = 1u << 6,  /* GST_BUFFER_FLAG_CORRUPTED */
	SHMRING_FLAG_LIVE = 1u << 7,       /* GST_BUFFER_FLAG_LIVE */
	SHMRING_FLAGS_ALL = 0xffu,
};

/*
 * struct shmring_desc_slot: the stream description ("caps") in force for
 * the frames that name it.  Slot i (0..7) is at desc_offset + i * 4096 and
 * holds the description whose id % 8 == i.  The producer writes every
 * field, then release-stores id; frame records carry desc_id, and a reader
 * acquire-loads id and checks it equals the frame's desc_id.  The producer
 * rewrites a slot only when no record that names its old id is left in
 * [B, write_pos).  Ids start at 1; 0 means "none".
 *
 *  off size field
 *    0   4  id            description id (0 = slot unused)
 *    4   4  caps_len      bytes of caps, without the NUL; < SHMRING_CAPS_MAX
 *    8  16  format        NUL-padded GStreamer video format name ("BGR",
 *                         "I420", ...); empty for non-raw caps
 *   24   4  width         pixels (0 for non-raw)
 *   28   4  height        pixels (0 for non-raw)
 *   32   4  n_planes      0..4 (0 for non-raw)
 *   36   4  fps_n         frame rate numerator (0 = unknown/variable)
 *   40   4  fps_d         frame rate denominator
 *   44   4  reserved0     zero
 *   48   8  frame_size    bytes of one frame (0 = variable, e.g. JPEG)
 *   56   8  reserved1     zero
 *   64  32  plane_offset[4]  u64, byte offset of each plane in the frame
 *   96  16  plane_stride[4]  u32, bytes per row of each plane
 *  112  16  reserved2     zero
 *  128 3968 caps          GStreamer caps string, NUL-terminated
 *
 * A reader must check: caps_len < SHMRING_CAPS_MAX and caps[caps_len] ==
 * 0; format NUL-terminated; n_planes <= 4; n_planes > 0 only with
 * frame_size > 0; and for every plane i < n_planes:
 *     plane_offset[i] + plane_stride[i] * rows(i) <= frame_size
 * where rows(i) = ceil(height / vertical subsampling of plane i), and
 * plane_stride[i] >= the bytes of one row of the plane.  A frame of a
 * description with planes must have size >= frame_size.
 *
 * Formats the library knows (planes; vertical subsampling of each plane):
 *   packed, 1 plane, rows = height: RGB BGR v308 RGBx BGRx xRGB xBGR RGBA
 *     BGRA ARGB ABGR AYUV VUYA r210 RGB16 BGR16 RGB15 BGR15 GRAY8
 *     GRAY16_LE GRAY16_BE YUY2 UYVY YVYU
 *   3 planes, planes 1-2 ceil(height/2) rows: I420 YV12 I420_10LE I420_10BE
 *     I420_12LE I420_12BE
 *   3 planes, all height rows: Y42B Y444 Y41B GBR I422_10LE I422_10BE
 *     Y444_10LE Y444_10BE
 *   3 planes, planes 1-2 ceil(height/4) rows: YUV9 YVU9
 *   2 planes, plane 1 ceil(height/2) rows: NV12 NV21 P010_10LE P010_10BE
 *     P012_LE P012_BE P016_LE P016_BE NV12_10LE32 NV12_10LE40 (the last two
 *     pack 10-bit pixels: row bytes are not checked)
 *   2 planes, tiled (the stride encodes tiles; only each plane_offset <=
 *     frame_size is checked, and a reader of the tiles must use GStreamer's
 *     own layout): NV12_4L4 NV12_32L32 NV12_16L32S NV12_64Z32 NV12_8L128
 *     NV12_10BE_8L128 NV12_10LE40_4L4 MT2110T MT2110R
 *   2 planes, all height rows: NV16 NV61 NV24
 *   4 planes: A420 (planes 1-2 ceil(height/2) rows), GBRA (all height)
 * A known format must have its number of planes.  Any other format (or
 * none, with planes) is checked conservatively: every plane with height
 * rows.  A subsampled format the library does not know therefore fails
 * that check; describe such a stream without planes (n_planes = 0, format
 * "") so readers treat its frames as opaque bytes.
 */
struct shmring_desc {
	uint32_t id;
	uint32_t caps_len;
	char format[16];
	uint32_t width;
	uint32_t height;
	uint32_t n_planes;
	uint32_t fps_n;
	uint32_t fps_d;
	uint32_t reserved0;
	uint64_t frame_size;
	uint64_t reserved1;
	uint64_t plane_offset[SHMRING_MAX_PLANES];
	uint32_t plane_stride[SHMRING_MAX_PLANES];
	uint8_t reserved2[16];
	char caps[SHMRING_CAPS_MAX];
};

#define SHMRING_CHECK_OFFSET(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field " offset")
SHMRING_CHECK_OFFSET(shmring_desc, id, 0);
SHMRING_CHECK_OFFSET(shmring_desc, caps_len, 4);
SHMRING_CHECK_OFFSET(shmring_desc, format, 8);
SHMRING_CHECK_OFFSET(shmring_desc, width, 24);
SHMRING_CHECK_OFFSET(shmring_desc, height, 28);
SHMRING_CHECK_OFFSET(shmring_desc, n_planes, 32);
SHMRING_CHECK_OFFSET(shmring_desc, fps_n, 36);
SHMRING_CHECK_OFFSET(shmring_desc, fps_d, 40);
SHMRING_CHECK_OFFSET(shmring_desc, reserved0, 44);
SHMRING_CHECK_OFFSET(shmring_desc, frame_size, 48);
SHMRING_CHECK_OFFSET(shmring_desc, reserved1, 56);
SHMRING_CHECK_OFFSET(shmring_desc, plane_offset, 64);
SHMRING_CHECK_OFFSET(shmring_desc, plane_stride, 96);
SHMRING_CHECK_OFFSET(shmring_desc, reserved2, 112);
SHMRING_CHECK_OFFSET(shmring_desc, caps, 128);
_Static_assert(sizeof(struct shmring_desc) == SHMRING_DESC_SLOT_SIZE, "desc slot size");

#define SHMRING_MAGIC 0x32474e49524d4853ull /* "SHMRING2" in memory order */
#define SHMRING_VERSION 2u
#define SHMRING_HEADER_SIZE 4096u
#define SHMRING_DESC_OFFSET 4096u
#define SHMRING_SLOT_TABLE_OFFSET (SHMRING_DESC_OFFSET + SHMRING_DESC_SLOTS * SHMRING_DESC_SLOT_SIZE)
#define SHMRING_SLOT_HEADER_SIZE 64u
#define SHMRING_READER_LINES_OFFSET 1024u
#define SHMRING_READER_LINE_SIZE 64u
#define SHMRING_MAX_READERS 32u   /* hard limit of max_readers */
#define SHMRING_QUEUE_MAX 64u     /* hard limit of queue_len */
#define SHMRING_HOLDS_MAX 64u     /* hard limit of max_holds */
#define SHMRING_RESERVED_MAX 16u  /* hard limit of max_reserved */
#define SHMRING_BLOCK_SIZE 4096u
#define SHMRING_SLOT_NONE UINT32_MAX /* holds[] entry: nothing held */
#define SHMRING_SLOT_ALIGN 4096u
#define SHMRING_MAX_SLOT_SIZE (1ull << 30)
#define SHMRING_MAX_POOL_SIZE (1ull << 36)
#define SHMRING_SOCKET_PREFIX "shmring/" /* after the abstract namespace's NUL */
#define SHMRING_MESSAGE_MAX 384u

/* pool_header.state */
enum shmring_state {
	SHMRING_STATE_OPEN = 1,   /* producing */
	SHMRING_STATE_CLOSED = 2, /* closed cleanly (eos says whether EOS came last) */
};

/* slot.type */
enum shmring_slot_type {
	SHMRING_SLOT_FRAME = 1, /* a frame: size bytes of payload */
	SHMRING_SLOT_EOS = 2,   /* end of stream; no payload */
};

/* HELLO.mode and reader line mode. */
enum shmring_mode {
	SHMRING_MODE_CHANNEL = 0, /* follow the channel's policy */
	SHMRING_MODE_LIVE = 1,    /* live whatever the policy: never holds the producer back */
};

/* HELLO.flags (the reserved field of protocol 2's first readers: a
 * producer that does not know a bit refuses it with EPROTO). */
#define SHMRING_HELLO_WAKE_FD 1ull /* a reader that wants a wake descriptor (W5) */
#define SHMRING_HELLO_FLAGS_ALL SHMRING_HELLO_WAKE_FD
/* block.waiting bit 31: the reader sleeps on its wake descriptor (W5). */
#define SHMRING_WAITING_FD 0x80000000u

/* HELLO.role */
enum shmring_role {
	SHMRING_ROLE_READER = 1,   /* gets the pool and a block, frames in its queue */
	SHMRING_ROLE_OBSERVER = 2, /* gets the pool only, reads the counters */
};

/*
 * struct shmring_pool_header: offset 0 of the pool, 4096 bytes, written
 * by the producer only.  Unlisted bytes are zero.
 *
 *  off size field                 notes
 *  --- identity: written before the pool is sealed, then constant
 *    0   8  magic                 SHMRING_MAGIC
 *    8   4  version               SHMRING_VERSION
 *   12   4  header_size           4096
 *   16   8  pool_size             = memfd size
 *   24   8  slot_table_offset     SHMRING_SLOT_TABLE_OFFSET
 *   32   8  payload_offset        slot_table_offset + n_slots * 64 rounded up to 4096
 *   40   8  slot_size             multiple of 4096, 4 KiB .. 1 GiB
 *   48   8  generation            differs for every producer start
 *   56   4  n_slots               queue_len + max_readers * max_holds + max_reserved + 1
 *                                  (drop-new: max_readers * (queue_len + max_holds) + max_reserved + 1)
 *   60   4  max_readers           1 .. 32
 *   64   4  queue_len             1 .. 64
 *   68   4  max_holds             1 .. 64
 *   72   4  max_reserved          1 .. 16
 *   76   4  policy                enum shmring_policy
 *   80   4  block_size            SHMRING_BLOCK_SIZE
 *   84   4  desc_offset           SHMRING_DESC_OFFSET
 *   88   4  desc_slot_size        SHMRING_DESC_SLOT_SIZE
 *   92   4  desc_slots            SHMRING_DESC_SLOTS
 *   96   4  reader_lines_offset   SHMRING_READER_LINES_OFFSET
 *  100  28  reserved0             zero
 *  --- producer line (128..191)
 *  128   4  commit_seq            futex word: +1 per commit or state change (W2)
 *  132   4  state                 enum shmring_state (S1)
 *  136   8  frames_written        frames committed
 *  144   8  next_seq              sequence number of the next frame
 *  152   4  desc_id               newest published description, 0 = none
 *  156   4  producer_pid
 *  160   4  producer_waiting      1 while waiting for a lossless reader (W3)
 *  164   4  eos                   1 when the newest entry pushed is EOS
 *  168   4  readers               readers connected
 *  172   4  reserved1             zero
 *  176   8  frames_lost           frames numbered but never written: lost
 *                                 before this channel (shmring_producer_set_seq)
 *  184   8  reserved2             zero
 *  --- reader lines: 1024 + i * 64 for reader index i < max_readers
 */
struct shmring_pool_header {
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
	uint32_t reserved1;
	uint64_t frames_lost;
	uint64_t reserved2;

	uint8_t reserved3[SHMRING_HEADER_SIZE - 192];
};

/*
 * struct shmring_reader_line: 64 bytes per reader index in the pool
 * header, written by the producer (what `info` and `top` show).
 *
 *  off size field
 *    0   4  pid            0 = index free
 *    4   4  uid
 *    8   4  mode           enum shmring_mode granted
 *   12   4  holds          max holds granted
 *   16   8  frames_queued  frames pushed into its queue
 *   24   8  frames_dropped frames it did not get (queue full) or lost (pushed out)
 *   32   4  lag            entries in its queue at the last commit
 *   36   4  flags          SHMRING_READER_* (0 = none)
 *   40  24  reserved       zero
 */
struct shmring_reader_line {
	uint32_t pid;
	uint32_t uid;
	uint32_t mode;
	uint32_t holds;
	uint64_t frames_queued;
	uint64_t frames_dropped;
	uint32_t lag;
	uint32_t flags;
	uint8_t reserved[24];
};

/* reader line flags */
enum shmring_reader_flags {
	/* A lossless reader that held the producer back longer than its
	 * stall timeout (shmring_producer_set_stall_timeout()): live until
	 * its queue is empty again, its oldest entries pushed out meanwhile. */
	SHMRING_READER_STALLED = 1u << 0,
};

/*
 * struct shmring_slot: the header of slot i, at slot_table_offset + i * 64,
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
 *   52   2  type         enum shmring_slot_type
 *   54   2  flags        enum shmring_frame_flags
 *   56   8  reserved     zero
 */
struct shmring_slot {
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
 * struct shmring_block: a reader's block, 4096 bytes.  The reader may
 * write any byte of it; the producer validates what it reads (see above).
 *
 *  off size field        writer
 *    0   8  head         reader (T1); producer too (P2, CAS only)
 *    8   4  waiting      reader: nonzero while asleep, new each sleep; bit 31 set on its
 *                        wake descriptor (W5), clear on commit_seq (W1)
 *   12   4  taken        reader: futex word, +1 per entry taken (W4)
 *   16   4  sleep_seq    reader: the commit_seq value it sleeps on (W1)
 *   20  44  reserved0    zero
 *   64   8  tail         producer: entries pushed so far (P1)
 *   72  56  reserved1    zero
 *  128 256  queue[64]    producer: slot index of entry i at queue[i % queue_len]
 *  384 256  holds[64]    reader: slot indices it holds or SHMRING_SLOT_NONE;
 *                        entries >= max_holds granted stay NONE
 *  640 ...  reserved2    zero
 */
struct shmring_block {
	uint64_t head;
	uint32_t waiting;
	uint32_t taken;
	uint32_t sleep_seq;
	uint8_t reserved0[44];
	uint64_t tail;
	uint8_t reserved1[56];
	uint32_t queue[SHMRING_QUEUE_MAX];
	uint32_t holds[SHMRING_HOLDS_MAX];
	uint8_t reserved2[SHMRING_BLOCK_SIZE - 640];
};

/*
 * Messages: one struct per SOCK_SEQPACKET message, each starting with
 * u32 type, u32 size (= sizeof the struct).  A wrong size, an unknown
 * type or an unexpected descriptor count closes the connection.
 *
 *   HELLO    reader -> producer, first message, no descriptors
 *   WELCOME  producer -> reader: the pool (+ the block for a reader, + the
 *            wake descriptor for a reader that set SHMRING_HELLO_WAKE_FD)
 *   REFUSED  producer -> reader, then the producer hangs up: error is the
 *            errno the reader returns (EBUSY: reader limit, with the pids;
 *            EACCES: uid not allowed; EPROTO: bad HELLO or block), message
 *            a NUL-terminated sentence naming the problem and the fix.
 * A clean close needs no message: the producer stores state CLOSED (S1)
 * before it hangs up; a hang-up with state OPEN means it died.  A reader
 * closes by hanging up.
 */
enum shmring_msg_type {
	SHMRING_MSG_HELLO = 1,
	SHMRING_MSG_WELCOME = 2,
	SHMRING_MSG_REFUSED = 3,
};

/*  off size field
 *    0   4  type = HELLO      4   4  size = 32
 *    8   4  version           12  4  role (enum shmring_role)
 *   16   4  holds wanted (0 = the producer's max_holds)
 *   20   4  mode (enum shmring_mode)       24  8  flags (SHMRING_HELLO_*) */
struct shmring_msg_hello {
	uint32_t type;
	uint32_t size;
	uint32_t version;
	uint32_t role;
	uint32_t holds;
	uint32_t mode;
	uint64_t flags;
};

/*  off size field
 *    0   4  type = WELCOME    4   4  size = 40
 *    8   4  version           12  4  reader index (UINT32_MAX: observer)
 *   16   8  pool_size         24  8  generation
 *   32   4  holds granted     36  4  mode granted
 * Descriptors: the pool, then the block (readers only), then the wake
 * descriptor (readers that set SHMRING_HELLO_WAKE_FD only). */
struct shmring_msg_welcome {
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
 *    0   4  type = REFUSED    4   4  size = 16 + SHMRING_MESSAGE_MAX
 *    8   4  error (positive errno)  12 4 reserved
 *   16 384  message, NUL-terminated */
struct shmring_msg_refused {
	uint32_t type;
	uint32_t size;
	int32_t error;
	uint32_t reserved;
	char message[SHMRING_MESSAGE_MAX];
};

SHMRING_CHECK_OFFSET(shmring_pool_header, magic, 0);
SHMRING_CHECK_OFFSET(shmring_pool_header, version, 8);
SHMRING_CHECK_OFFSET(shmring_pool_header, header_size, 12);
SHMRING_CHECK_OFFSET(shmring_pool_header, pool_size, 16);
SHMRING_CHECK_OFFSET(shmring_pool_header, slot_table_offset, 24);
SHMRING_CHECK_OFFSET(shmring_pool_header, payload_offset, 32);
SHMRING_CHECK_OFFSET(shmring_pool_header, slot_size, 40);
SHMRING_CHECK_OFFSET(shmring_pool_header, generation, 48);
SHMRING_CHECK_OFFSET(shmring_pool_header, n_slots, 56);
SHMRING_CHECK_OFFSET(shmring_pool_header, max_readers, 60);
SHMRING_CHECK_OFFSET(shmring_pool_header, queue_len, 64);
SHMRING_CHECK_OFFSET(shmring_pool_header, max_holds, 68);
SHMRING_CHECK_OFFSET(shmring_pool_header, max_reserved, 72);
SHMRING_CHECK_OFFSET(shmring_pool_header, policy, 76);
SHMRING_CHECK_OFFSET(shmring_pool_header, block_size, 80);
SHMRING_CHECK_OFFSET(shmring_pool_header, desc_offset, 84);
SHMRING_CHECK_OFFSET(shmring_pool_header, desc_slot_size, 88);
SHMRING_CHECK_OFFSET(shmring_pool_header, desc_slots, 92);
SHMRING_CHECK_OFFSET(shmring_pool_header, reader_lines_offset, 96);
SHMRING_CHECK_OFFSET(shmring_pool_header, reserved0, 100);
SHMRING_CHECK_OFFSET(shmring_pool_header, commit_seq, 128);
SHMRING_CHECK_OFFSET(shmring_pool_header, state, 132);
SHMRING_CHECK_OFFSET(shmring_pool_header, frames_written, 136);
SHMRING_CHECK_OFFSET(shmring_pool_header, next_seq, 144);
SHMRING_CHECK_OFFSET(shmring_pool_header, desc_id, 152);
SHMRING_CHECK_OFFSET(shmring_pool_header, producer_pid, 156);
SHMRING_CHECK_OFFSET(shmring_pool_header, producer_waiting, 160);
SHMRING_CHECK_OFFSET(shmring_pool_header, eos, 164);
SHMRING_CHECK_OFFSET(shmring_pool_header, readers, 168);
SHMRING_CHECK_OFFSET(shmring_pool_header, reserved1, 172);
SHMRING_CHECK_OFFSET(shmring_pool_header, frames_lost, 176);
SHMRING_CHECK_OFFSET(shmring_pool_header, reserved2, 184);
SHMRING_CHECK_OFFSET(shmring_pool_header, reserved3, 192);
_Static_assert(sizeof(struct shmring_pool_header) == SHMRING_HEADER_SIZE, "pool header size");
_Static_assert(SHMRING_READER_LINES_OFFSET + SHMRING_MAX_READERS * SHMRING_READER_LINE_SIZE <=
		       SHMRING_HEADER_SIZE, "reader lines fit the header");
SHMRING_CHECK_OFFSET(shmring_reader_line, pid, 0);
SHMRING_CHECK_OFFSET(shmring_reader_line, uid, 4);
SHMRING_CHECK_OFFSET(shmring_reader_line, mode, 8);
SHMRING_CHECK_OFFSET(shmring_reader_line, holds, 12);
SHMRING_CHECK_OFFSET(shmring_reader_line, frames_queued, 16);
SHMRING_CHECK_OFFSET(shmring_reader_line, frames_dropped, 24);
SHMRING_CHECK_OFFSET(shmring_reader_line, lag, 32);
SHMRING_CHECK_OFFSET(shmring_reader_line, flags, 36);
SHMRING_CHECK_OFFSET(shmring_reader_line, reserved, 40);
_Static_assert(sizeof(struct shmring_reader_line) == SHMRING_READER_LINE_SIZE, "reader line size");
SHMRING_CHECK_OFFSET(shmring_slot, seq, 0);
SHMRING_CHECK_OFFSET(shmring_slot, size, 8);
SHMRING_CHECK_OFFSET(shmring_slot, pts, 16);
SHMRING_CHECK_OFFSET(shmring_slot, dts, 24);
SHMRING_CHECK_OFFSET(shmring_slot, duration, 32);
SHMRING_CHECK_OFFSET(shmring_slot, commit_ns, 40);
SHMRING_CHECK_OFFSET(shmring_slot, desc_id, 48);
SHMRING_CHECK_OFFSET(shmring_slot, type, 52);
SHMRING_CHECK_OFFSET(shmring_slot, flags, 54);
SHMRING_CHECK_OFFSET(shmring_slot, reserved, 56);
_Static_assert(sizeof(struct shmring_slot) == SHMRING_SLOT_HEADER_SIZE, "slot header size");
SHMRING_CHECK_OFFSET(shmring_block, head, 0);
SHMRING_CHECK_OFFSET(shmring_block, waiting, 8);
SHMRING_CHECK_OFFSET(shmring_block, taken, 12);
SHMRING_CHECK_OFFSET(shmring_block, sleep_seq, 16);
SHMRING_CHECK_OFFSET(shmring_block, reserved0, 20);
SHMRING_CHECK_OFFSET(shmring_block, tail, 64);
SHMRING_CHECK_OFFSET(shmring_block, reserved1, 72);
SHMRING_CHECK_OFFSET(shmring_block, queue, 128);
SHMRING_CHECK_OFFSET(shmring_block, holds, 384);
SHMRING_CHECK_OFFSET(shmring_block, reserved2, 640);
_Static_assert(sizeof(struct shmring_block) == SHMRING_BLOCK_SIZE, "block size");
SHMRING_CHECK_OFFSET(shmring_msg_hello, type, 0);
SHMRING_CHECK_OFFSET(shmring_msg_hello, size, 4);
SHMRING_CHECK_OFFSET(shmring_msg_hello, version, 8);
SHMRING_CHECK_OFFSET(shmring_msg_hello, role, 12);
SHMRING_CHECK_OFFSET(shmring_msg_hello, holds, 16);
SHMRING_CHECK_OFFSET(shmring_msg_hello, mode, 20);
SHMRING_CHECK_OFFSET(shmring_msg_hello, flags, 24);
_Static_assert(sizeof(struct shmring_msg_hello) == 32, "HELLO size");
SHMRING_CHECK_OFFSET(shmring_msg_welcome, type, 0);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, size, 4);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, version, 8);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, index, 12);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, pool_size, 16);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, generation, 24);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, holds, 32);
SHMRING_CHECK_OFFSET(shmring_msg_welcome, mode, 36);
_Static_assert(sizeof(struct shmring_msg_welcome) == 40, "WELCOME size");
SHMRING_CHECK_OFFSET(shmring_msg_refused, type, 0);
SHMRING_CHECK_OFFSET(shmring_msg_refused, size, 4);
SHMRING_CHECK_OFFSET(shmring_msg_refused, error, 8);
SHMRING_CHECK_OFFSET(shmring_msg_refused, reserved, 12);
SHMRING_CHECK_OFFSET(shmring_msg_refused, message, 16);
_Static_assert(sizeof(struct shmring_msg_refused) == 16 + SHMRING_MESSAGE_MAX, "REFUSED size");

/* ======================================================================
 * API
 * ====================================================================== */

#define SHMRING_FOREVER (-1ll)

/* Per-frame metadata given at commit and returned with every frame. */
struct shmring_meta {
	uint64_t pts;      /* ns or SHMRING_NO_TIME */
	uint64_t dts;      /* ns or SHMRING_NO_TIME */
	uint64_t duration; /* ns or SHMRING_NO_TIME */
	uint32_t flags;    /* enum shmring_frame_flags; other bits are ignored */
};
#define SHMRING_META_INIT {SHMRING_NO_TIME, SHMRING_NO_TIME, SHMRING_NO_TIME, 0}

/* Stream description given by the producer (see struct shmring_desc). */
struct shmring_stream_info {
	const char *caps;   /* GStreamer caps string; required */
	const char *format; /* video format name or NULL/"" for non-raw */
	uint32_t width, height;
	uint32_t fps_n, fps_d;
	uint32_t n_planes;
	uint64_t frame_size; /* 0 = variable-size frames */
	uint64_t plane_offset[SHMRING_MAX_PLANES];
	uint32_t plane_stride[SHMRING_MAX_PLANES];
};

SHMRING_API const char *shmring_strerror(int err);
SHMRING_API const char *shmring_last_error(void);
SHMRING_API const char *shmring_policy_name(uint32_t policy);
/* Parse "lossless", "drop-new" or "live"; returns the policy or -EINVAL. */
SHMRING_API int shmring_policy_from_name(const char *name);
/* 0 if name is a valid channel name, else -EINVAL (detail in last_error). */
SHMRING_API int shmring_name_check(const char *name);
/* Monotonic clock in ns, the clock of commit_ns. */
SHMRING_API uint64_t shmring_now_ns(void);

#define SHMRING_NEXT_LATEST 1u /* shmring_consumer_next(): skip to the newest queued frame */


typedef struct shmring_producer shmring_producer;
typedef struct shmring_consumer shmring_consumer;

/* A token that ends a wait in another thread at once
 * (shmring_consumer_attach_cancel(), shmring_producer_watch_readers()).
 * Zero-initialise it; fired stays set until reset. */
struct shmring_cancel {
	uint32_t word;   /* private */
	int32_t fired;
};
SHMRING_API void shmring_cancel_fire(struct shmring_cancel *cancel);
SHMRING_API void shmring_cancel_reset(struct shmring_cancel *cancel);

/* shmring_producer_options.share */
#define SHMRING_SHARE_UID (1u << 0) /* also accept readers of uid share_uid */
#define SHMRING_SHARE_GID (1u << 1) /* also accept readers in group share_gid */

/* All zero = defaults.  Readers of the producer's own uid and root are
 * always accepted. */
struct shmring_producer_options {
	uint64_t slot_size;     /* largest frame, bytes; rounded up to 4096; 0 = 4 MiB */
	uint32_t policy;        /* enum shmring_policy */
	uint32_t max_readers;   /* 0 = 4; at most SHMRING_MAX_READERS */
	uint32_t queue_len;     /* 0 = 8 under lossless (room for a reader's hiccups; the pool
				 * grows by one slot per frame), 2 under drop-new and live (what a
				 * lagging reader sees first stays fresh); at most SHMRING_QUEUE_MAX */
	uint32_t max_holds;     /* 0 = 3 (a GStreamer reader lends the frame being rendered and the
				 * sink's last sample, and takes the next into the third); at most
				 * SHMRING_HOLDS_MAX */
	uint32_t max_reserved;  /* 0 = 2; at most SHMRING_RESERVED_MAX */
	uint32_t share;         /* SHMRING_SHARE_* */
	uint32_t share_uid, share_gid;
};

/* shmring_consumer_options.trust */
#define SHMRING_TRUST_UID (1u << 0) /* also accept a producer of uid producer_uid */
#define SHMRING_TRUST_GID (1u << 1) /* also accept a producer in group producer_gid */

/* shmring_consumer_options.mode: attach with a wake descriptor
 * (shmring_consumer_fd()).  A flag in mode rather than a new field: a
 * program built against the first headers passes a struct without one.
 * A library without it refuses the mode with -EINVAL. */
#define SHMRING_CONSUMER_POLLABLE (1u << 16)

/* A reader takes frames only from a producer running as its own uid or
 * root, unless trust widens it: anyone can bind an abstract name first. */
struct shmring_consumer_options {
	uint32_t holds; /* frames held at once; 0 = the producer's max_holds (it caps the value) */
	uint32_t mode;  /* enum shmring_mode, OR-ed with SHMRING_CONSUMER_POLLABLE */
	uint32_t trust; /* SHMRING_TRUST_* */
	uint32_t producer_uid, producer_gid;
};

/* A frame handed to the consumer: data points into the read-only pool and
 * is valid until shmring_consumer_release() of this frame. */
struct shmring_frame {
	const void *data;
	uint64_t size;
	uint64_t seq;
	struct shmring_meta meta;
	uint64_t commit_ns;
	const struct shmring_desc *desc; /* validated private copy */
	int desc_changed;                /* 1 if desc differs from the previous frame's */
	uint32_t _slot, _hold;           /* private */
};

struct shmring_reader_stats {
	int32_t pid;
	uint32_t uid, mode, holds, lag;
	uint32_t flags; /* SHMRING_READER_* (in what was padding: the layout is unchanged) */
	uint64_t frames_queued, frames_dropped;
};

struct shmring_stats {
	uint64_t generation;
	uint64_t pool_size, slot_size;
	uint32_t n_slots, max_readers, queue_len, max_holds;
	uint32_t policy, state;
	int32_t producer_pid;
	uint32_t readers;          /* readers connected */
	uint64_t frames_written;
	uint64_t frames_lost;      /* lost before the channel (shmring_producer_set_seq) */
	uint64_t frames_dropped_gone; /* producer only: frames dropped for readers that left */
	/* consumer only: */
	uint64_t frames_read, frames_dropped; /* dropped: gaps in seq it saw */
	uint32_t held;
	/* per reader index (pid 0 = free), from the pool header */
	struct shmring_reader_stats reader[SHMRING_MAX_READERS];
};


/* --- producer --- */
/* Bind the channel's name and start the door thread.  -EBUSY naming the
 * pid and uid of the producer that serves the name, -EINVAL (name or
 * options), -ENOMEM/-ENOSPC (the pool cannot be allocated). */
SHMRING_API SHMRING_WUR int shmring_producer_create(
	const char *name, const struct shmring_producer_options *opts, shmring_producer **out);
/* Same contract as shmring_producer_set_stream(). */
SHMRING_API int shmring_producer_set_stream(shmring_producer *p, const struct shmring_stream_info *info);
/* Reserve a slot for a frame of up to max_size bytes.  Lossless: waits
 * (up to timeout_ns) until every lossless reader has room in its queue.
 * -EMSGSIZE (names the slot size), -EINVAL (no description yet, or
 * max_reserved reservations outstanding), -ETIMEDOUT, -EINTR, -ENOBUFS
 * (drop-new/live: a frame readers still hold names the description slot
 * a new description needs; the frame is dropped; lossless waits for its
 * release instead). */
SHMRING_API SHMRING_WUR int shmring_producer_reserve(
	shmring_producer *p, size_t max_size, int64_t timeout_ns, void **data, uint64_t *id);
/* Publish size <= max_size bytes of reservation id to every reader, in
 * the order of commits.  Never waits. */
SHMRING_API int shmring_producer_commit(shmring_producer *p, uint64_t id, size_t size,
			     const struct shmring_meta *meta);
/* Give reservation id back: a frame not committed is never published;
 * a lent slot that was committed stays published, and is reused once the
 * readers have released it too. */
SHMRING_API int shmring_producer_abort(shmring_producer *p, uint64_t id);
/* Reserve a slot to lend to code that may keep it a while before the
 * commit (a buffer pool: a queue between the allocation and the commit).
 * Never waits: room in the lossless queues is waited for at
 * shmring_producer_commit_lent() instead, so a lent slot never claims
 * room that a reservation made after it needs first.  The slot stays the
 * caller's, committed or not, until shmring_producer_abort(): memory the
 * caller still reads after the commit is never reused meanwhile.  Lent
 * slots count against max_reserved like the others.  -EMSGSIZE, -EINVAL
 * (as reserve), -ENOBUFS (drop-new/live: as reserve), -EAGAIN (lossless:
 * a frame readers hold names the description slot a new description
 * needs; lend later, or reserve and wait). */
SHMRING_API SHMRING_WUR int shmring_producer_lend(shmring_producer *p, size_t max_size, void **data,
						  uint64_t *id);
/* Publish size <= max_size bytes of lent reservation id.  Lossless: waits
 * (up to timeout_ns) for room in every lossless reader's queue first;
 * -ETIMEDOUT, -EINTR (the slot stays lent, uncommitted), -EINVAL (not a
 * lent reservation, already committed, or given back while waiting).  The
 * slot stays pinned until shmring_producer_abort(id). */
SHMRING_API int shmring_producer_commit_lent(shmring_producer *p, uint64_t id, size_t size,
					     const struct shmring_meta *meta, int64_t timeout_ns);
/* reserve + copy + commit. */
SHMRING_API int shmring_producer_write(shmring_producer *p, const void *data, size_t size,
			    const struct shmring_meta *meta, int64_t timeout_ns);
/* Push an end of stream to every reader (waits like reserve).  It
 * reaches every reader, a drop-new reader's full queue too: there it
 * pushes the oldest entry out (counted as dropped). */
SHMRING_API int shmring_producer_eos(shmring_producer *p, int64_t timeout_ns);
/* Number the next frame seq, for a producer that republishes frames
 * numbered elsewhere (a network receiver): seq >= the number the next
 * frame would get, else -EINVAL naming both.  Before the first frame it
 * sets where the numbering starts; after it, the numbers skipped are
 * frames lost before this channel: every reader sees them as a gap
 * (dropped frames) and frames_lost counts them. */
SHMRING_API int shmring_producer_set_seq(shmring_producer *p, uint64_t seq);
SHMRING_API uint64_t shmring_producer_max_frame(const shmring_producer *p);
/* Readers connected now. */
SHMRING_API int shmring_producer_readers(shmring_producer *p);
/* Wait until at least one reader is attached: 0 (at once if one is),
 * -ETIMEDOUT, -EINTR (shmring_producer_interrupt()).  A frame committed
 * after it returns 0 reaches that reader. */
SHMRING_API int shmring_producer_wait_reader(shmring_producer *p, int64_t timeout_ns);
/* Wait until a reader attaches or leaves after the change *changes counts
 * (0 the first time), then store the new count in *changes and return the
 * readers connected now; -ETIMEDOUT, or -EINTR once cancel (may be NULL)
 * is fired.  For a thread that reports readers while no frame flows. */
SHMRING_API int shmring_producer_watch_readers(shmring_producer *p, uint32_t *changes, int64_t timeout_ns,
					       struct shmring_cancel *cancel);
SHMRING_API void shmring_producer_interrupt(shmring_producer *p);
SHMRING_API void shmring_producer_resume(shmring_producer *p);
SHMRING_API int shmring_producer_stats(shmring_producer *p, struct shmring_stats *st);
/* Bound how long a lossless reader may hold the producer back: a reader
 * whose queue stays full while the producer waits for it (reserve,
 * commit_lent, eos) for timeout_ns in all, without making room, is made
 * live: the producer stops waiting for it and pushes its oldest entries
 * out (P2), which it sees as dropped frames (a gap in seq, its drop
 * count), until its queue is empty again; then it is lossless again.
 * The time counts only while the producer waits, and starts again from
 * zero whenever the reader has room.  0 (the default) = no bound: the
 * producer waits for its slowest lossless reader as long as its own
 * timeout says.  Each reader made live is reported once by
 * shmring_producer_take_stalled(), and its reader line (stats, `shmring
 * info`) carries SHMRING_READER_STALLED while it is live.  -EINVAL for a
 * negative timeout. */
SHMRING_API int shmring_producer_set_stall_timeout(shmring_producer *p, int64_t timeout_ns);
/* The oldest report not taken yet of a reader the stall timeout made
 * live: its pid (> 0), with a sentence naming the channel, the pid and
 * the setting in msg (len bytes, may be 0); 0 if there is none.  The
 * producer keeps the last SHMRING_MAX_READERS reports. */
SHMRING_API int shmring_producer_take_stalled(shmring_producer *p, char *msg, size_t len);
/* Store state CLOSED, wake the readers, hang up, free the name.  NULL ok. */
SHMRING_API void shmring_producer_close(shmring_producer *p);

/* --- consumer --- */
/* Connect to channel name, waiting up to timeout_ns for its producer (a
 * producer that hangs up without answering is waited out like an absent
 * one).  -ENOENT (no producer by then), -EBUSY (reader limit: the message names
 * the limit and the readers' pids), -EACCES (uid not allowed: the message
 * names the setting that would let it in), -EBADMSG (memory that fails
 * the checks), -EPROTO (version).  opts NULL = defaults. */
SHMRING_API SHMRING_WUR int shmring_consumer_attach(
	const char *name, const struct shmring_consumer_options *opts, int64_t timeout_ns,
	shmring_consumer **out);
/* shmring_consumer_attach() that returns -EINTR as soon as cancel is
 * fired (or at once if it was).  cancel NULL: shmring_consumer_attach(). */
SHMRING_API SHMRING_WUR int shmring_consumer_attach_cancel(
	const char *name, const struct shmring_consumer_options *opts, int64_t timeout_ns,
	struct shmring_cancel *cancel, shmring_consumer **out);
/* Wait for the next frame.  1 with *frame filled, 0 at end of stream
 * (and after a clean close that followed EOS), -ETIMEDOUT, -EINTR,
 * -ENOBUFS (holding its maximum: release a frame first), -EOWNERDEAD (the
 * producer died), -ESHUTDOWN (closed without EOS), -EBADMSG (corrupt
 * pool), -EPROTO (the producer disconnected this reader; message says
 * why).  SHMRING_NEXT_LATEST skips to the newest queued frame. */
SHMRING_API int shmring_consumer_next(shmring_consumer *c, struct shmring_frame *frame, int64_t timeout_ns,
			   unsigned flags);
/* The reader's wake descriptor (attached with SHMRING_CONSUMER_POLLABLE),
 * for poll(), epoll or a main loop: readable when a frame, the end of
 * stream or a state change (the producer closed or died) is due.  It is
 * armed by shmring_consumer_next() with timeout 0 returning -ETIMEDOUT:
 * call it until then, and wait on the descriptor only after that (a
 * readable descriptor may also be a wake for nothing: call next() and it
 * arms again).  The reader owns it: do not read or close it.  -EINVAL if
 * the reader was attached without SHMRING_CONSUMER_POLLABLE. */
SHMRING_API int shmring_consumer_fd(shmring_consumer *c);
/* Give a frame back; any order, any thread. */
SHMRING_API int shmring_consumer_release(shmring_consumer *c, const struct shmring_frame *frame);
SHMRING_API unsigned shmring_consumer_held(shmring_consumer *c);
/* The newest published description, validated; -ENODATA if none. */
SHMRING_API int shmring_consumer_current_desc(shmring_consumer *c, struct shmring_desc *out);
SHMRING_API void shmring_consumer_interrupt(shmring_consumer *c);
SHMRING_API void shmring_consumer_resume(shmring_consumer *c);
SHMRING_API int shmring_consumer_stats(shmring_consumer *c, struct shmring_stats *st);
/* Hang up (frames still held come back to the producer).  NULL ok. */
SHMRING_API void shmring_consumer_close(shmring_consumer *c);

/* --- observer --- */
/* Connect as an observer, read the counters (and the current description
 * if desc is not NULL and there is one), hang up. */
SHMRING_API SHMRING_WUR int shmring_inspect(const char *name, struct shmring_stats *st,
							 struct shmring_desc *desc);

#ifdef __cplusplus
}
#endif
#endif /* SHMRING_SHMRING_H */
