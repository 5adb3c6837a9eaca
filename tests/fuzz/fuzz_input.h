/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_input.h: the compact fuzz input that the harness expands into a whole segment file. */
#ifndef SHMRING_FUZZ_INPUT_H
#define SHMRING_FUZZ_INPUT_H

#include <shmring/shmring.h>

/*
 * Input layout (shorter inputs leave the rest zero):
 *   [0]            control: bit 0 hold the producer lock (a live
 *                  producer), bit 1 read with SHMRING_NEXT_LATEST, bit 2
 *                  hold up to 4 frames and release them newest first
 *   [1, 193)       header bytes 0..191 (identity, producer and consumer lines)
 *   [193, 449)     first 256 bytes of description slot 1
 *   [449, 705)     first 256 bytes of description slot 2
 *   [705, ...)     the ring, from its first byte
 * The file is SHMRING_RING_OFFSET + R bytes, where R is the header's
 * ring_size rounded up to 4096 if that is at most 1 MiB, else 4096, so
 * most inputs pass the size checks and reach the record parser.
 */
#define FUZZ_CTL 0
#define FUZZ_HDR 1
#define FUZZ_HDR_LEN 192
#define FUZZ_SLOT1 (FUZZ_HDR + FUZZ_HDR_LEN)
#define FUZZ_SLOT_LEN 256
#define FUZZ_SLOT2 (FUZZ_SLOT1 + FUZZ_SLOT_LEN)
#define FUZZ_RING (FUZZ_SLOT2 + FUZZ_SLOT_LEN)
#define FUZZ_MAX_RING (1u << 20)

#define FUZZ_CTL_LOCK 1u
#define FUZZ_CTL_LATEST 2u
#define FUZZ_CTL_HOLD 4u

#endif
