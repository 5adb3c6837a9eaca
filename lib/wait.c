/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wait.c: the waits: futexes on shared words, futex_waitv, interruptible, in 200 ms slices. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
/* <linux/futex.h> defines these two since Linux 6.7. */
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif
#define WAITV_MAX (SHMRING_MAX_READERS + 2u)

struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

uint64_t _shmring_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t _shmring_deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return UINT64_MAX;
	return _shmring_now() + (uint64_t)timeout_ns;
}

void _shmring_wake(uint32_t *word, int private_word)
{
	syscall(SYS_futex, word, private_word ? FUTEX_WAKE_PRIVATE : FUTEX_WAKE, INT_MAX, NULL, NULL,
		0);
}

static struct timespec abs_ts(uint64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
	return ts;
}

/* Sleep until one of the shared words[i] != vals[i], *intr != ival (a
 * private word of this process), the deadline, or one slice has passed,
 * whichever is first.  Returns 0; the caller looks again at what it waits
 * for.  Without futex_waitv (kernels before 5.16, valgrind) it sleeps on
 * words[0] alone: the interrupting thread also wakes what it sleeps on,
 * or the slice ends. */
int _shmring_wait(uint32_t *const *words, const uint32_t *vals, unsigned n, uint32_t *intr,
		   uint32_t ival, uint64_t deadline)
{
	static int have_waitv = 1;
	int waitv = __atomic_load_n(&have_waitv, __ATOMIC_RELAXED);
	/* Without futex_waitv only words[0] wakes the sleeper: the others (a
	 * reader leaving, a second lossless reader's take) are seen at the end
	 * of a short slice instead. */
	uint64_t now = _shmring_now(), slice = waitv || n <= 1 ? SLICE_NS : FALLBACK_SLICE_NS;
	uint64_t until = now + slice < deadline ? now + slice : deadline;
	if (until <= now || n >= WAITV_MAX)
		return 0;
	struct timespec ts = abs_ts(until);
	if (waitv) {
		struct waitv w[WAITV_MAX];
		for (unsigned i = 0; i < n; i++)
			w[i] = (struct waitv){vals[i], (uint64_t)(uintptr_t)words[i], (uint32_t)FUTEX2_SIZE_U32, 0};
		w[n] = (struct waitv){ival, (uint64_t)(uintptr_t)intr, (uint32_t)(FUTEX2_SIZE_U32 | FUTEX2_PRIVATE), 0};
		long rc = syscall(SYS_futex_waitv, w, n + 1, 0, &ts, CLOCK_MONOTONIC);
		if (rc >= 0 || errno != ENOSYS)
			return 0;
		__atomic_store_n(&have_waitv, 0, __ATOMIC_RELAXED);
		if (n > 1) { /* this slice was set for futex_waitv: shorten it */
			until = now + FALLBACK_SLICE_NS < deadline ? now + FALLBACK_SLICE_NS : deadline;
			ts = abs_ts(until);
		}
	}
	if (__atomic_load_n(intr, __ATOMIC_ACQUIRE) != ival)
		return 0;
	if (n == 0) {
		syscall(SYS_futex, intr, FUTEX_WAIT_BITSET_PRIVATE, ival, &ts, NULL,
			FUTEX_BITSET_MATCH_ANY);
		return 0;
	}
	syscall(SYS_futex, words[0], FUTEX_WAIT_BITSET, vals[0], &ts, NULL, FUTEX_BITSET_MATCH_ANY);
	return 0;
}

/* Sleep on the private word intr until it changes or until (absolute). */
void _shmring_nap(uint32_t *intr, uint32_t ival, uint64_t until)
{
	struct timespec ts = abs_ts(until);
	syscall(SYS_futex, intr, FUTEX_WAIT_BITSET_PRIVATE, ival, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
}
