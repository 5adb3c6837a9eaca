/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shmring.c: libshmring, the producer and consumer sides of the protocol in shmring.h. */
#include "shmring/shmring.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#define SLICE_NS 200000000ll /* longest single futex wait: liveness checks */
#define SPIN_NS 20000ull     /* default: how long a waiter spins before it sleeps */
#define PATH_LEN (sizeof(SHMRING_PATH_PREFIX) + SHMRING_NAME_MAX + 32)
#define DEFAULT_RING_SIZE (32ull << 20)
#define MAX_RESERVATIONS 4096u
#define STREAM_MIN (256u << 10) /* frames this large are copied with streaming stores */

/* ---------------------------------------------------------------------
 * Errors (the message buffer is in common.c)
 * --------------------------------------------------------------------- */

const char *shmring_last_error(void)
{
	return _shmring_error();
}

const char *shmring_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case EINVAL: return "invalid argument";
	case ENOENT: return "no such channel";
	case EBUSY: return "channel already has a producer or a reader";
	case ETIMEDOUT: return "timed out";
	case EINTR: return "interrupted";
	case EMSGSIZE: return "frame larger than the ring";
	case ENOSPC: return "not enough room in /dev/shm for the segment";
	case ENOBUFS: return "ring full, frame dropped";
	case EBADMSG: return "corrupt shared-memory segment";
	case EPROTO: return "unsupported protocol version";
	case EOWNERDEAD: return "producer died";
	case ESHUTDOWN: return "producer closed the channel without end of stream";
	case EPIPE: return "no reader attached";
	case ENODATA: return "no stream description yet";
	case ENOMEM: return "out of memory";
	default: return strerror(err < 0 ? -err : err);
	}
}

const char *shmring_policy_name(uint32_t policy)
{
	switch (policy) {
	case SHMRING_POLICY_LOSSLESS: return "lossless";
	case SHMRING_POLICY_DROP_NEW: return "drop-new";
	case SHMRING_POLICY_LIVE: return "live";
	default: return "unknown";
	}
}

int shmring_policy_from_name(const char *name)
{
	for (uint32_t i = 0; name && i <= SHMRING_POLICY_LIVE; i++)
		if (strcmp(name, shmring_policy_name(i)) == 0)
			return (int)i;
	return fail(EINVAL, "unknown flow policy '%s' (use lossless, drop-new or live)",
		    name ? name : "(null)");
}

int shmring_name_check(const char *name)
{
	return _shmring_check_name(name);
}

/* ---------------------------------------------------------------------
 * Time, futexes, locks
 * --------------------------------------------------------------------- */

uint64_t shmring_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t deadline_of(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return UINT64_MAX;
	return shmring_now_ns() + (uint64_t)timeout_ns;
}

static void futex_wake(uint32_t *word, int private_word)
{
	syscall(SYS_futex, word, private_word ? FUTEX_WAKE_PRIVATE : FUTEX_WAKE, INT_MAX, NULL,
		NULL, 0);
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* Sleep until *shared != sval, *intr != ival, or the absolute monotonic
 * deadline, whichever is first; at most one slice.  Returns 1 if the slice
 * ran out, 0 otherwise. */
static int wait2(uint32_t *shared, uint32_t sval, uint32_t *intr, uint32_t ival, uint64_t deadline)
{
	static int have_waitv = 1;
	uint64_t now = shmring_now_ns();
	uint64_t until = now + SLICE_NS;
	if (deadline < until)
		until = deadline;
	if (until <= now)
		return 1;
	if (__atomic_load_n(&have_waitv, __ATOMIC_RELAXED)) {
		struct waitv w[2] = {
			{sval, (uint64_t)(uintptr_t)shared, 2 /* FUTEX2_SIZE_U32 */, 0},
			{ival, (uint64_t)(uintptr_t)intr, 2 | 128 /* FUTEX2_PRIVATE */, 0},
		};
		struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
		long rc = syscall(SYS_futex_waitv, w, 2, 0, &ts, CLOCK_MONOTONIC);
		if (rc >= 0 || errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ETIMEDOUT)
			return until >= deadline ? 0 : 1;
		if (errno != ENOSYS)
			return 0;
		__atomic_store_n(&have_waitv, 0, __ATOMIC_RELAXED);
	}
	/* No futex_waitv (kernel before 5.16, valgrind): wait on the shared
	 * word alone.  The interrupting thread also wakes that word, so an
	 * interrupt is late by at most one slice, and only if it lands
	 * between the check below and the wait. */
	if (__atomic_load_n(intr, __ATOMIC_ACQUIRE) != ival)
		return 0;
	struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
	long rc = syscall(SYS_futex, shared, FUTEX_WAIT_BITSET, sval, &ts, NULL,
			  FUTEX_BITSET_MATCH_ANY);
	if (rc < 0 && errno == ETIMEDOUT)
		return until < deadline;
	return 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static uint64_t spin_budget;
static pthread_once_t spin_once = PTHREAD_ONCE_INIT;

/* SHMRING_SPIN_NS overrides the default; one CPU means no spinning. */
static void spin_init(void)
{
	const char *env = getenv("SHMRING_SPIN_NS");
	char *end;
	spin_budget = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? SPIN_NS : 0;
	if (env && *env) {
		unsigned long long v = strtoull(env, &end, 10);
		if (*end == '\0' && v <= 1000000000ull)
			spin_budget = v;
	}
}

/* Spin for up to the spin budget while *word == v: when the peer runs on
 * another core, this hands a frame over without two system calls and a
 * context switch.  Returns 1 if the word changed. */
static int spin_while(const uint32_t *word, uint32_t v)
{
	pthread_once(&spin_once, spin_init);
	if (!spin_budget)
		return 0;
	uint64_t t0 = shmring_now_ns();
	for (unsigned i = 1;; i++) {
		/* Acquire: pairs with the peer's seq_cst increment. */
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != v)
			return 1;
		cpu_relax();
		if ((i & 63) == 0 && shmring_now_ns() - t0 > spin_budget)
			return 0;
	}
}

static int ofd_lock(int fd, int byte, int type, int cmd)
{
	struct flock fl = {.l_type = (short)type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
	return fcntl(fd, cmd, &fl) == 0 ? 0 : -errno;
}

/* 1 if somebody other than this open file description holds byte. */
static int ofd_held(int fd, int byte)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return 1; /* cannot tell: assume alive rather than declare a death */
	return fl.l_type != F_UNLCK;
}

static void make_path(char *buf, const char *name)
{
	snprintf(buf, PATH_LEN, "%s%s", SHMRING_PATH_PREFIX, name);
}

/* An open() of a channel file failed with EACCES/EPERM: say whose file it
 * is and how the producer shares it. */
static int access_error(const char *path, const char *name, int err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return fail(err, "cannot open channel '%s' (%s): %s", name, path, strerror(err));
	return fail(err,
		    "cannot open channel '%s' (%s): permission denied: the file belongs to uid %u "
		    "gid %u with mode %04o and this process is uid %u gid %u; the producer must "
		    "share it (mode in shmring_producer_options, e.g. shmringsink "
		    "permissions=0660) and the reader must be in group %u",
		    name, path, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777),
		    (unsigned)geteuid(), (unsigned)getegid(), (unsigned)st.st_gid);
}

static const char *file_kind(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "not a regular file";
	}
}

/* Open the channel file path (flags O_RDONLY or O_RDWR) without following
 * a symbolic link or blocking on a FIFO, and refuse anything but a regular
 * file.  Returns the descriptor with *st filled, or a negative errno:
 * -ENOENT (message set; callers that wait may override it), -EACCES,
 * -EBADMSG (not a regular file), other open() errors. */
static int open_channel_file(const char *path, const char *name, int flags, struct stat *st)
{
	int fd = open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP)
			return fail(EBADMSG,
				    "channel '%s': %s is a symbolic link, not a channel segment; "
				    "remove it",
				    name, path);
		if (err == EACCES || err == EPERM)
			return access_error(path, name, err);
		return fail(err, "cannot open channel '%s' (%s): %s", name, path, strerror(err));
	}
	if (fstat(fd, st) != 0) {
		int err = errno;
		close(fd);
		return fail(err, "channel '%s': fstat %s: %s", name, path, strerror(err));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return fail(EBADMSG, "channel '%s': %s is not a regular file (%s); remove it", name,
			    path, file_kind(st->st_mode));
	}
	return fd;
}

/* ---------------------------------------------------------------------
 * Segment validation (shared by consumer and inspection)
 * --------------------------------------------------------------------- */

/* The file of an attached segment: a plausible size, and every byte of it
 * allocated (a sparse segment, made on a full /dev/shm, raises SIGBUS in
 * whoever touches a missing page). */
static int check_file(const struct stat *st, const char *name)
{
	uint64_t size = (uint64_t)st->st_size;
	uint64_t have = (uint64_t)st->st_blocks * 512u;
	if (size < SHMRING_RING_OFFSET + SHMRING_MIN_RING_SIZE ||
	    size > SHMRING_RING_OFFSET + SHMRING_MAX_RING_SIZE)
		return fail(EBADMSG, "channel '%s': segment size %llu is not a shmring segment", name,
			    (unsigned long long)size);
	if (have < size)
		return fail(ENOSPC,
			    "channel '%s': only %llu of the segment's %llu bytes are allocated in "
			    "/dev/shm (a sparse file: /dev/shm was full when it was made); reading it "
			    "would crash with SIGBUS. Free /dev/shm and restart the producer",
			    name, (unsigned long long)have, (unsigned long long)size);
	return 0;
}

