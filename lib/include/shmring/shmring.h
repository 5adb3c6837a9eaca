/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shmring.h: the libshmring API and the shared-memory layout it speaks. */
#ifndef SHMRING_SHMRING_H
#define SHMRING_SHMRING_H

/*
 * libshmring moves frames from one producer process to one consumer process
 * through a ring in POSIX shared memory.  This header is the API and the
 * specification of the shared-memory layout; docs/PROTOCOL.md walks through
 * the same protocol step by step for implementers in other languages.
 *
 * Conventions
 * -----------
 * - Every function that can fail returns 0 (or a non-negative count) on
 *   success and a negative errno value on failure.  Nothing prints, nothing
 *   exits.  shmring_strerror() names a code; shmring_last_error() gives the
 *   calling thread's detailed message for its last failure (channel name,
 *   sizes, pids), in the manner of dlerror().
 * - Timeouts are in nanoseconds: 0 = do not wait, SHMRING_FOREVER (-1) =
 *   wait without limit.  Every blocking call can be woken from another
 *   thread with shmring_producer_interrupt() / shmring_consumer_interrupt(),
 *   and then returns -EINTR.
 * - A waiting side first spins for up to 20 us (when the machine has more
 *   than one CPU), then sleeps on a futex.  The environment variable
 *   SHMRING_SPIN_NS sets the spin time in ns; 0 turns spinning off.
 * - Handles are opaque and belong to one process.  A producer handle is
 *   used by one thread at a time.  A consumer handle may release frames
 *   from any thread while another thread waits in shmring_consumer_next().
 *
 * Error codes used
 * ----------------
 *   -EINVAL     bad argument (name, size, option)      -ENOENT   no such channel
 *   -EBUSY      channel already has a producer/reader  -ETIMEDOUT wait timed out
 *   -EINTR      interrupted                            -EMSGSIZE frame larger than the ring
 *   -ENOSPC     /dev/shm too small for the segment     -ENOBUFS  frame dropped (ring full)
 *   -EBADMSG    corrupt or hostile segment             -EPROTO   unknown protocol version
 *   -EOWNERDEAD the producer died (no clean close)     -ESHUTDOWN producer closed without EOS
 *   -EPIPE      (producer) the reader is gone and the policy cannot wait for one
 *   -EACCES     permission denied on the channel file (the message names its
 *               owner, group and mode, and how a producer shares a channel)
 *   -ENOSPC at attach: the segment is sparse (made on a full /dev/shm)
 *   -EBADMSG also: the channel name is not a regular file (FIFO, symlink, ...)
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

/* ======================================================================
 * Shared-memory layout (protocol version 1)
 * ======================================================================
 *
 * Segment: the file /dev/shm/shmring.NAME, where NAME is 1..200 characters
 * from [A-Za-z0-9._-] and does not start with '.'.  All integers are
 * little-endian (the host's order; producer and consumer share one host).
 *
 *   offset 0              struct shmring_header          (4096 bytes)
 *   offset 4096           struct shmring_desc_slot[8]    (8 x 4096 bytes)
 *   offset ring_offset    the ring: ring_size bytes of records
 *
 * The producer builds the whole segment as an unnamed file (O_TMPFILE in
 * /dev/shm; where that is unsupported, under a temporary name
 * /dev/shm/.shmring.NAME.*): allocated, initialised, locked, and only then
 * given its file mode.  It then links or renames it into place, so a
 * segment visible under its name is always complete, and a producer killed
 * before that leaves nothing behind.  Readers refuse a file that is not a
 * regular file, whose size is not segment_size, or that is sparse
 * (st_blocks * 512 < size).  In protocol 1 every side maps the file
 * writable: a peer that truncates a segment another process has mapped can
 * still kill that process with SIGBUS (protocol 2 removes this).
 *
 * Positions.  write_pos, read_pos and release_pos are 64-bit byte counters
 * that only ever grow ("free running").  The byte offset in the ring of
 * position p is p % ring_size.  Counters are compared only by difference.
 * A position read from shared memory is checked before any byte at it is
 * read: a multiple of 64, with a whole 64-byte record header before the
 * end of the ring (p % ring_size <= ring_size - 64); else -EBADMSG.
 *
 * The ring holds records.  A record starts at a position that is a
 * multiple of 64, begins with a 64-byte struct shmring_record, and is
 * followed by its payload; its total length (header + payload, rounded up
 * to 64) never crosses the end of the ring: when the next record does not
 * fit before the end, the producer first writes a PAD record covering the
 * rest of the ring.  Payloads therefore are contiguous and 64-byte
 * aligned, ready to be handed out as zero-copy views.
 *
 *   [release_pos ............ read_pos ............ write_pos ....... +ring_size)
 *    records the consumer      records committed,    free space
 *    has claimed (it may       not yet claimed
 *    still hold some)
 *
 * Who writes what:
 *   - write_pos: producer only.  It release-stores write_pos after the
 *     record bytes are written; the consumer acquire-loads it before
 *     reading them.
 *   - read_pos: the consumer claims the record at read_pos by storing
 *     read_pos + record length.  Under the LIVE policy the producer may
 *     also advance read_pos past unread records ("reclaim"); in that mode
 *     both sides change read_pos only while holding the claim lock (an OFD
 *     write lock on byte SHMRING_LOCK_CLAIM of the segment file).  A
 *     producer with SHMRING_PRODUCER_KEEP_NEWEST reclaims too, but only
 *     while no reader holds SHMRING_LOCK_READER, and only under the claim
 *     lock, after checking that; it then also stores release_pos =
 *     RELEASE_NONE | read_pos (nobody holds anything).  A consumer takes
 *     the claim lock while it attaches (after the reader lock), so the two
 *     never race.
 *   - release_pos: consumer only.  If bit 63 (SHMRING_RELEASE_NONE) is
 *     set, the consumer holds no record and everything before read_pos is
 *     free.  Otherwise it is the position of the oldest record the
 *     consumer still holds, and space is free only before it.
 *     The producer computes the reusable boundary B by acquire-loading
 *     read_pos FIRST and release_pos SECOND:
 *         B = (release_pos & NONE) ? read_pos : release_pos
 *     and may write into [write_pos, B + ring_size).  When the consumer
 *     starts to hold a record while holding none, it stores release_pos =
 *     record start BEFORE it stores the new read_pos, so this order of
 *     loads never frees a record that is being claimed.
 *
 * Waiting (futexes on 32-bit words, shared, i.e. without FUTEX_PRIVATE):
 *   - prod_seq: the producer increments it after every change a consumer
 *     may wait for (new records, state change).  A consumer that found
 *     nothing to read waits with FUTEX_WAIT(prod_seq, value it loaded
 *     BEFORE it looked at write_pos), so a change made in between makes
 *     the wait return at once.  It sets reader_waiting = 1 before the
 *     wait and 0 after.  After incrementing prod_seq (a full barrier), the
 *     producer calls FUTEX_WAKE only if reader_waiting is 1.
 *   - cons_seq: the consumer increments it after every release, and at
 *     attach/detach; a producer waiting for space sets writer_waiting and
 *     waits on it the same way.  A consumer that cannot issue a full
 *     barrier between its store and its load of writer_waiting (the pure
 *     Python reader) calls FUTEX_WAKE after every release instead.
 *   Waits are bounded (at most 200 ms each, inside longer waits) so that
 *   each side notices the death of the other within a second.
 *
 * Liveness (OFD locks, fcntl F_OFD_SETLK, one byte each, never released by
 * a kernel except when the last descriptor of the open file closes, e.g.
 * when the holder dies):
 *   - byte SHMRING_LOCK_PRODUCER: write-locked by the producer for its
 *     lifetime.  Unlocked + state OPEN means the producer crashed.
 *   - byte SHMRING_LOCK_READER: write-locked by the consumer for its
 *     lifetime.  A second consumer fails to take it and is refused.
 *   - byte SHMRING_LOCK_CLAIM: the LIVE-policy claim lock (see read_pos).
 *   The pids in the header are informative (for messages and statistics);
 *   the locks are the truth, since pids can be reused.
 */

