/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_conn.h: the fuzz input that fuzz_conn turns into a connection's messages, their descriptors and a reader block. */
#ifndef SHMRING_FUZZ_CONN_H
#define SHMRING_FUZZ_CONN_H

#include <shmring/shmring.h>

/*
 * Input layout (shorter inputs leave the rest empty):
 *   [0]  target, modulo 3:
 *        CONN_HELLO  the first message, as a reader's HELLO, to a real producer;
 *        CONN_ANSWER the first message as the producer's answer to a real
 *                    reader's HELLO, the second as a message after it;
 *        CONN_BLOCK  a valid HELLO to a real producer, then the chunks
 *                    written into the reader block it gets, between two
 *                    frames (the producer checks what a reader writes).
 *   [1]  descriptors: bits 0-1 with the first message (0-3), bits 2-3 with
 *        the second; CONN_PATCH, CONN_SWAP, CONN_HANGUP, CONN_LIVE.
 *   [2]  u16 length of the first message (at most CONN_MSG_MAX), its bytes,
 *        then u16 length of the second, its bytes, then chunks
 *        [u16 offset (modulo the block size)][u8 length][bytes] laid over
 *        the reader block (CONN_ANSWER: the block the reader maps; CONN_BLOCK:
 *        the block the producer gave).
 * Whatever the bytes: the producer answers a valid HELLO with WELCOME and
 * anything else with REFUSED (EPROTO); it disconnects a reader whose block
 * breaks the rules, and always finds a slot; the reader gives an error,
 * never a crash, a hang or an out-of-bounds read.
 */
#define CONN_HELLO 0
#define CONN_ANSWER 1
#define CONN_BLOCK 2

#define CONN_PATCH (1u << 4)  /* CONN_ANSWER: pool size and generation of the first message set to the real pool's */
#define CONN_SWAP (1u << 5)   /* CONN_ANSWER: the block's descriptor before the pool's */
#define CONN_HANGUP (1u << 6) /* CONN_ANSWER: hang up after the messages */
#define CONN_LIVE (1u << 7)   /* CONN_BLOCK: attach live */

#define CONN_MSG_MAX 512u

#endif