static int check_identity(const struct shmring_header *h, uint64_t file_size, const char *name)
{
	if (file_size < SHMRING_RING_OFFSET + SHMRING_MIN_RING_SIZE)
		return fail(EBADMSG, "channel '%s': segment is %llu bytes, smaller than the minimum %llu",
			    name, (unsigned long long)file_size,
			    (unsigned long long)(SHMRING_RING_OFFSET + SHMRING_MIN_RING_SIZE));
	if (h->magic != SHMRING_MAGIC)
		return fail(EBADMSG, "channel '%s': bad magic 0x%016llx, not a shmring segment", name,
			    (unsigned long long)h->magic);
	if (h->version != SHMRING_VERSION)
		return fail(EPROTO, "channel '%s': protocol version %u, this library speaks %u", name,
			    h->version, SHMRING_VERSION);
#define CHECK_FIELD(cond, field, fmtv)                                                         \
	do {                                                                                   \
		if (!(cond))                                                                   \
			return fail(EBADMSG, "channel '%s': corrupt header: " #field " = %llu", \
				    name, (unsigned long long)(fmtv));                         \
	} while (0)
	CHECK_FIELD(h->header_size == SHMRING_HEADER_SIZE, header_size, h->header_size);
	CHECK_FIELD(h->desc_offset == SHMRING_DESC_OFFSET, desc_offset, h->desc_offset);
	CHECK_FIELD(h->desc_slot_size == SHMRING_DESC_SLOT_SIZE, desc_slot_size, h->desc_slot_size);
	CHECK_FIELD(h->desc_slots == SHMRING_DESC_SLOTS, desc_slots, h->desc_slots);
	CHECK_FIELD(h->ring_offset == SHMRING_RING_OFFSET, ring_offset, h->ring_offset);
	CHECK_FIELD(h->ring_size >= SHMRING_MIN_RING_SIZE && h->ring_size <= SHMRING_MAX_RING_SIZE &&
			    h->ring_size % 4096 == 0,
		    ring_size, h->ring_size);
	CHECK_FIELD(h->segment_size == h->ring_offset + h->ring_size && h->segment_size == file_size,
		    segment_size, h->segment_size);
	CHECK_FIELD(h->policy <= SHMRING_POLICY_LIVE, policy, h->policy);
	uint32_t state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
	CHECK_FIELD(state == SHMRING_STATE_OPEN || state == SHMRING_STATE_CLOSED, state, state);
	CHECK_FIELD(h->reserved0 == 0, reserved0, h->reserved0);
	CHECK_FIELD(h->reserved1 == 0, reserved1, h->reserved1);
	for (size_t i = 0; i < sizeof(h->reserved); i++)
		CHECK_FIELD(h->reserved[i] == 0, reserved, 192 + i);
#undef CHECK_FIELD
	return 0;
}

/* A record position read from shared memory (field names it in the
 * message): 64-byte aligned, with a whole record header before the end of
 * the ring.  Checked before any byte at it is read. */
static int check_pos(uint64_t pos, uint64_t ring, const char *field, const char *name)
{
	uint64_t off = pos % ring;
	if (pos % SHMRING_RECORD_ALIGN || ring - off < SHMRING_RECORD_HEADER_SIZE)
		return fail(EBADMSG,
			    "channel '%s': corrupt %s %llu (ring offset %llu of %llu): not a 64-byte "
			    "aligned record position",
			    name, field, (unsigned long long)pos, (unsigned long long)off,
			    (unsigned long long)ring);
	return 0;
}

/* Validate the record header copy rec found at position pos, with the
 * producer's published write position w. */
static int check_record(const struct shmring_record *rec, uint64_t pos, uint64_t w, uint64_t ring,
			const char *name)
{
	uint64_t off = pos % ring;
	if (rec->type < SHMRING_RECORD_FRAME || rec->type > SHMRING_RECORD_EOS)
		return fail(EBADMSG, "channel '%s': record at %llu has unknown type %u", name,
			    (unsigned long long)pos, rec->type);
	if (rec->length < SHMRING_RECORD_HEADER_SIZE || rec->length % SHMRING_RECORD_ALIGN ||
	    rec->length > ring - off || rec->length > w - pos)
		return fail(EBADMSG,
			    "channel '%s': record at %llu has length %llu (ring offset %llu, ring "
			    "%llu bytes, %llu bytes published)",
			    name, (unsigned long long)pos, (unsigned long long)rec->length,
			    (unsigned long long)off, (unsigned long long)ring,
			    (unsigned long long)(w - pos));
	if (rec->size > rec->length - SHMRING_RECORD_HEADER_SIZE)
		return fail(EBADMSG, "channel '%s': record at %llu has payload %llu > length %llu - 64",
			    name, (unsigned long long)pos, (unsigned long long)rec->size,
			    (unsigned long long)rec->length);
	if (rec->type == SHMRING_RECORD_FRAME && (rec->desc_id == 0 || (rec->flags & ~SHMRING_FLAGS_ALL)))
		return fail(EBADMSG, "channel '%s': frame at %llu has desc_id %u flags 0x%x", name,
			    (unsigned long long)pos, rec->desc_id, rec->flags);
	return 0;
}

/* Copy the record header at position pos (a value of shared field
 * "field") to *rec and validate both, with the published write position w. */
static int read_record(const uint8_t *ring, uint64_t R, uint64_t pos, uint64_t w, const char *field,
		       const char *name, struct shmring_record *rec)
{
	int rc = check_pos(pos, R, field, name);
	if (rc < 0)
		return rc;
	memcpy(rec, ring + pos % R, sizeof(*rec));
	return check_record(rec, pos, w, R, name);
}

/* Is there a FRAME record in [pos, w) of ring?  Walks validated record
 * headers; stops at an EOS record or a corrupt one. */