#define SHMRING_MAGIC 0x31474e49524d4853ull /* "SHMRING1" in memory order */
#define SHMRING_VERSION 1u
#define SHMRING_HEADER_SIZE 4096u
#define SHMRING_DESC_OFFSET 4096u
#define SHMRING_DESC_SLOT_SIZE 4096u
#define SHMRING_DESC_SLOTS 8u
#define SHMRING_RING_OFFSET (SHMRING_DESC_OFFSET + SHMRING_DESC_SLOTS * SHMRING_DESC_SLOT_SIZE)
#define SHMRING_RECORD_ALIGN 64u
#define SHMRING_RECORD_HEADER_SIZE 64u
#define SHMRING_MIN_RING_SIZE 4096ull
#define SHMRING_MAX_RING_SIZE (1ull << 34) /* 16 GiB */
#define SHMRING_RELEASE_NONE (1ull << 63)
#define SHMRING_NAME_MAX 200u
#define SHMRING_PATH_PREFIX "/dev/shm/shmring."
#define SHMRING_CAPS_MAX 3968u /* caps string bytes, including the NUL */
#define SHMRING_MAX_PLANES 4u
#define SHMRING_NO_TIME UINT64_MAX /* pts/dts/duration not set */

#define SHMRING_LOCK_PRODUCER 0
#define SHMRING_LOCK_READER 1
#define SHMRING_LOCK_CLAIM 2

