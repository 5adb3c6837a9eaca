/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_pool_input.h: the compact fuzz input a fake protocol 2 producer expands into a pool, a reader block and its WELCOME. */
#ifndef SHMRING_FUZZ_POOL_INPUT_H
#define SHMRING_FUZZ_POOL_INPUT_H

#include <shmring/shmring.h>

/*
 * Input layout (shorter inputs leave the rest zero):
 *   [0]              control: bit 0 the producer hangs up right after WELCOME
 *                    (it died), bit 1 read with SHMRING_NEXT_LATEST, bit 2 hold
 *                    up to 4 frames and release them newest first, bit 3 the
 *                    WELCOME's pool size and generation are taken from the
 *                    pool (else from the input), bit 4 attach as a live reader
 *   [1, 29)          WELCOME: index, holds, mode (u32 each), pool_size, generation (u64)
 *   [29, 221)        pool bytes 0..191 (identity and producer line)
 *   [221, 477)       first 256 bytes of description slot 1
 *   [477, 733)       first 256 bytes of description slot 2
 *   [733, 1245)      slot headers 0..7
 *   [1245, 1885)     reader block bytes 0..639 (head, waiting, taken, tail, queue, holds)
 *   [1885, ...)      the payloads, from that of slot 0 (64 KiB at most)
 * The pool memfd has the identity's pool_size bytes when that holds the
 * slot table's first 8 headers and is at most
 * 4 MiB, else 64 KiB, so most inputs pass the size checks and reach the
 * queue and slot parsers.  Both memfds are sealed as a producer seals them.
 */
#define FP_CTL 0
#define FP_WELCOME 1
#define FP_WELCOME_LEN 28
#define FP_HDR (FP_WELCOME + FP_WELCOME_LEN)
#define FP_HDR_LEN 192
#define FP_DESC1 (FP_HDR + FP_HDR_LEN)
#define FP_DESC_LEN 256
#define FP_DESC2 (FP_DESC1 + FP_DESC_LEN)
#define FP_SLOTS (FP_DESC2 + FP_DESC_LEN)
#define FP_SLOTS_LEN (8 * SHMRING_SLOT_HEADER_SIZE)
#define FP_BLOCK (FP_SLOTS + FP_SLOTS_LEN)
#define FP_BLOCK_LEN 640
#define FP_PAYLOAD (FP_BLOCK + FP_BLOCK_LEN)
#define FP_MAX_POOL (4u << 20)
#define FP_DEFAULT_POOL (64u << 10)

#define FP_CTL_DEAD 1u
#define FP_CTL_LATEST 2u
#define FP_CTL_HOLD 4u
#define FP_CTL_MATCH 8u
#define FP_CTL_LIVE 16u

#endif