static int frame_follows(const uint8_t *ring, uint64_t R, const char *name, uint64_t pos, uint64_t w)
{
	while (pos < w) {
		struct shmring_record rec;
		if (read_record(ring, R, pos, w, "record position", name, &rec) < 0)
			return 0;
		if (rec.type == SHMRING_RECORD_FRAME)
			return 1;
		if (rec.type == SHMRING_RECORD_EOS)
			return 0;
		pos += rec.length;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Producer
 * --------------------------------------------------------------------- */

enum resv_state { RESV_RESERVED, RESV_COMMITTED, RESV_PAD };

struct resv {
	uint64_t start, len, max_size, size;
	uint64_t commit_ns;
	struct shmring_meta meta;
	uint32_t desc_id;
	uint16_t type;
	uint8_t state;
};

struct shmring_producer {
	char name[SHMRING_NAME_MAX + 1];
	char path[PATH_LEN];
	int fd;
	uint8_t *base;
	uint64_t seg_size;
	struct shmring_header *h;
	uint8_t *ring;
	uint64_t R;
	uint32_t policy;
	uint32_t flags; /* SHMRING_PRODUCER_* */

	uint64_t pub_pos;     /* = header write_pos */
	uint64_t last_frame;  /* start of the newest published FRAME record */
	int have_frame;
	uint64_t reserve_pos; /* end of everything reserved */
	struct resv *q;       /* reservations, oldest first: q[q_head .. q_head+q_len) */
	unsigned q_head, q_len, q_cap;
	uint64_t next_seq, frames_written, frames_dropped;

	struct shmring_desc pending;
	int have_pending;
	uint32_t desc_counter, cur_desc;
	uint64_t slot_end[SHMRING_DESC_SLOTS]; /* end of the last record naming each slot */

	uint32_t intr;
	int interrupted;
	dev_t dev;
	ino_t ino;
};

static struct resv *q_at(shmring_producer *p, unsigned i)
{
	return &p->q[(p->q_head + i) % p->q_cap];
}

/* Double the capacity of a circular FIFO of len items of size bytes
 * starting at *head, keeping their order (the oldest at index 0). */
static int fifo_grow(void **items, unsigned *head, unsigned len, unsigned *cap, size_t size)
{
	unsigned ncap = *cap ? *cap * 2 : 16;
	uint8_t *n = calloc(ncap, size);
	if (!n)
		return fail(ENOMEM, "out of memory");
	for (unsigned i = 0; i < len; i++)
		memcpy(n + i * size, (const uint8_t *)*items + ((*head + i) % *cap) * size, size);
	free(*items);
	*items = n;
	*cap = ncap;
	*head = 0;
	return 0;
}

static int q_push(shmring_producer *p, struct resv **out)
{
	if (p->q_len == p->q_cap) {
		if (p->q_cap >= MAX_RESERVATIONS)
			return fail(EBUSY, "channel '%s': %u reservations outstanding", p->name,
				    p->q_len);
		int rc = fifo_grow((void **)&p->q, &p->q_head, p->q_len, &p->q_cap, sizeof(*p->q));
		if (rc < 0)
			return rc;
	}
	*out = q_at(p, p->q_len++);
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* A temporary name for the segment: /dev/shm/.shmring.NAME.PID.RANDOM. */
static void tmp_name(const shmring_producer *p, char *tmp, int attempt)
{
	unsigned rnd = (unsigned)(shmring_now_ns() ^ ((uint64_t)getpid() << 16)) + (unsigned)attempt * 7919u;
	snprintf(tmp, PATH_LEN, "/dev/shm/.shmring.%s.%d.%08x", p->name, (int)getpid(), rnd);
}

/* Open the file of a new segment: unnamed (O_TMPFILE), so that a producer
 * killed before it publishes leaves nothing behind; where /dev/shm does
 * not support that, under a temporary name, returned in tmp. */
static int open_new_segment(shmring_producer *p, char *tmp)
{
	p->fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (p->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return fail(errno, "cannot create a segment in /dev/shm: %s", strerror(errno));
	for (int attempt = 0;; attempt++) {
		tmp_name(p, tmp, attempt);
		p->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (p->fd >= 0)
			return 0;
		if (errno != EEXIST || attempt > 100) {
			int err = errno;
			tmp[0] = '\0';
			return fail(err, "cannot create a segment in /dev/shm: %s", strerror(err));
		}
	}
}

/* Allocate every byte of the segment up front: a full /dev/shm fails here,
 * with a message, not later with SIGBUS. */
static int allocate_segment(shmring_producer *p)
{
	int rc = posix_fallocate(p->fd, 0, (off_t)p->seg_size);
	if (rc == 0)
		return 0;
	struct statvfs vfs;
	unsigned long long avail = 0;
	if (fstatvfs(p->fd, &vfs) == 0)
		avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	if (rc == ENOSPC)
		return fail(ENOSPC,
			    "channel '%s' needs %llu bytes of shared memory but /dev/shm has "
			    "only %llu bytes free; use a smaller ring size or free /dev/shm (in a "
			    "container, raise its size: docker run --shm-size)",
			    p->name, (unsigned long long)p->seg_size, avail);
	return fail(rc, "cannot allocate %llu bytes in /dev/shm: %s", (unsigned long long)p->seg_size,
		    strerror(rc));
}

static void init_header(shmring_producer *p)
{
	struct shmring_header *h = p->h;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	h->magic = SHMRING_MAGIC;
	h->version = SHMRING_VERSION;
	h->header_size = SHMRING_HEADER_SIZE;
	h->segment_size = p->seg_size;
	h->ring_offset = SHMRING_RING_OFFSET;
	h->ring_size = p->R;
	h->generation = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	h->desc_offset = SHMRING_DESC_OFFSET;
	h->desc_slot_size = SHMRING_DESC_SLOT_SIZE;
	h->desc_slots = SHMRING_DESC_SLOTS;
	h->policy = p->policy;
	h->state = SHMRING_STATE_OPEN;
	h->producer_pid = (uint32_t)getpid();
	h->release_pos = SHMRING_RELEASE_NONE;
}

/* Build the whole segment, unpublished: allocated, mapped, initialised,
 * locked, and only then given the requested mode. */
static int create_segment(shmring_producer *p, const struct shmring_producer_options *o,
			  char *tmp)
{
	int rc = open_new_segment(p, tmp);
	if (rc == 0)
		rc = allocate_segment(p);
	if (rc < 0)
		return rc;
	/* Populated: no page faults on the per-frame path. */
	p->base = mmap(NULL, p->seg_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, p->fd, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		return fail(errno, "cannot map %llu bytes: %s", (unsigned long long)p->seg_size,
			    strerror(errno));
	}
	p->h = (struct shmring_header *)p->base;
	p->ring = p->base + SHMRING_RING_OFFSET;
	init_header(p);
	rc = ofd_lock(p->fd, SHMRING_LOCK_PRODUCER, F_WRLCK, F_OFD_SETLK);
	if (rc < 0)
		return fail(-rc, "cannot lock the new segment: %s", strerror(-rc));
	/* The mode last: nobody it lets in sees a segment still being built. */
	if (fchmod(p->fd, o->mode ? o->mode : 0600) != 0)
		return fail(errno, "cannot set mode %o on the segment: %s", o->mode, strerror(errno));
	struct stat st;
	if (fstat(p->fd, &st) != 0)
		return fail(errno, "fstat: %s", strerror(errno));
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	return 0;
}

/* Give the segment the name path: by link() from its temporary name tmp,
 * or, unnamed, by linkat() from its descriptor (AT_EMPTY_PATH needs a
 * capability; /proc/self/fd does not).  0 or -errno. */
static int link_segment(shmring_producer *p, const char *tmp, const char *path)
{
	if (tmp[0])
		return link(tmp, path) == 0 ? 0 : -errno;
	if (linkat(p->fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

/* Replace the stale segment of a dead producer (whose lock we hold) by
 * ours, atomically: rename() over it from a temporary name. */
static int replace_segment(shmring_producer *p, const char *tmp)
{
	char own[PATH_LEN];
	int rc = -EEXIST;
	if (tmp[0])
		return rename(tmp, p->path) == 0 ? 0 : -errno;
	for (int attempt = 0; rc == -EEXIST && attempt < 100; attempt++) {
		tmp_name(p, own, attempt);
		rc = link_segment(p, "", own);
	}
	if (rc < 0)
		return rc;
	if (rename(own, p->path) == 0)
		return 0;
	rc = -errno;
	unlink(own);
	return rc;
}

/* The name is taken by the segment open as old: EBUSY if its producer
 * lives, else replace it.  1 if the name changed meanwhile (retry). */
static int take_over(shmring_producer *p, const char *tmp, int old)
{
	int rc = ofd_lock(old, SHMRING_LOCK_PRODUCER, F_WRLCK, F_OFD_SETLK);
	if (rc == -EAGAIN || rc == -EACCES) {
		uint32_t pid = 0;
		struct stat st;
		if (fstat(old, &st) == 0 && (uint64_t)st.st_size >= sizeof(struct shmring_header) &&
		    pread(old, &pid, sizeof(pid), offsetof(struct shmring_header, producer_pid)) !=
			    sizeof(pid))
			pid = 0;
		return fail(EBUSY,
			    "channel '%s' is in use by producer pid %u; stop it or choose "
			    "another channel name",
			    p->name, pid);
	}
	if (rc < 0)
		return fail(-rc, "cannot lock existing channel '%s': %s", p->name, strerror(-rc));
	struct stat a, b;
	if (fstat(old, &a) != 0 || stat(p->path, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return 1;
	rc = replace_segment(p, tmp);
	if (rc < 0)
		return fail(-rc, "cannot replace stale channel '%s': %s", p->name, strerror(-rc));
	return 0;
}

/* Put the fully built segment in place under p->path. */
static int publish_segment(shmring_producer *p, const char *tmp)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		int rc = link_segment(p, tmp, p->path);
		if (rc == 0) {
			if (tmp[0])
				unlink(tmp);
			return 0;
		}
		if (rc != -EEXIST)
			return fail(-rc, "cannot publish channel '%s': %s", p->name, strerror(-rc));
		struct stat st;
		int old = open_channel_file(p->path, p->name, O_RDWR, &st);
		if (old == -ENOENT)
			continue;
		if (old < 0)
			return old;
		rc = take_over(p, tmp, old);
		close(old);
		if (rc <= 0)
			return rc; /* renamed over the stale one, or an error */
	}
	return fail(EBUSY, "channel '%s' keeps changing under us; giving up", p->name);
}

int shmring_producer_create(const char *name, const struct shmring_producer_options *opts,
			    shmring_producer **out)
{
	static const struct shmring_producer_options defaults;
	const struct shmring_producer_options *o = opts ? opts : &defaults;
	if (!out)
		return fail(EINVAL, "out is NULL");
	*out = NULL;
	int rc = shmring_name_check(name);
	if (rc < 0)
		return rc;
	if (o->policy > SHMRING_POLICY_LIVE)
		return fail(EINVAL, "unknown flow policy %u (0 lossless, 1 drop-new, 2 live)", o->policy);
	if (o->mode & ~0777u)
		return fail(EINVAL, "mode %o has bits beyond 0777", o->mode);
	if (o->flags & ~SHMRING_PRODUCER_KEEP_NEWEST)
		return fail(EINVAL, "unknown producer flags 0x%x", o->flags & ~SHMRING_PRODUCER_KEEP_NEWEST);
	uint64_t ring = o->ring_size ? o->ring_size : DEFAULT_RING_SIZE;
	if (ring > SHMRING_MAX_RING_SIZE)
		return fail(EINVAL, "ring size %llu is larger than the limit %llu",
			    (unsigned long long)ring, (unsigned long long)SHMRING_MAX_RING_SIZE);
	ring = (ring + 4095) & ~4095ull;
	if (ring < SHMRING_MIN_RING_SIZE)
		ring = SHMRING_MIN_RING_SIZE;

	shmring_producer *p = calloc(1, sizeof(*p));
	if (!p)
		return fail(ENOMEM, "out of memory");
	p->fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	make_path(p->path, name);
	p->R = ring;
	p->seg_size = SHMRING_RING_OFFSET + ring;
	p->policy = o->policy;
	p->flags = o->flags;

	char tmp[PATH_LEN] = "";
	rc = create_segment(p, o, tmp);
	if (rc == 0)
		rc = publish_segment(p, tmp);
	if (rc < 0) {
		if (tmp[0])
			unlink(tmp);
		if (p->base)
			munmap(p->base, p->seg_size);
		if (p->fd >= 0)
			close(p->fd);
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int shmring_producer_set_stream(shmring_producer *p, const struct shmring_stream_info *info)
{
	if (!p)
		return fail(EINVAL, "stream description needs a producer");
	uint32_t id = p->desc_counter + 1;
	if (id == 0)
		id = 1;
	struct shmring_desc d;
	int rc = _shmring_make_desc(&d, id, info, p->name);
	if (rc < 0)
		return rc;
	p->pending = d;
	p->desc_counter = id;
	p->have_pending = 1;
	return 0;
}

/* The reusable boundary B (see the header), validated. */
static int boundary(shmring_producer *p, uint64_t *out)
{
	/* read_pos first, release_pos second: pairs with the consumer storing
	 * release_pos before read_pos when it claims (see shmring.h). Both
	 * acquire: pair with the consumer's release stores. */
	uint64_t r = __atomic_load_n(&p->h->read_pos, __ATOMIC_ACQUIRE);
	uint64_t rel = __atomic_load_n(&p->h->release_pos, __ATOMIC_ACQUIRE);
	uint64_t b = r;
	if (!(rel & SHMRING_RELEASE_NONE) && rel < r)
		b = rel;
	if (r > p->pub_pos || p->reserve_pos - b > p->R)
		return fail(EBADMSG,
			    "channel '%s': consumer positions are corrupt (read_pos %llu, "
			    "release_pos 0x%llx, write_pos %llu)",
			    p->name, (unsigned long long)r, (unsigned long long)rel,
			    (unsigned long long)p->pub_pos);
	*out = b;
	return 0;
}

static int room_ok(shmring_producer *p, uint64_t b, uint64_t need, int for_eos)
{
	if (p->reserve_pos - b > p->R || p->R - (p->reserve_pos - b) < need)
		return 0;
	/* A new description may overwrite its slot only when no record naming
	 * the slot's old description is left in [B, write_pos). */
	return !p->have_pending || for_eos || p->slot_end[p->pending.id % SHMRING_DESC_SLOTS] <= b;
}

/* Under the claim lock: move read_pos from r over the record rec found
 * there (validated); a frame counts as dropped. */
static void drop_record(shmring_producer *p, uint64_t r, const struct shmring_record *rec)
{
	/* Release: pairs with the consumer's acquire load of read_pos (under
	 * the same lock). */
	__atomic_store_n(&p->h->read_pos, r + rec->length, __ATOMIC_RELEASE);
	if (rec->type == SHMRING_RECORD_FRAME)
		__atomic_store_n(&p->h->frames_dropped, ++p->frames_dropped, __ATOMIC_RELAXED);
}

/* Live policy: advance read_pos over unread records until there is room.
 * While the reader holds a record, reclaiming frees no space until it
 * lets go (space is reused only from B on), but it still spares the reader
 * the stale frames: then all but the newest unread frame are reclaimed.
 * Returns the number of records reclaimed, or -EBADMSG. */
static int reclaim(shmring_producer *p, uint64_t need, int for_eos)
{
	if (ofd_lock(p->fd, SHMRING_LOCK_CLAIM, F_WRLCK, F_OFD_SETLK) < 0)
		return 0; /* the reader is claiming right now */
	int n = 0, rc;
	for (;;) {
		/* Under the claim lock nobody else moves read_pos. */
		uint64_t r = __atomic_load_n(&p->h->read_pos, __ATOMIC_ACQUIRE);
		uint64_t rel = __atomic_load_n(&p->h->release_pos, __ATOMIC_ACQUIRE);
		int holds = !(rel & SHMRING_RELEASE_NONE);
		if (r >= p->pub_pos || (!holds && room_ok(p, r, need, for_eos)))
			break;
		struct shmring_record rec;
		if ((rc = read_record(p->ring, p->R, r, p->pub_pos, "read_pos", p->name, &rec)) < 0) {
			n = rc;
			break;
		}
		if (holds && rec.type == SHMRING_RECORD_FRAME &&
		    !frame_follows(p->ring, p->R, p->name, r + rec.length, p->pub_pos))
			break; /* the newest unread frame stays for the reader */
		drop_record(p, r, &rec);
		n++;
	}
	ofd_lock(p->fd, SHMRING_LOCK_CLAIM, F_UNLCK, F_OFD_SETLK);
	return n;
}

/* SHMRING_PRODUCER_KEEP_NEWEST: while no reader is attached, reclaim every
 * record before the newest frame, and free what a dead reader held.  Under
 * the claim lock, which a reader takes to attach, so the two never race.
 * Returns the number of records reclaimed, or -EBADMSG. */
static int keep_newest(shmring_producer *p)
{
	if (!(p->flags & SHMRING_PRODUCER_KEEP_NEWEST) || !p->have_frame)
		return 0;
	uint64_t r = __atomic_load_n(&p->h->read_pos, __ATOMIC_ACQUIRE);
	uint64_t rel = __atomic_load_n(&p->h->release_pos, __ATOMIC_ACQUIRE);
	if (r >= p->last_frame && (rel & SHMRING_RELEASE_NONE))
		return 0; /* nothing older than the newest frame is kept */
	if (ofd_held(p->fd, SHMRING_LOCK_READER))
		return 0; /* checked again under the claim lock */
	if (ofd_lock(p->fd, SHMRING_LOCK_CLAIM, F_WRLCK, F_OFD_SETLK) < 0)
		return 0; /* a reader is attaching or claiming */
	int n = 0, rc = 0;
	if (!ofd_held(p->fd, SHMRING_LOCK_READER)) {
		r = __atomic_load_n(&p->h->read_pos, __ATOMIC_ACQUIRE);
		while (r < p->last_frame) {
			struct shmring_record rec;
			if ((rc = read_record(p->ring, p->R, r, p->pub_pos, "read_pos", p->name, &rec)) < 0)
				break;
			drop_record(p, r, &rec);
			r += rec.length;
			n++;
		}
		/* No reader: nothing is held.  Release: pairs with the acquire
		 * load in boundary(). */
		if (rc == 0) {
			__atomic_store_n(&p->h->release_pos, SHMRING_RELEASE_NONE | r, __ATOMIC_RELEASE);
			n += !(rel & SHMRING_RELEASE_NONE);
		}
	}
	ofd_lock(p->fd, SHMRING_LOCK_CLAIM, F_UNLCK, F_OFD_SETLK);
	return rc < 0 ? rc : n;
}

/* Block until the reader releases something (cons_seq changes), the
 * deadline passes or the handle is interrupted.  Leaves writer_waiting
 * set (make_room() clears it), so that tools see a producer that waits. */
static int wait_for_space(shmring_producer *p, uint64_t need, uint64_t deadline, int for_eos,
			  int *spun)
{
	/* iv before the interrupted check, v before the re-check of the room. */
	uint32_t iv = __atomic_load_n(&p->intr, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&p->interrupted, __ATOMIC_ACQUIRE))
		return fail(EINTR, "channel '%s': interrupted", p->name);
	if (shmring_now_ns() >= deadline)
		return fail(ETIMEDOUT, "channel '%s': timed out waiting for the reader to free space",
			    p->name);
	/* Acquire: pairs with the consumer's seq_cst increment of cons_seq
	 * after its release_pos store. */
	uint32_t v = __atomic_load_n(&p->h->cons_seq, __ATOMIC_ACQUIRE);
	if (!*spun) {
		*spun = 1;
		if (spin_while(&p->h->cons_seq, v))
			return 0;
	}
	/* Full barrier before the re-check; pairs with the consumer's seq_cst
	 * cons_seq increment before it reads writer_waiting. */
	__atomic_store_n(&p->h->writer_waiting, 1, __ATOMIC_SEQ_CST);
	uint64_t b;
	if (boundary(p, &b) < 0 || !room_ok(p, b, need, for_eos))
		wait2(&p->h->cons_seq, v, &p->intr, iv, deadline);
	return 0;
}

/* Wait (per policy) until need bytes are free at reserve_pos and the
 * pending description's slot can be written.  0, -ENOBUFS (drop) or error. */
static int make_room(shmring_producer *p, uint64_t need, uint64_t deadline, int for_eos)
{
	int spun = 0, rc;
	for (;;) {
		uint64_t b;
		rc = boundary(p, &b);
		if (rc < 0 || room_ok(p, b, need, for_eos))
			break;
		rc = p->policy == SHMRING_POLICY_LIVE ? reclaim(p, need, for_eos) : 0;
		if (rc == 0)
			rc = keep_newest(p);
		if (rc < 0)
			break;
		if (rc > 0)
			continue;
		if (for_eos && !shmring_producer_reader_alive(p)) {
			rc = fail(EPIPE, "channel '%s': ring full and no reader attached", p->name);
			break;
		}
		if (p->policy != SHMRING_POLICY_LOSSLESS && !for_eos) {
			rc = -ENOBUFS;
			break;
		}
		if ((rc = wait_for_space(p, need, deadline, for_eos, &spun)) < 0)
			break;
	}
	if (__atomic_load_n(&p->h->writer_waiting, __ATOMIC_RELAXED))
		__atomic_store_n(&p->h->writer_waiting, 0, __ATOMIC_RELAXED);
	return rc;
}

static void write_pending_desc(shmring_producer *p)
{
	if (!p->have_pending)
		return;
	uint32_t id = p->pending.id;
	struct shmring_desc *slot =
		(struct shmring_desc *)(p->base + SHMRING_DESC_OFFSET +
					(id % SHMRING_DESC_SLOTS) * SHMRING_DESC_SLOT_SIZE);
	__atomic_store_n(&slot->id, 0, __ATOMIC_RELAXED);
	memcpy((uint8_t *)slot + 4, (const uint8_t *)&p->pending + 4, sizeof(*slot) - 4);
	/* Release: pairs with the consumer's acquire load of slot id. */
	__atomic_store_n(&slot->id, id, __ATOMIC_RELEASE);
	__atomic_store_n(&p->h->desc_id, id, __ATOMIC_RELEASE);
	p->cur_desc = id;
	p->have_pending = 0;
}

static void publish(shmring_producer *p)
{
	int any = 0;
	while (p->q_len > 0) {
		struct resv *e = q_at(p, 0);
		if (e->state == RESV_RESERVED)
			break;
		struct shmring_record *rec = (struct shmring_record *)(p->ring + e->start % p->R);
		struct shmring_record r = {0};
		r.length = e->len;
		if (e->state == RESV_COMMITTED) {
			r.type = e->type;
			if (e->type == SHMRING_RECORD_FRAME) {
				r.flags = (uint16_t)(e->meta.flags & SHMRING_FLAGS_ALL);
				r.desc_id = e->desc_id;
				r.size = e->size;
				r.seq = p->next_seq++;
				r.pts = e->meta.pts;
				r.dts = e->meta.dts;
				r.duration = e->meta.duration;
				p->frames_written++;
				p->last_frame = e->start;
				p->have_frame = 1;
			}
			r.commit_ns = e->commit_ns;
		} else {
			r.type = SHMRING_RECORD_PAD;
		}
		memcpy(rec, &r, sizeof(r));
		p->pub_pos = e->start + e->len;
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_len--;
		any = 1;
	}
	if (!any)
		return;
	struct shmring_header *h = p->h;
	__atomic_store_n(&h->next_seq, p->next_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&h->frames_written, p->frames_written, __ATOMIC_RELAXED);
	/* Release: pairs with the consumer's acquire load of write_pos; makes
	 * the record bytes above visible first. */
	__atomic_store_n(&h->write_pos, p->pub_pos, __ATOMIC_RELEASE);
	/* Full barrier between the write_pos store and the reader_waiting
	 * load; pairs with the consumer's seq_cst store of reader_waiting
	 * before its re-check of write_pos. */
	__atomic_add_fetch(&h->prod_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&h->reader_waiting, __ATOMIC_SEQ_CST))
		futex_wake(&h->prod_seq, 0);
	keep_newest(p);
}

static void count_drop(shmring_producer *p)
{
	p->next_seq++;
	p->frames_dropped++;
	__atomic_store_n(&p->h->next_seq, p->next_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&p->h->frames_dropped, p->frames_dropped, __ATOMIC_RELAXED);
}

/* make_room() for a record of type; a frame that does not fit is dropped
 * and counted. */
static int room_for(shmring_producer *p, uint64_t need, uint64_t deadline, uint16_t type)
{
	int rc = make_room(p, need, deadline, type == SHMRING_RECORD_EOS);
	if (rc != -ENOBUFS)
		return rc;
	if (type == SHMRING_RECORD_FRAME)
		count_drop(p);
	return fail(ENOBUFS, "channel '%s': ring full, frame dropped", p->name);
}

/* Reserve a record of type with max_size payload bytes. */
static int reserve(shmring_producer *p, uint16_t type, uint64_t max_size, uint64_t deadline,
		   struct resv **out)
{
	uint64_t len = (SHMRING_RECORD_HEADER_SIZE + max_size + SHMRING_RECORD_ALIGN - 1) &
		       ~(uint64_t)(SHMRING_RECORD_ALIGN - 1);
	if (max_size > p->R || len > p->R) {
		return fail(EMSGSIZE,
			    "frame of %llu bytes does not fit the %llu-byte ring of channel '%s' "
			    "(largest frame: %llu bytes); make the ring larger",
			    (unsigned long long)max_size, (unsigned long long)p->R, p->name,
			    (unsigned long long)shmring_producer_max_frame(p));
	}
	uint64_t off = p->reserve_pos % p->R;
	if (off + len > p->R) {
		/* Pad to the end of the ring on its own, then start at 0. */
		uint64_t pad = p->R - off;
		int rc = room_for(p, pad, deadline, type);
		if (rc < 0)
			return rc;
		struct resv *e;
		rc = q_push(p, &e);
		if (rc < 0)
			return rc;
		e->start = p->reserve_pos;
		e->len = pad;
		e->state = RESV_PAD;
		p->reserve_pos += pad;
		publish(p);
	}
	int rc = room_for(p, len, deadline, type);
	if (rc < 0)
		return rc;
	struct resv *e;
	rc = q_push(p, &e);
	if (rc < 0)
		return rc;
	if (type == SHMRING_RECORD_FRAME) {
		write_pending_desc(p);
		p->slot_end[p->cur_desc % SHMRING_DESC_SLOTS] = p->reserve_pos + len;
	}
	e->start = p->reserve_pos;
	e->len = len;
	e->max_size = max_size;
	e->type = type;
	e->desc_id = p->cur_desc;
	e->state = RESV_RESERVED;
	p->reserve_pos += len;
	*out = e;
	return 0;
}

int shmring_producer_reserve(shmring_producer *p, size_t max_size, int64_t timeout_ns, void **data,
			     uint64_t *id)
{
	if (!p || !data || !id)
		return fail(EINVAL, "NULL argument");
	if (!p->cur_desc && !p->have_pending)
		return fail(EINVAL, "channel '%s': set a stream description before the first frame",
			    p->name);
	struct resv *e;
	int rc = reserve(p, SHMRING_RECORD_FRAME, max_size, deadline_of(timeout_ns), &e);
	if (rc < 0)
		return rc;
	*data = p->ring + e->start % p->R + SHMRING_RECORD_HEADER_SIZE;
	*id = e->start;
	return 0;
}

static struct resv *find_resv(shmring_producer *p, uint64_t id, unsigned *idx)
{
	for (unsigned i = 0; i < p->q_len; i++) {
		struct resv *e = q_at(p, i);
		if (e->start == id && e->state == RESV_RESERVED && e->type == SHMRING_RECORD_FRAME) {
			*idx = i;
			return e;
		}
	}
	return NULL;
}

int shmring_producer_commit(shmring_producer *p, uint64_t id, size_t size,
			    const struct shmring_meta *meta)
{
	unsigned idx;
	struct resv *e = p ? find_resv(p, id, &idx) : NULL;
	if (!e)
		return fail(EINVAL, "no outstanding reservation %llu", (unsigned long long)id);
	if (size > e->max_size)
		return fail(EINVAL, "commit of %zu bytes into a reservation of %llu", size,
			    (unsigned long long)e->max_size);
	static const struct shmring_meta none = SHMRING_META_INIT;
	e->meta = meta ? *meta : none;
	e->size = size;
	e->commit_ns = shmring_now_ns();
	e->state = RESV_COMMITTED;
	if (idx == p->q_len - 1) {
		/* The newest reservation: give back what it did not use. */
		uint64_t len = (SHMRING_RECORD_HEADER_SIZE + size + SHMRING_RECORD_ALIGN - 1) &
			       ~(uint64_t)(SHMRING_RECORD_ALIGN - 1);
		p->reserve_pos = e->start + len;
		e->len = len;
		p->slot_end[e->desc_id % SHMRING_DESC_SLOTS] = e->start + len;
	}
	publish(p);
	return 0;
}

int shmring_producer_abort(shmring_producer *p, uint64_t id)
{
	unsigned idx;
	struct resv *e = p ? find_resv(p, id, &idx) : NULL;
	if (!e)
		return fail(EINVAL, "no outstanding reservation %llu", (unsigned long long)id);
	if (idx == p->q_len - 1) {
		p->reserve_pos = e->start;
		p->q_len--;
	} else {
		e->state = RESV_PAD;
	}
	publish(p);
	return 0;
}

/* Copy a frame into its 64-byte aligned payload.  A large frame goes in
 * with non-temporal stores: they do not read each destination line into
 * the cache before writing it, which makes the copy of a 1080p frame
 * about a third faster than memcpy (a frame that size would not stay in
 * the cache for the reader anyway). */
static void copy_in(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	if (n >= STREAM_MIN) {
		uint8_t *d = dst;
		const uint8_t *s = src;
		size_t i = 0;
		for (; i + 64 <= n; i += 64) {
			__m128i a = _mm_loadu_si128((const __m128i *)(s + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
			__m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
			__m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
			_mm_stream_si128((__m128i *)(d + i), a);
			_mm_stream_si128((__m128i *)(d + i + 16), b);
			_mm_stream_si128((__m128i *)(d + i + 32), c);
			_mm_stream_si128((__m128i *)(d + i + 48), e);
		}
		memcpy(d + i, s + i, n - i);
		/* Streaming stores are weakly ordered: fence them before the
		 * release store of write_pos that publishes the frame. */
		_mm_sfence();
		return;
	}
#endif
	memcpy(dst, src, n);
}

int shmring_producer_write(shmring_producer *p, const void *data, size_t size,
			   const struct shmring_meta *meta, int64_t timeout_ns)
{
	void *dst;
	uint64_t id;
	int rc = shmring_producer_reserve(p, size, timeout_ns, &dst, &id);
	if (rc < 0)
		return rc;
	if (size)
		copy_in(dst, data, size);
	return shmring_producer_commit(p, id, size, meta);
}

uint64_t shmring_producer_max_frame(const shmring_producer *p)
{
	return p ? p->R - SHMRING_RECORD_HEADER_SIZE : 0;
}

int shmring_producer_eos(shmring_producer *p, int64_t timeout_ns)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	struct resv *e;
	int rc = reserve(p, SHMRING_RECORD_EOS, 0, deadline_of(timeout_ns), &e);
	if (rc < 0)
		return rc;
	e->commit_ns = shmring_now_ns();
	e->state = RESV_COMMITTED;
	__atomic_store_n(&p->h->eos_pos, e->start + 1, __ATOMIC_RELAXED);
	publish(p);
	return 0;
}

int shmring_producer_wait_reader(shmring_producer *p, int64_t timeout_ns)
{
	if (!p)
		return fail(EINVAL, "NULL producer");
	uint64_t deadline = deadline_of(timeout_ns);
	int rc = 0;
	for (;;) {
		/* iv before the interrupted check, v before the look at the lock. */
		uint32_t iv = __atomic_load_n(&p->intr, __ATOMIC_ACQUIRE);
		/* Acquire: pairs with the consumer's seq_cst cons_seq increment
		 * after it took its lock at attach. */
		uint32_t v = __atomic_load_n(&p->h->cons_seq, __ATOMIC_ACQUIRE);
		if (shmring_producer_reader_alive(p))
			break;
		if (__atomic_load_n(&p->interrupted, __ATOMIC_ACQUIRE)) {
			rc = fail(EINTR, "channel '%s': interrupted", p->name);
			break;
		}
		if (shmring_now_ns() >= deadline) {
			rc = fail(ETIMEDOUT, "channel '%s': no reader attached", p->name);
			break;
		}
		/* Full barrier before the re-check; pairs with the consumer's
		 * seq_cst cons_seq increment before it reads writer_waiting. */
		__atomic_store_n(&p->h->writer_waiting, 1, __ATOMIC_SEQ_CST);
		if (!shmring_producer_reader_alive(p))
			wait2(&p->h->cons_seq, v, &p->intr, iv, deadline);
	}
	__atomic_store_n(&p->h->writer_waiting, 0, __ATOMIC_RELAXED);
	return rc;
}

int shmring_producer_reader_alive(shmring_producer *p)
{
	return p && ofd_held(p->fd, SHMRING_LOCK_READER);
}

void shmring_producer_interrupt(shmring_producer *p)
{
	if (!p)
		return;
	__atomic_store_n(&p->interrupted, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&p->intr, 1, __ATOMIC_SEQ_CST);
	futex_wake(&p->intr, 1);
	futex_wake(&p->h->cons_seq, 0); /* for the wait without futex_waitv */
}

void shmring_producer_resume(shmring_producer *p)
{
	if (p)
		__atomic_store_n(&p->interrupted, 0, __ATOMIC_RELEASE);
}

/* FRAME records committed in [r, w) and not read yet, for statistics:
 * walks the record headers of the ring of R bytes (the caller's validated
 * size, never re-read from shared memory), stopping quietly at anything
 * invalid (a live producer may be reusing the space meanwhile). */
static uint64_t pending_frames(const struct shmring_header *h, uint64_t R, uint64_t r, uint64_t w)
{
	const uint8_t *ring = (const uint8_t *)h + SHMRING_RING_OFFSET;
	uint64_t n = 0;
	if (r > w || w - r > R)
		return 0;
	for (uint64_t i = 0; r < w && i < R / SHMRING_RECORD_ALIGN; i++) {
		struct shmring_record rec;
		uint64_t off = r % R;
		if (r % SHMRING_RECORD_ALIGN || R - off < SHMRING_RECORD_HEADER_SIZE)
			break;
		memcpy(&rec, ring + off, sizeof(rec));
		if (rec.length < SHMRING_RECORD_HEADER_SIZE || rec.length % SHMRING_RECORD_ALIGN ||
		    rec.length > R - off || rec.length > w - r)
			break;
		n += rec.type == SHMRING_RECORD_FRAME;
		r += rec.length;
	}
	return n;
}

static void fill_stats(const struct shmring_header *h, uint64_t R, int fd, struct shmring_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->generation = h->generation;
	st->ring_size = R;
	st->write_pos = __atomic_load_n(&h->write_pos, __ATOMIC_ACQUIRE);
	st->read_pos = __atomic_load_n(&h->read_pos, __ATOMIC_ACQUIRE);
	st->frames_written = __atomic_load_n(&h->frames_written, __ATOMIC_RELAXED);
	st->frames_dropped = __atomic_load_n(&h->frames_dropped, __ATOMIC_RELAXED);
	st->frames_read = __atomic_load_n(&h->frames_read, __ATOMIC_RELAXED);
	st->frames_skipped = __atomic_load_n(&h->frames_skipped, __ATOMIC_RELAXED);
	st->lag_frames = pending_frames(h, R, st->read_pos, st->write_pos);
	st->lag_bytes = st->write_pos > st->read_pos ? st->write_pos - st->read_pos : 0;
	st->policy = h->policy;
	st->state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
	st->producer_pid = (int32_t)__atomic_load_n(&h->producer_pid, __ATOMIC_RELAXED);
	st->reader_pid = (int32_t)__atomic_load_n(&h->reader_pid, __ATOMIC_RELAXED);
	st->producer_alive = ofd_held(fd, SHMRING_LOCK_PRODUCER);
	st->reader_alive = ofd_held(fd, SHMRING_LOCK_READER);
	st->producer_waiting = __atomic_load_n(&h->writer_waiting, __ATOMIC_RELAXED) != 0;
	if (!st->reader_alive)
		st->reader_pid = 0;
}

int shmring_producer_stats(shmring_producer *p, struct shmring_stats *st)
{
	if (!p || !st)
		return fail(EINVAL, "NULL argument");
	fill_stats(p->h, p->R, p->fd, st);
	st->producer_alive = 1;
	return 0;
}

void shmring_producer_close(shmring_producer *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->q_len; i++)
		if (q_at(p, i)->state == RESV_RESERVED)
			q_at(p, i)->state = RESV_PAD;
	publish(p);
	/* Release: pairs with the consumer's acquire load of state. */
	__atomic_store_n(&p->h->state, SHMRING_STATE_CLOSED, __ATOMIC_RELEASE);
	__atomic_add_fetch(&p->h->prod_seq, 1, __ATOMIC_SEQ_CST);
	futex_wake(&p->h->prod_seq, 0);
	/* We hold the producer lock of this inode, so nobody replaces the
	 * name between the check and the unlink. */
	struct stat st;
	if (stat(p->path, &st) == 0 && st.st_dev == p->dev && st.st_ino == p->ino)
		unlink(p->path);
	munmap(p->base, p->seg_size);
	close(p->fd);
	free(p->q);
	free(p);
}

/* ---------------------------------------------------------------------
 * Consumer
 * --------------------------------------------------------------------- */

struct held {
	uint64_t start, end;
	int released;
};

struct shmring_consumer {
	char name[SHMRING_NAME_MAX + 1];
	char path[PATH_LEN];
	int fd;
	uint8_t *base;
	uint64_t seg_size;
	struct shmring_header *h;
	uint8_t *ring;
	uint64_t R;
	uint32_t policy;
	uint64_t generation;
	int attached;

	pthread_mutex_t lock;
	struct held *held;
	unsigned held_head, held_len, held_cap;
	uint64_t claim_end;

	struct shmring_desc desc[SHMRING_DESC_SLOTS];
	uint32_t last_desc;

	int after_eos; /* the last record read was EOS */
	uint32_t intr;
	int interrupted;
};

int shmring_consumer_new(shmring_consumer **out)
{
	if (!out)
		return fail(EINVAL, "out is NULL");
	shmring_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return fail(ENOMEM, "out of memory");
	c->fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static int claim_lock(shmring_consumer *c, uint64_t deadline)
{
	for (unsigned tries = 0;; tries++) {
		int rc = ofd_lock(c->fd, SHMRING_LOCK_CLAIM, F_WRLCK, F_OFD_SETLK);
		if (rc == 0)
			return 0;
		if (rc != -EAGAIN && rc != -EACCES)
			return fail(-rc, "channel '%s': claim lock: %s", c->name, strerror(-rc));
		if (__atomic_load_n(&c->interrupted, __ATOMIC_ACQUIRE))
			return fail(EINTR, "channel '%s': interrupted", c->name);
		if (shmring_now_ns() >= deadline)
			return fail(ETIMEDOUT, "channel '%s': claim lock busy", c->name);
		if (tries < 100) {
			sched_yield(); /* the producer holds it for a few microseconds */
		} else {
			/* ... unless it is stopped: do not burn a CPU meanwhile. */
			struct timespec ms = {0, 1000000};
			nanosleep(&ms, NULL);
		}
	}
}

static void claim_unlock(shmring_consumer *c)
{
	ofd_lock(c->fd, SHMRING_LOCK_CLAIM, F_UNLCK, F_OFD_SETLK);
}

/* Open the channel file, waiting up to deadline for it to appear. */
static int wait_for_file(shmring_consumer *c, uint64_t deadline, struct stat *st)
{
	uint64_t start = shmring_now_ns();
	uint64_t backoff = 10000000ull;
	for (;;) {
		uint32_t iv = __atomic_load_n(&c->intr, __ATOMIC_ACQUIRE);
		int fd = open_channel_file(c->path, c->name, O_RDWR, st);
		if (fd != -ENOENT)
			return fd;
		if (__atomic_load_n(&c->interrupted, __ATOMIC_ACQUIRE))
			return fail(EINTR, "interrupted while waiting for channel '%s'", c->name);
		uint64_t now = shmring_now_ns();
		if (now >= deadline)
			return fail(ENOENT,
				    "channel '%s' does not exist (no producer after %.1f s); start "
				    "the producer or check the name",
				    c->name, (double)(now - start) / 1e9);
		/* Sleep on our private interrupt word. */
		uint64_t until = now + backoff < deadline ? now + backoff : deadline;
		struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
		syscall(SYS_futex, &c->intr, FUTEX_WAIT_BITSET_PRIVATE, iv, &ts, NULL,
			FUTEX_BITSET_MATCH_ANY);
		if (backoff < 100000000ull)
			backoff *= 2;
	}
}

/* Check the open file st, map it and validate its identity. */
static int map_segment(shmring_consumer *c, const struct stat *st)
{
	int rc = check_file(st, c->name);
	if (rc < 0)
		return rc;
	c->seg_size = (uint64_t)st->st_size;
	c->base = mmap(NULL, c->seg_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, c->fd, 0);
	if (c->base == MAP_FAILED) {
		c->base = NULL;
		return fail(errno, "cannot map channel '%s': %s", c->name, strerror(errno));
	}
	c->h = (struct shmring_header *)c->base;
	rc = check_identity(c->h, c->seg_size, c->name);
	if (rc < 0)
		return rc;
	c->R = c->h->ring_size;
	c->ring = c->base + SHMRING_RING_OFFSET;
	c->policy = c->h->policy;
	c->generation = c->h->generation;
	return 0;
}

/* Become the channel's reader: the reader lock, then, under the claim
 * lock (a live or keep-newest producer moves read_pos under it), start
 * from read_pos holding nothing. */
static int become_reader(shmring_consumer *c)
{
	int rc = ofd_lock(c->fd, SHMRING_LOCK_READER, F_WRLCK, F_OFD_SETLK);
	if (rc == -EAGAIN || rc == -EACCES)
		return fail(EBUSY, "channel '%s' already has a reader (pid %u); only one reader per channel",
			    c->name, __atomic_load_n(&c->h->reader_pid, __ATOMIC_RELAXED));
	if (rc < 0)
		return fail(-rc, "cannot lock channel '%s': %s", c->name, strerror(-rc));
	if ((rc = claim_lock(c, deadline_of(1000000000ll))) < 0)
		return rc;
	uint64_t r = __atomic_load_n(&c->h->read_pos, __ATOMIC_ACQUIRE);
	c->claim_end = r;
	/* Release: frames a dead previous reader held are free again. */
	__atomic_store_n(&c->h->release_pos, SHMRING_RELEASE_NONE | r, __ATOMIC_RELEASE);
	__atomic_store_n(&c->h->reader_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->h->reader_attaches, 1, __ATOMIC_RELAXED);
	claim_unlock(c);
	__atomic_add_fetch(&c->h->cons_seq, 1, __ATOMIC_SEQ_CST);
	futex_wake(&c->h->cons_seq, 0);
	return 0;
}

int shmring_consumer_open(shmring_consumer *c, const char *name, int64_t timeout_ns)
{
	if (!c)
		return fail(EINVAL, "NULL consumer");
	if (c->attached || c->fd >= 0)
		return fail(EINVAL, "consumer already attached to '%s'", c->name);
	int rc = shmring_name_check(name);
	if (rc < 0)
		return rc;
	snprintf(c->name, sizeof(c->name), "%s", name);
	make_path(c->path, name);
	struct stat st;
	c->fd = wait_for_file(c, deadline_of(timeout_ns), &st);
	if (c->fd < 0) {
		rc = c->fd;
		c->fd = -1;
		return rc;
	}
	rc = map_segment(c, &st);
	if (rc == 0)
		rc = become_reader(c);
	if (rc == 0) {
		__atomic_store_n(&c->attached, 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (c->base)
		munmap(c->base, c->seg_size);
	c->base = NULL;
	c->h = NULL;
	close(c->fd);
	c->fd = -1;
	return rc;
}

int shmring_consumer_attach(const char *name, int64_t timeout_ns, shmring_consumer **out)
{
	if (!out)
		return fail(EINVAL, "out is NULL");
	*out = NULL;
	shmring_consumer *c;
	int rc = shmring_consumer_new(&c);
	if (rc < 0)
		return rc;
	rc = shmring_consumer_open(c, name, timeout_ns);
	if (rc < 0) {
		shmring_consumer_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

static struct held *held_at(shmring_consumer *c, unsigned i)
{
	return &c->held[(c->held_head + i) % c->held_cap];
}

static int held_push(shmring_consumer *c, uint64_t start, uint64_t end)
{
	if (c->held_len == c->held_cap) {
		int rc = fifo_grow((void **)&c->held, &c->held_head, c->held_len, &c->held_cap,
				   sizeof(*c->held));
		if (rc < 0)
			return rc;
	}
	struct held *e = held_at(c, c->held_len++);
	e->start = start;
	e->end = end;
	e->released = 0;
	return 0;
}

/* Publish release_pos after the held list changed; lock held. */
static void publish_release(shmring_consumer *c)
{
	while (c->held_len && held_at(c, 0)->released) {
		c->held_head = (c->held_head + 1) % c->held_cap;
		c->held_len--;
	}
	uint64_t rel = c->held_len ? held_at(c, 0)->start : (SHMRING_RELEASE_NONE | c->claim_end);
	/* Release: pairs with the producer's acquire load in boundary(). */
	__atomic_store_n(&c->h->release_pos, rel, __ATOMIC_RELEASE);
	/* Full barrier before reading writer_waiting; pairs with the
	 * producer's seq_cst store of writer_waiting before its re-check. */
	__atomic_add_fetch(&c->h->cons_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->h->writer_waiting, __ATOMIC_SEQ_CST))
		futex_wake(&c->h->cons_seq, 0);
}

static int release_at(shmring_consumer *c, uint64_t pos)
{
	for (unsigned i = 0; i < c->held_len; i++) {
		struct held *e = held_at(c, i);
		if (e->start == pos && !e->released) {
			e->released = 1;
			if (i == 0)
				publish_release(c);
			return 0;
		}
	}
	return fail(EINVAL, "channel '%s': no held frame at position %llu", c->name,
		    (unsigned long long)pos);
}

static int get_desc(shmring_consumer *c, uint32_t id, const struct shmring_desc **out)
{
	unsigned k = id % SHMRING_DESC_SLOTS;
	if (c->desc[k].id == id) {
		*out = &c->desc[k];
		return 0;
	}
	const struct shmring_desc *slot =
		(const struct shmring_desc *)(c->base + SHMRING_DESC_OFFSET + k * SHMRING_DESC_SLOT_SIZE);
	/* Acquire: pairs with the producer's release store of the slot id
	 * after it filled the slot. */
	uint32_t sid = __atomic_load_n(&slot->id, __ATOMIC_ACQUIRE);
	if (sid != id)
		return fail(EBADMSG, "channel '%s': frame names description %u, slot %u holds %u",
			    c->name, id, k, sid);
	struct shmring_desc tmp;
	memcpy(&tmp, slot, sizeof(tmp));
	int rc = _shmring_check_desc(&tmp, id, c->name);
	if (rc < 0)
		return rc;
	c->desc[k] = tmp;
	*out = &c->desc[k];
	return 0;
}

#define AGAIN 2 /* take_record() / wait_for_record(): look at the ring again */

/* The description of the FRAME record rec at pos, checked against it: a
 * raw frame (with planes) holds at least frame_size bytes. */
static int frame_desc(shmring_consumer *c, const struct shmring_record *rec, uint64_t pos,
		      const struct shmring_desc **desc)
{
	int rc = get_desc(c, rec->desc_id, desc);
	if (rc < 0)
		return rc;
	if ((*desc)->n_planes && rec->size < (*desc)->frame_size)
		return fail(EBADMSG,
			    "channel '%s': frame %llu at %llu has %llu bytes, fewer than the "
			    "%llu-byte %s frames of description %u",
			    c->name, (unsigned long long)rec->seq, (unsigned long long)pos,
			    (unsigned long long)rec->size, (unsigned long long)(*desc)->frame_size,
			    (*desc)->format, rec->desc_id);
	return 0;
}

static void fill_frame(shmring_consumer *c, const struct shmring_record *rec, uint64_t pos,
		       const struct shmring_desc *desc, struct shmring_frame *frame)
{
	frame->data = c->ring + pos % c->R + SHMRING_RECORD_HEADER_SIZE;
	frame->size = rec->size;
	frame->seq = rec->seq;
	frame->meta.pts = rec->pts;
	frame->meta.dts = rec->dts;
	frame->meta.duration = rec->duration;
	frame->meta.flags = rec->flags;
	frame->commit_ns = rec->commit_ns;
	frame->desc = desc;
	frame->desc_changed = rec->desc_id != c->last_desc;
	frame->_pos = pos;
	c->last_desc = rec->desc_id;
	c->after_eos = 0;
	__atomic_add_fetch(&c->h->frames_read, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->h->last_read_seq, rec->seq + 1, __ATOMIC_RELAXED);
}

/* Claim the record at read_pos (before w) and hand it out: 1 with *frame
 * filled, 0 at end of stream, AGAIN (padding, a skipped frame, or the
 * producer reclaimed it first), or an error.  c->lock held. */
static int take_record(shmring_consumer *c, uint64_t w, unsigned flags, uint64_t deadline,
		       struct shmring_frame *frame)
{
	struct shmring_header *h = c->h;
	const int live = c->policy == SHMRING_POLICY_LIVE;
	uint64_t r = __atomic_load_n(&h->read_pos, __ATOMIC_ACQUIRE);
	int rc;
	if (live) {
		if ((rc = claim_lock(c, deadline)) < 0)
			return rc;
		r = __atomic_load_n(&h->read_pos, __ATOMIC_ACQUIRE);
		if (r >= w) {
			claim_unlock(c);
			return AGAIN;
		}
	}
	struct shmring_record rec;
	const struct shmring_desc *desc = NULL;
	rc = read_record(c->ring, c->R, r, w, "read_pos", c->name, &rec);
	if (rc == 0 && rec.type == SHMRING_RECORD_FRAME)
		rc = frame_desc(c, &rec, r, &desc);
	if (rc == 0)
		rc = held_push(c, r, r + rec.length);
	if (rc < 0) {
		if (live)
			claim_unlock(c);
		return rc;
	}
	if (c->held_len == 1)
		/* Before the read_pos store: see shmring.h. Release: pairs with
		 * the producer's acquire in boundary(). */
		__atomic_store_n(&h->release_pos, r, __ATOMIC_RELEASE);
	/* Release: pairs with the producer's acquire load of read_pos in
	 * boundary() and reclaim(). */
	__atomic_store_n(&h->read_pos, r + rec.length, __ATOMIC_RELEASE);
	c->claim_end = r + rec.length;
	if (live)
		claim_unlock(c);
	if (rec.type == SHMRING_RECORD_FRAME && (flags & SHMRING_NEXT_LATEST) &&
	    frame_follows(c->ring, c->R, c->name, r + rec.length, w)) {
		__atomic_add_fetch(&h->frames_skipped, 1, __ATOMIC_RELAXED);
		rec.type = SHMRING_RECORD_PAD; /* given back like padding */
	}
	if (rec.type != SHMRING_RECORD_FRAME) {
		release_at(c, r);
		if (rec.type != SHMRING_RECORD_EOS)
			return AGAIN;
		c->after_eos = 1;
		return 0;
	}
	fill_frame(c, &rec, r, desc, frame);
	return 1;
}

/* The producer died: its lock is free while the segment still says OPEN
 * and nothing was written since w. */
static int producer_died(shmring_consumer *c, uint64_t w)
{
	if (ofd_held(c->fd, SHMRING_LOCK_PRODUCER) ||
	    __atomic_load_n(&c->h->write_pos, __ATOMIC_ACQUIRE) != w ||
	    __atomic_load_n(&c->h->state, __ATOMIC_ACQUIRE) != SHMRING_STATE_OPEN)
		return 0;
	return fail(EOWNERDEAD, "channel '%s': the producer (pid %u) died", c->name,
		    __atomic_load_n(&c->h->producer_pid, __ATOMIC_RELAXED));
}

/* Nothing to read at w (v: prod_seq loaded before w): end of stream, an
 * error, or AGAIN after waiting at most one slice for the producer.
 * c->lock held; dropped while waiting. */
static int wait_for_record(shmring_consumer *c, uint64_t w, uint32_t v, uint64_t deadline, int *spun)
{
	struct shmring_header *h = c->h;
	uint32_t state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
	if (state == SHMRING_STATE_CLOSED) {
		if (__atomic_load_n(&h->write_pos, __ATOMIC_ACQUIRE) != w)
			return AGAIN;
		if (c->after_eos)
			return 0; /* end of stream stays end of stream */
		return fail(ESHUTDOWN, "channel '%s': the producer closed without end of stream",
			    c->name);
	}
	if (state != SHMRING_STATE_OPEN)
		return fail(EBADMSG, "channel '%s': corrupt header: state = %u (1 open, 2 closed)",
			    c->name, state);
	if (shmring_now_ns() >= deadline) {
		int rc = producer_died(c, w);
		return rc < 0 ? rc : fail(ETIMEDOUT, "channel '%s': no frame within the timeout", c->name);
	}
	pthread_mutex_unlock(&c->lock);
	int slice_over = 0;
	if (!*spun) {
		*spun = 1;
		if (spin_while(&h->prod_seq, v)) {
			pthread_mutex_lock(&c->lock);
			return AGAIN;
		}
	}
	uint32_t iv = __atomic_load_n(&c->intr, __ATOMIC_ACQUIRE);
	if (!__atomic_load_n(&c->interrupted, __ATOMIC_ACQUIRE)) {
		/* Full barrier before the re-check; pairs with the producer's
		 * seq_cst prod_seq increment before it reads reader_waiting. */
		__atomic_store_n(&h->reader_waiting, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&h->write_pos, __ATOMIC_SEQ_CST) == w &&
		    __atomic_load_n(&h->state, __ATOMIC_SEQ_CST) == state)
			slice_over = wait2(&h->prod_seq, v, &c->intr, iv, deadline);
		__atomic_store_n(&h->reader_waiting, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&c->lock);
	int rc = slice_over ? producer_died(c, w) : 0;
	return rc < 0 ? rc : AGAIN;
}

int shmring_consumer_next(shmring_consumer *c, struct shmring_frame *frame, int64_t timeout_ns,
			  unsigned flags)
{
	if (!c || !frame)
		return fail(EINVAL, "NULL argument");
	if (!c->attached)
		return fail(EINVAL, "consumer is not attached");
	uint64_t deadline = deadline_of(timeout_ns);
	struct shmring_header *h = c->h;
	int rc, spun = timeout_ns == 0;
	pthread_mutex_lock(&c->lock);
	do {
		if (__atomic_load_n(&c->interrupted, __ATOMIC_ACQUIRE)) {
			rc = fail(EINTR, "channel '%s': interrupted", c->name);
			break;
		}
		/* prod_seq before write_pos: a publish in between changes it and
		 * the futex wait returns at once. */
		uint32_t v = __atomic_load_n(&h->prod_seq, __ATOMIC_ACQUIRE);
		/* Acquire: pairs with the producer's release store in publish(). */
		uint64_t w = __atomic_load_n(&h->write_pos, __ATOMIC_ACQUIRE);
		uint64_t r = __atomic_load_n(&h->read_pos, __ATOMIC_ACQUIRE);
		if (r > w || w - r > c->R) {
			rc = fail(EBADMSG,
				  "channel '%s': corrupt positions (read_pos %llu, write_pos %llu, ring %llu)",
				  c->name, (unsigned long long)r, (unsigned long long)w,
				  (unsigned long long)c->R);
			break;
		}
		if (r < w)
			rc = take_record(c, w, flags, deadline, frame);
		else
			rc = wait_for_record(c, w, v, deadline, &spun);
	} while (rc == AGAIN);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int shmring_consumer_release(shmring_consumer *c, const struct shmring_frame *frame)
{
	if (!c || !frame)
		return fail(EINVAL, "NULL argument");
	pthread_mutex_lock(&c->lock);
	int rc = c->attached ? release_at(c, frame->_pos) : fail(EINVAL, "consumer is not attached");
	pthread_mutex_unlock(&c->lock);
	return rc;
}

unsigned shmring_consumer_held(shmring_consumer *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	unsigned n = 0;
	for (unsigned i = 0; i < c->held_len; i++)
		n += !held_at(c, i)->released;
	pthread_mutex_unlock(&c->lock);
	return n;
}

uint64_t shmring_consumer_generation(const shmring_consumer *c)
{
	return c ? c->generation : 0;
}

int shmring_consumer_producer_alive(shmring_consumer *c)
{
	if (!c || !c->attached)
		return 0;
	return ofd_held(c->fd, SHMRING_LOCK_PRODUCER) &&
	       __atomic_load_n(&c->h->state, __ATOMIC_ACQUIRE) == SHMRING_STATE_OPEN;
}

static int read_current_desc(const uint8_t *base, const char *name, struct shmring_desc *out)
{
	const struct shmring_header *h = (const struct shmring_header *)base;
	uint32_t id = __atomic_load_n(&h->desc_id, __ATOMIC_ACQUIRE);
	if (id == 0)
		return fail(ENODATA, "channel '%s' has no stream description yet", name);
	const struct shmring_desc *slot =
		(const struct shmring_desc *)(base + SHMRING_DESC_OFFSET +
					      (id % SHMRING_DESC_SLOTS) * SHMRING_DESC_SLOT_SIZE);
	if (__atomic_load_n(&slot->id, __ATOMIC_ACQUIRE) != id)
		return fail(EBADMSG, "channel '%s': current description %u not in its slot", name, id);
	memcpy(out, slot, sizeof(*out));
	return _shmring_check_desc(out, id, name);
}

int shmring_consumer_current_desc(shmring_consumer *c, struct shmring_desc *out)
{
	if (!c || !out || !c->attached)
		return fail(EINVAL, "NULL argument or consumer not attached");
	return read_current_desc(c->base, c->name, out);
}

void shmring_consumer_interrupt(shmring_consumer *c)
{
	if (!c)
		return;
	__atomic_store_n(&c->interrupted, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&c->intr, 1, __ATOMIC_SEQ_CST);
	futex_wake(&c->intr, 1);
	if (__atomic_load_n(&c->attached, __ATOMIC_ACQUIRE))
		futex_wake(&c->h->prod_seq, 0); /* for the wait without futex_waitv */
}

void shmring_consumer_resume(shmring_consumer *c)
{
	if (c)
		__atomic_store_n(&c->interrupted, 0, __ATOMIC_RELEASE);
}

int shmring_consumer_stats(shmring_consumer *c, struct shmring_stats *st)
{
	if (!c || !st || !c->attached)
		return fail(EINVAL, "NULL argument or consumer not attached");
	fill_stats(c->h, c->R, c->fd, st);
	st->reader_alive = 1;
	st->reader_pid = (int32_t)getpid();
	return 0;
}

void shmring_consumer_close(shmring_consumer *c)
{
	if (!c)
		return;
	if (c->attached) {
		pthread_mutex_lock(&c->lock);
		for (unsigned i = 0; i < c->held_len; i++)
			held_at(c, i)->released = 1;
		__atomic_store_n(&c->h->reader_pid, 0, __ATOMIC_RELAXED);
		publish_release(c);
		/* Leave before the last wake-up: a keep-newest producer that
		 * waits for space reclaims once it sees no reader. */
		ofd_lock(c->fd, SHMRING_LOCK_READER, F_UNLCK, F_OFD_SETLK);
		__atomic_add_fetch(&c->h->cons_seq, 1, __ATOMIC_SEQ_CST);
		futex_wake(&c->h->cons_seq, 0);
		pthread_mutex_unlock(&c->lock);
	}
	if (c->base)
		munmap(c->base, c->seg_size);
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c->held);
	free(c);
}

/* ---------------------------------------------------------------------
 * Inspection
 * --------------------------------------------------------------------- */

int shmring_inspect(const char *name, struct shmring_stats *st, struct shmring_desc *desc)
{
	int rc = shmring_name_check(name);
	if (rc < 0)
		return rc;
	if (!st)
		return fail(EINVAL, "stats is NULL");
	char path[PATH_LEN];
	make_path(path, name);
	struct stat s;
	int fd = open_channel_file(path, name, O_RDONLY, &s);
	if (fd < 0)
		return fd;
	if ((rc = check_file(&s, name)) < 0) {
		close(fd);
		return rc;
	}
	/* The whole segment: the statistics count the frames in the ring. */
	size_t map_size = (size_t)s.st_size;
	uint8_t *base = mmap(NULL, map_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = fail(errno, "cannot map channel '%s': %s", name, strerror(errno));
		close(fd);
		return rc;
	}
	const struct shmring_header *h = (const struct shmring_header *)base;
	rc = check_identity(h, (uint64_t)s.st_size, name);
	if (rc == 0) {
		fill_stats(h, map_size - SHMRING_RING_OFFSET, fd, st);
		if (desc) {
			int drc = read_current_desc(base, name, desc);
			if (drc < 0 && drc != -ENODATA)
				rc = drc;
			else if (drc == -ENODATA)
				memset(desc, 0, sizeof(*desc));
		}
	}
	munmap(base, map_size);
	close(fd);
	return rc;
}