/* header.state */
enum shmring_state {
	SHMRING_STATE_OPEN = 1,   /* producer attached and producing */
	SHMRING_STATE_CLOSED = 2, /* producer closed cleanly */
};

/* header.policy: what the producer does when the ring is full. */
enum shmring_policy {
	SHMRING_POLICY_LOSSLESS = 0, /* wait for space (with a timeout) */
	SHMRING_POLICY_DROP_NEW = 1, /* drop the new frame, count it */
	SHMRING_POLICY_LIVE = 2,     /* reclaim the oldest unread frames; while the
				      * reader holds one, keep only the newest
				      * unread frame and drop the new one */
};

/* record.type */
enum shmring_record_type {
	SHMRING_RECORD_FRAME = 1, /* a frame: payload = frame bytes */
	SHMRING_RECORD_PAD = 2,   /* filler up to the end of the ring; skip */
	SHMRING_RECORD_EOS = 3,   /* end of stream; no payload */
};

/* record.flags and shmring_meta.flags (GStreamer buffer flags they map to). */
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
 * struct shmring_header: offset 0, 4096 bytes.  Unlisted bytes are zero.
 *
 *  off size field              writer    notes
 *  --- identity: written before the segment is published, then constant
 *    0   8  magic              producer  SHMRING_MAGIC
 *    8   4  version            producer  SHMRING_VERSION
 *   12   4  header_size        producer  4096
 *   16   8  segment_size       producer  = ring_offset + ring_size = file size
 *   24   8  ring_offset        producer  SHMRING_RING_OFFSET
 *   32   8  ring_size          producer  multiple of 4096, 4 KiB..16 GiB
 *   40   8  generation         producer  differs for every producer start
 *   48   4  desc_offset        producer  SHMRING_DESC_OFFSET
 *   52   4  desc_slot_size     producer  SHMRING_DESC_SLOT_SIZE
 *   56   4  desc_slots         producer  SHMRING_DESC_SLOTS
 *   60   4  policy             producer  enum shmring_policy
 *  --- producer line (64..127); state must be OPEN or CLOSED, any other
 *      value is a corrupt segment (-EBADMSG)
 *   64   8  write_pos          producer  release-store; see layout notes
 *   72   4  prod_seq           producer  futex word; +1 per change
 *   76   4  state              producer  enum shmring_state
 *   80   8  frames_written     producer  frames committed
 *   88   8  frames_dropped     producer  frames dropped (drop-new) or reclaimed (live)
 *   96   8  next_seq           producer  sequence number of the next frame
 *  104   4  producer_pid       producer
 *  108   4  writer_waiting     producer  1 while blocked waiting for space
 *                                          (shmring_stats.producer_waiting)
 *  112   4  desc_id            producer  id of the newest published description
 *  116   4  reserved0          -         zero
 *  120   8  eos_pos            producer  position of the EOS record + 1, or 0
 *  --- consumer line (128..191)
 *  128   8  read_pos           consumer  (LIVE: also producer, under claim lock)
 *  136   8  release_pos        consumer  SHMRING_RELEASE_NONE | pos, or pos
 *  144   4  cons_seq           consumer  futex word; +1 per release/attach/detach
 *  148   4  reader_waiting     consumer  1 while waiting on prod_seq
 *  152   8  frames_read        consumer  frames handed to the application
 *  160   8  frames_skipped     consumer  frames skipped by "latest" reads
 *  168   8  last_read_seq      consumer  seq of the last frame read + 1, 0 before
 *  176   4  reader_pid         consumer  0 when no reader is attached
 *  180   4  reader_attaches    consumer  number of consumer attaches so far
 *  184   8  reserved1          -         zero
 *  192..4095 reserved          -         zero
 */
