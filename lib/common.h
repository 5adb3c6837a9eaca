/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common.h: the last-error message, channel names, stream-description checks (used by producer and consumer). */
#ifndef SHMRING_COMMON_H
#define SHMRING_COMMON_H

#include "shmring/shmring.h"

#define SHMRING_ERROR_MAX 512u

/* Store a message in the calling thread's last-error buffer; returns -err. */
__attribute__((format(printf, 2, 3))) int _shmring_fail(int err, const char *fmt, ...);
#define fail _shmring_fail
/* The calling thread's last-error message (never NULL). */
const char *_shmring_error(void);
/* 0 if name is a valid channel name, else -EINVAL with the reason. */
int _shmring_check_name(const char *name);
/* Validate a private copy d of a description slot that must hold id; the
 * messages name channel name.  -EBADMSG with the reason. */
int _shmring_check_desc(const struct shmring_desc *d, uint32_t id, const char *name);
/* Fill *d (id = id) from info and validate it; -EINVAL naming the problem. */
int _shmring_make_desc(struct shmring_desc *d, uint32_t id, const struct shmring_stream_info *info,
		       const char *name);

#endif /* SHMRING_COMMON_H */
