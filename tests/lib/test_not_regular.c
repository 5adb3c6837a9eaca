/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_not_regular: a FIFO or a symbolic link named like a channel is refused at once by readers, inspection and producers, never waited on. */
#include "common.h"

static void refused_everywhere(const char *name, const char *word)
{
	shmring_consumer *c = NULL;
	shmring_producer *p = NULL;
	struct shmring_stats st;
	struct shmring_producer_options o = {1u << 16, 0, SHMRING_POLICY_LOSSLESS, 0};

	/* Even with a long timeout: refused, not waited for. */
	CHECK_ERR(shmring_consumer_attach(name, 5000000000ll, &c), -EBADMSG);
	CHECK(c == NULL);
	CHECK_MSG(word);
	CHECK_MSG("remove it");
	CHECK_MSG(name);
	CHECK_ERR(shmring_inspect(name, &st, NULL), -EBADMSG);
	CHECK_MSG(word);
	CHECK_MSG("remove it");
	CHECK_ERR(shmring_producer_create(name, &o, &p), -EBADMSG);
	CHECK(p == NULL);
	CHECK_MSG(word);
	CHECK_MSG("remove it");
}

int main(void)
{
	const char *fifo = t_channel("fifo"), *link = t_channel("link"), *real = t_channel("real");
	char path[256], target[256];
	uint64_t t0 = t_now();
	shmring_producer *p;

	t_path(path, sizeof path, fifo);
	CHECK_EQ(mkfifo(path, 0600), 0);
	refused_everywhere(fifo, "a FIFO");
	CHECK_EQ(unlink(path), 0);

	/* A link to a live channel is not that channel. */
	p = t_producer(real, 1u << 16, SHMRING_POLICY_LOSSLESS);
	t_path(path, sizeof path, link);
	t_path(target, sizeof target, real);
	CHECK_EQ(symlink(target, path), 0);
	refused_everywhere(link, "symbolic link");
	CHECK_EQ(unlink(path), 0);
	shmring_producer_close(p);

	/* No wait hides behind a refusal. */
	CHECK(t_now() - t0 < 2000000000ull);
	CHECK_NO_LEFTOVER(fifo);
	CHECK_NO_LEFTOVER(link);
	CHECK_NO_LEFTOVER(real);
	return 0;
}