struct shmring_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint64_t segment_size;
	uint64_t ring_offset;
	uint64_t ring_size;
	uint64_t generation;
	uint32_t desc_offset;
	uint32_t desc_slot_size;
	uint32_t desc_slots;
	uint32_t policy;

	uint64_t write_pos __attribute__((aligned(64)));
	uint32_t prod_seq;
	uint32_t state;
	uint64_t frames_written;
	uint64_t frames_dropped;
	uint64_t next_seq;
	uint32_t producer_pid;
	uint32_t writer_waiting;
	uint32_t desc_id;
	uint32_t reserved0;
	uint64_t eos_pos;

	uint64_t read_pos __attribute__((aligned(64)));
	uint64_t release_pos;
	uint32_t cons_seq;
	uint32_t reader_waiting;
	uint64_t frames_read;
	uint64_t frames_skipped;
	uint64_t last_read_seq;
	uint32_t reader_pid;
	uint32_t reader_attaches;
	uint64_t reserved1;

	uint8_t reserved[SHMRING_HEADER_SIZE - 192];
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
 *     NV12_10BE_8L128
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

/*
 * struct shmring_record: 64 bytes at the start of every record.
 *
 *  off size field
 *    0   2  type          enum shmring_record_type
 *    2   2  flags         enum shmring_frame_flags (FRAME only, else 0)
 *    4   4  desc_id       id of the stream description in force (FRAME)
 *    8   8  length        whole record in bytes: multiple of 64, >= 64,
 *                         and offset(pos) + length <= ring_size
 *   16   8  size          payload bytes; 64 + size <= length
 *   24   8  seq           frame sequence number (gaps = dropped frames)
 *   32   8  pts           ns, SHMRING_NO_TIME if unset
 *   40   8  dts           ns, SHMRING_NO_TIME if unset
 *   48   8  duration      ns, SHMRING_NO_TIME if unset
 *   56   8  commit_ns     producer's CLOCK_MONOTONIC at commit, ns
 * Payload: at record start + 64.
 */
struct shmring_record {
	uint16_t type;
	uint16_t flags;
	uint32_t desc_id;
	uint64_t length;
	uint64_t size;
	uint64_t seq;
	uint64_t pts;
	uint64_t dts;
	uint64_t duration;
	uint64_t commit_ns;
};

