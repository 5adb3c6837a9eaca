/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_input.h: the fuzz input that the harness turns into a producer's WELCOME, pool and reader block. */
#ifndef SHMRING_FUZZ_INPUT_H
#define SHMRING_FUZZ_INPUT_H

#include <shmring/shmring.h>

/*
 * Input layout (shorter inputs leave the rest zero):
 *   [0]        control: FUZZ_CTL_*
 *   [1, 41)    the WELCOME message, as sent
 *   [41, 49)   pool size (u64): rounded up to 4096 if 4096..FUZZ_MAX_POOL,
 *              else FUZZ_DEFAULT_POOL
 *   [49, ...)  chunks, each [target u8][offset u32][length u16][bytes]:
 *              target 0 the pool, 1 the reader block; the offset is taken
 *              modulo the target's size and the bytes are clipped to it.
 * The pool and block start zero.  A hostile producer: whatever the bytes,
 * the reader gives an error, never a crash, a hang or an out-of-bounds read.
 */
#define FUZZ_CTL 0
#define FUZZ_WELCOME 1
#define FUZZ_POOL_SIZE 41
#define FUZZ_CHUNKS 49
#define FUZZ_CHUNK_HEADER 7
#define FUZZ_MAX_POOL (4u << 20)
#define FUZZ_DEFAULT_POOL (64u * 1024u)

#define FUZZ_CTL_LATEST 1u   /* read with SHMRING_NEXT_LATEST */
#define FUZZ_CTL_HOLD 2u     /* hold up to the limit, give back newest first */
#define FUZZ_CTL_HANGUP 4u   /* the producer hangs up right after WELCOME */
#define FUZZ_CTL_UNSEALED 8u /* the pool is not sealed */
#define FUZZ_CTL_LIVE 16u    /* attach in live mode */

#endif
