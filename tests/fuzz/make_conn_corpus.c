/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make_conn_corpus: writes seed inputs for fuzz_conn: the messages of protocol 2 as the library sends them, and reader blocks. */
#include "fuzz_conn.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *outdir;

struct seed {
	uint8_t b[4096];
	size_t n;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n > sizeof s->b)
		abort();
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void msg(struct seed *s, const void *p, uint16_t n)
{
	put(s, &n, 2);
	put(s, p, n);
}

static void chunk(struct seed *s, uint16_t off, const void *p, uint8_t n)
{
	put(s, &off, 2);
	put(s, &n, 1);
	put(s, p, n);
}

static struct seed start(uint8_t target, uint8_t fdbits)
{
	struct seed s = {{0}, 0};
	put(&s, &target, 1);
	put(&s, &fdbits, 1);
	return s;
}

static void save(const struct seed *s, const char *tag)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", outdir, tag);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
		fprintf(stderr, "make_conn_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static struct shmring_msg_hello hello(uint32_t role, uint32_t holds, uint32_t mode)
{
	return (struct shmring_msg_hello){SHMRING_MSG_HELLO, sizeof(struct shmring_msg_hello), SHMRING_VERSION,
					  role, holds, mode, 0};
}

/* pool_size and generation are set by the harness (CONN_PATCH). */
static struct shmring_msg_welcome welcome(uint32_t index, uint32_t holds, uint32_t mode)
{
	return (struct shmring_msg_welcome){SHMRING_MSG_WELCOME, sizeof(struct shmring_msg_welcome),
					    SHMRING_VERSION, index, 0, 0, holds, mode};
}

static struct shmring_msg_refused refused(int32_t err, const char *text)
{
	struct shmring_msg_refused r = {SHMRING_MSG_REFUSED, sizeof r, err, 0, {0}};
	snprintf(r.message, sizeof r.message, "%s", text);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_conn_corpus DIR: writes the fuzz_conn seeds into DIR\n");
		return 2;
	}
	outdir = argv[1];
	struct seed s;
	struct shmring_msg_hello h;
	struct shmring_msg_welcome w;
	struct shmring_msg_refused r;
	const uint32_t none = SHMRING_SLOT_NONE, zero = 0;
	const uint64_t one = 1, two = 2, far = 9;

	/* HELLO to the producer. */
	h = hello(SHMRING_ROLE_READER, 0, SHMRING_MODE_CHANNEL);
	s = start(CONN_HELLO, 0), msg(&s, &h, sizeof h), save(&s, "hello-reader");
	h = hello(SHMRING_ROLE_READER, 7, SHMRING_MODE_LIVE);
	s = start(CONN_HELLO, 0), msg(&s, &h, sizeof h), save(&s, "hello-live-holds");
	h = hello(SHMRING_ROLE_OBSERVER, 0, 0);
	s = start(CONN_HELLO, 0), msg(&s, &h, sizeof h), save(&s, "hello-observer");
	h = hello(SHMRING_ROLE_READER, 0, 0);
	s = start(CONN_HELLO, 1), msg(&s, &h, sizeof h), save(&s, "hello-with-fd");
	h.version = 3;
	s = start(CONN_HELLO, 0), msg(&s, &h, sizeof h), save(&s, "hello-version-3");
	h = hello(SHMRING_ROLE_READER, 0, 2);
	s = start(CONN_HELLO, 0), msg(&s, &h, sizeof h), save(&s, "hello-mode-2");
	h = hello(SHMRING_ROLE_READER, 0, 0);
	s = start(CONN_HELLO, 0), msg(&s, &h, 16), save(&s, "hello-short");

	/* Answers to the reader. */
	w = welcome(0, 2, 0);
	s = start(CONN_ANSWER, 2 | CONN_PATCH), msg(&s, &w, sizeof w), msg(&s, "", 0), save(&s, "welcome");
	r = refused(EINTR, "forged refusal after WELCOME");
	s = start(CONN_ANSWER, 2 | CONN_PATCH), msg(&s, &w, sizeof w), msg(&s, &r, sizeof r),
	save(&s, "welcome-then-refused-eintr");
	s = start(CONN_ANSWER, 2 | CONN_PATCH | (1 << 2)), msg(&s, &w, sizeof w), msg(&s, &w, sizeof w),
	save(&s, "welcome-then-welcome-with-fd");
	s = start(CONN_ANSWER, 2 | CONN_PATCH | CONN_HANGUP), msg(&s, &w, sizeof w), msg(&s, "", 0),
	save(&s, "welcome-hangup");
	s = start(CONN_ANSWER, 2 | CONN_PATCH | CONN_SWAP), msg(&s, &w, sizeof w), msg(&s, "", 0),
	save(&s, "welcome-swapped-fds");
	s = start(CONN_ANSWER, 3 | CONN_PATCH), msg(&s, &w, sizeof w), msg(&s, "", 0), save(&s, "welcome-three-fds");
	s = start(CONN_ANSWER, 2), msg(&s, &w, sizeof w), msg(&s, "", 0), save(&s, "welcome-pool-size-0");
	/* Entries queued in the block the reader maps: tail 2, slots 0 and 1, holds free. */
	s = start(CONN_ANSWER, 2 | CONN_PATCH), msg(&s, &w, sizeof w), msg(&s, "", 0);
	chunk(&s, offsetof(struct shmring_block, tail), &two, 8);
	chunk(&s, offsetof(struct shmring_block, queue) + 4, &one, 4);
	chunk(&s, offsetof(struct shmring_block, holds), &none, 4);
	chunk(&s, offsetof(struct shmring_block, holds) + 4, &none, 4);
	save(&s, "welcome-two-entries");
	s = start(CONN_ANSWER, 2 | CONN_PATCH), msg(&s, &w, sizeof w), msg(&s, "", 0);
	chunk(&s, offsetof(struct shmring_block, tail), &far, 8);
	save(&s, "welcome-tail-beyond");
	r = refused(EBUSY, "channel 'x' has 2 readers, its limit (max_readers); reader pids: 1 2");
	s = start(CONN_ANSWER, 0), msg(&s, &r, sizeof r), msg(&s, "", 0), save(&s, "refused-ebusy");
	r = refused(EINTR, "forged");
	s = start(CONN_ANSWER, 0), msg(&s, &r, sizeof r), msg(&s, "", 0), save(&s, "refused-eintr");

	/* Reader blocks to the producer. */
	s = start(CONN_BLOCK, 0), msg(&s, "", 0), msg(&s, "", 0), save(&s, "block-untouched");
	s = start(CONN_BLOCK, 0), msg(&s, "", 0), msg(&s, "", 0);
	chunk(&s, offsetof(struct shmring_block, holds), &zero, 4);
	chunk(&s, offsetof(struct shmring_block, head), &one, 8);
	save(&s, "block-taken-held");
	s = start(CONN_BLOCK, CONN_LIVE), msg(&s, "", 0), msg(&s, "", 0);
	chunk(&s, offsetof(struct shmring_block, head), &far, 8);
	save(&s, "block-head-beyond");
	s = start(CONN_BLOCK, 0), msg(&s, "", 0), msg(&s, "", 0);
	chunk(&s, offsetof(struct shmring_block, holds) + 4, &far, 4);
	save(&s, "block-hold-out-of-range");
	s = start(CONN_BLOCK, 0), msg(&s, "", 0), msg(&s, "", 0);
	chunk(&s, offsetof(struct shmring_block, waiting), &far, 4);
	chunk(&s, offsetof(struct shmring_block, taken), &none, 4);
	chunk(&s, offsetof(struct shmring_block, sleep_seq), &one, 4);
	save(&s, "block-waiting-taken-garbage");
	return 0;
}