#define SHMRING_CHECK_OFFSET(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field " offset")
SHMRING_CHECK_OFFSET(shmring_header, magic, 0);
SHMRING_CHECK_OFFSET(shmring_header, version, 8);
SHMRING_CHECK_OFFSET(shmring_header, header_size, 12);
SHMRING_CHECK_OFFSET(shmring_header, segment_size, 16);
SHMRING_CHECK_OFFSET(shmring_header, ring_offset, 24);
SHMRING_CHECK_OFFSET(shmring_header, ring_size, 32);
SHMRING_CHECK_OFFSET(shmring_header, generation, 40);
SHMRING_CHECK_OFFSET(shmring_header, desc_offset, 48);
SHMRING_CHECK_OFFSET(shmring_header, desc_slot_size, 52);
SHMRING_CHECK_OFFSET(shmring_header, desc_slots, 56);
SHMRING_CHECK_OFFSET(shmring_header, policy, 60);
SHMRING_CHECK_OFFSET(shmring_header, write_pos, 64);
SHMRING_CHECK_OFFSET(shmring_header, prod_seq, 72);
SHMRING_CHECK_OFFSET(shmring_header, state, 76);
SHMRING_CHECK_OFFSET(shmring_header, frames_written, 80);
SHMRING_CHECK_OFFSET(shmring_header, frames_dropped, 88);
SHMRING_CHECK_OFFSET(shmring_header, next_seq, 96);
SHMRING_CHECK_OFFSET(shmring_header, producer_pid, 104);
SHMRING_CHECK_OFFSET(shmring_header, writer_waiting, 108);
SHMRING_CHECK_OFFSET(shmring_header, desc_id, 112);
SHMRING_CHECK_OFFSET(shmring_header, reserved0, 116);
SHMRING_CHECK_OFFSET(shmring_header, eos_pos, 120);
SHMRING_CHECK_OFFSET(shmring_header, read_pos, 128);
SHMRING_CHECK_OFFSET(shmring_header, release_pos, 136);
SHMRING_CHECK_OFFSET(shmring_header, cons_seq, 144);
SHMRING_CHECK_OFFSET(shmring_header, reader_waiting, 148);
SHMRING_CHECK_OFFSET(shmring_header, frames_read, 152);
SHMRING_CHECK_OFFSET(shmring_header, frames_skipped, 160);
SHMRING_CHECK_OFFSET(shmring_header, last_read_seq, 168);
SHMRING_CHECK_OFFSET(shmring_header, reader_pid, 176);
SHMRING_CHECK_OFFSET(shmring_header, reader_attaches, 180);
SHMRING_CHECK_OFFSET(shmring_header, reserved1, 184);
SHMRING_CHECK_OFFSET(shmring_header, reserved, 192);
_Static_assert(sizeof(struct shmring_header) == SHMRING_HEADER_SIZE, "header size");
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
SHMRING_CHECK_OFFSET(shmring_record, type, 0);
SHMRING_CHECK_OFFSET(shmring_record, flags, 2);
SHMRING_CHECK_OFFSET(shmring_record, desc_id, 4);
SHMRING_CHECK_OFFSET(shmring_record, length, 8);
SHMRING_CHECK_OFFSET(shmring_record, size, 16);
SHMRING_CHECK_OFFSET(shmring_record, seq, 24);
SHMRING_CHECK_OFFSET(shmring_record, pts, 32);
SHMRING_CHECK_OFFSET(shmring_record, dts, 40);
SHMRING_CHECK_OFFSET(shmring_record, duration, 48);
SHMRING_CHECK_OFFSET(shmring_record, commit_ns, 56);
_Static_assert(sizeof(struct shmring_record) == SHMRING_RECORD_HEADER_SIZE, "record size");

/* ======================================================================
 * API
 * ====================================================================== */

#define SHMRING_FOREVER (-1ll)

typedef struct shmring_producer shmring_producer;
typedef struct shmring_consumer shmring_consumer;

/* Per-frame metadata given at commit and returned with every frame. */
struct shmring_meta {
	uint64_t pts;      /* ns or SHMRING_NO_TIME */
	uint64_t dts;      /* ns or SHMRING_NO_TIME */
	uint64_t duration; /* ns or SHMRING_NO_TIME */
	uint32_t flags;    /* enum shmring_frame_flags; other bits are ignored */
};
#define SHMRING_META_INIT {SHMRING_NO_TIME, SHMRING_NO_TIME, SHMRING_NO_TIME, 0}

/* shmring_producer_options.flags */
/* While NO reader is attached, keep only the newest committed frame: at
 * each commit, older unread frames are reclaimed (counted in
 * frames_dropped; sequence numbers keep counting, so a later reader sees
 * the gap) instead of the producer waiting (lossless) or dropping the new
 * frame (drop-new, live).  A reader that attaches gets the newest frame
 * first, then every later frame per the policy, which applies as before
 * while a reader is attached.  For live sources, so that a reader
 * attaching late gets current frames, not a stalled backlog.  Frames are
 * reclaimed at commits (and while the producer waits for space): what a
 * reader leaves unread when it detaches is dropped at the next commit. */
#define SHMRING_PRODUCER_KEEP_NEWEST (1u << 0)

struct shmring_producer_options {
	uint64_t ring_size; /* bytes; rounded up to 4096; 0 = 32 MiB */
	uint32_t mode;      /* file mode bits; 0 = 0600; applied once the segment is complete */
	uint32_t policy;    /* enum shmring_policy */
	uint32_t flags;     /* SHMRING_PRODUCER_*; 0 = none */
};

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

/* A frame handed to the consumer.  data points into shared memory and is
 * valid until shmring_consumer_release() of this frame; desc is a
 * validated private copy, valid at least as long. */
struct shmring_frame {
	const void *data;
	uint64_t size;
	uint64_t seq;
	struct shmring_meta meta;
	uint64_t commit_ns;  /* producer CLOCK_MONOTONIC at commit, ns */
	const struct shmring_desc *desc;
	int desc_changed;    /* 1 if desc differs from the previous frame's */
	uint64_t _pos;       /* private: record position */
};

struct shmring_stats {
	uint64_t generation;
	uint64_t ring_size;
	uint64_t write_pos, read_pos;
	uint64_t frames_written, frames_dropped;
	uint64_t frames_read, frames_skipped;
	uint64_t lag_frames;  /* frames committed but not yet read */
	uint64_t lag_bytes;   /* write_pos - read_pos */
	uint32_t policy, state;
	int32_t producer_pid, reader_pid; /* 0 = none */
	int producer_alive, reader_alive;
	/* 1 while the producer is blocked waiting for space (header
	 * writer_waiting): with !reader_alive it waits for a reader, with
	 * reader_alive the ring is full. */
	int producer_waiting;
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

/* --- producer --- */
SHMRING_API SHMRING_WUR int shmring_producer_create(const char *name,
						       const struct shmring_producer_options *opts,
						       shmring_producer **out);
/* Set the stream description for the frames reserved after this call.
 * Copies everything it needs.  It reaches shared memory with the next
 * frame (header desc_id, and readers, see it then); if its slot is still
 * named by a record the reader has not released, that frame waits or is
 * dropped per the policy, like a frame waiting for space.  A frame needs
 * a description: reserving before the first call gives -EINVAL.  The
 * library checks that every plane lies whole inside frame_size, with the
 * rows of the format's table above (-EINVAL naming the plane if not). */
SHMRING_API SHMRING_WUR int shmring_producer_set_stream(shmring_producer *p,
							   const struct shmring_stream_info *info);
/* Copy one frame in.  Returns 0, -ENOBUFS when the frame was dropped
 * (drop-new/live, ring full), -ETIMEDOUT, -EINTR, -EMSGSIZE.  A call
 * that returns -ENOBUFS has counted exactly one drop (frames_dropped + 1)
 * and used exactly one sequence number (next_seq + 1): the caller must not
 * count it again.  Gaps in the seq a reader sees equal frames_dropped. */
SHMRING_API int shmring_producer_write(shmring_producer *p, const void *data, size_t size,
				       const struct shmring_meta *meta, int64_t timeout_ns);
/* Reserve room for a frame of up to max_size bytes and return where to
 * write it.  Several reservations may be outstanding; they are published
 * in the order they were reserved.  Same returns as _write().
 * *id identifies the reservation for _commit()/_abort(). */
SHMRING_API SHMRING_WUR int shmring_producer_reserve(shmring_producer *p, size_t max_size,
						     int64_t timeout_ns, void **data, uint64_t *id);
/* Commit size <= max_size bytes of a reservation. */
SHMRING_API int shmring_producer_commit(shmring_producer *p, uint64_t id, size_t size,
					const struct shmring_meta *meta);
/* Give a reservation back unpublished (it becomes padding). */
SHMRING_API int shmring_producer_abort(shmring_producer *p, uint64_t id);
/* Largest frame the ring accepts, in bytes. */
SHMRING_API uint64_t shmring_producer_max_frame(const shmring_producer *p);
/* Append an end-of-stream record; waits for room only while a reader is
 * attached (up to timeout_ns). */
SHMRING_API int shmring_producer_eos(shmring_producer *p, int64_t timeout_ns);
/* Wait until a consumer is attached: 0 (at once if one is), -ETIMEDOUT,
 * -EINTR.  While it waits, writer_waiting is 1 ("waiting for a reader").
 * For a producer that must not end a stream nobody has read (a file: call
 * it before shmring_producer_eos() and close). */
SHMRING_API int shmring_producer_wait_reader(shmring_producer *p, int64_t timeout_ns);
/* 1 if a consumer is attached and alive, 0 if not. */
SHMRING_API int shmring_producer_reader_alive(shmring_producer *p);
/* Wake a blocking call on this handle from another thread (-EINTR);
 * the handle stays interrupted until shmring_producer_resume(). */
SHMRING_API void shmring_producer_interrupt(shmring_producer *p);
SHMRING_API void shmring_producer_resume(shmring_producer *p);
SHMRING_API int shmring_producer_stats(shmring_producer *p, struct shmring_stats *st);
/* Mark the channel closed, wake the reader, unlink the name.  NULL ok. */
SHMRING_API void shmring_producer_close(shmring_producer *p);

/* --- consumer --- */
/* Attach to channel name, waiting up to timeout_ns for it to appear.
 * -ENOENT on timeout, -EBUSY if another reader holds it, -EACCES (the
 * message names the file's owner, group and mode and how to share it),
 * -EBADMSG if the name is not a regular file (a FIFO, a symbolic link:
 * never followed, never waited on) or the segment is corrupt, -ENOSPC if
 * the segment is sparse (made on a full /dev/shm).  Equivalent to
 * shmring_consumer_new() + shmring_consumer_open(). */
SHMRING_API SHMRING_WUR int shmring_consumer_attach(const char *name, int64_t timeout_ns,
						    shmring_consumer **out);
/* A consumer handle not attached yet, so that another thread can
 * interrupt shmring_consumer_open() while it waits for the channel. */
SHMRING_API SHMRING_WUR int shmring_consumer_new(shmring_consumer **out);
/* Attach a new handle to channel name (once per handle); same returns as
 * shmring_consumer_attach(), plus -EINTR. */
SHMRING_API SHMRING_WUR int shmring_consumer_open(shmring_consumer *c, const char *name,
						  int64_t timeout_ns);
#define SHMRING_NEXT_LATEST 1u /* skip to the newest committed frame */
/* Wait for the next frame.  Returns 1 with *frame filled, 0 at end of
 * stream, -ETIMEDOUT, -EINTR, -EOWNERDEAD (producer died), -ESHUTDOWN
 * (producer closed without EOS), -EBADMSG (corrupt segment).  After an
 * end of stream, frames the producer writes later are read as usual; once
 * the producer has closed, every further call returns 0 again.
 * frames_read counts frames returned; frames skipped by LATEST count in
 * frames_skipped only. */
SHMRING_API int shmring_consumer_next(shmring_consumer *c, struct shmring_frame *frame,
				      int64_t timeout_ns, unsigned flags);
/* Give a frame's space back; frames may be released in any order and
 * from any thread. */
SHMRING_API int shmring_consumer_release(shmring_consumer *c, const struct shmring_frame *frame);
/* Number of frames currently held (next() without release()). */
SHMRING_API unsigned shmring_consumer_held(shmring_consumer *c);
SHMRING_API uint64_t shmring_consumer_generation(const shmring_consumer *c);
/* 1 if the producer holds its lock, 0 if not. */
SHMRING_API int shmring_consumer_producer_alive(shmring_consumer *c);
/* The newest published stream description, copied into *out (validated);
 * -ENODATA if none yet. */
SHMRING_API int shmring_consumer_current_desc(shmring_consumer *c, struct shmring_desc *out);
SHMRING_API void shmring_consumer_interrupt(shmring_consumer *c);
SHMRING_API void shmring_consumer_resume(shmring_consumer *c);
SHMRING_API int shmring_consumer_stats(shmring_consumer *c, struct shmring_stats *st);
/* Detach.  Frames still held are released.  NULL ok. */
SHMRING_API void shmring_consumer_close(shmring_consumer *c);

/* --- inspection (no lock taken, read-only mapping) --- */
/* Read the statistics of channel name without attaching. */
SHMRING_API SHMRING_WUR int shmring_inspect(const char *name, struct shmring_stats *st,
					    struct shmring_desc *desc);

#ifdef __cplusplus
}
#endif
#endif /* SHMRING_SHMRING_H */
