/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_names: invalid channel names are refused with a clear message before any file is touched. */
#include "common.h"

static void refused(const char *name, const char *why)
{
	shmring_producer *p = NULL;
	shmring_consumer *c = NULL;
	struct shmring_stats st;

	CHECK_ERR(shmring_name_check(name), -EINVAL);
	CHECK(shmring_last_error() && strlen(shmring_last_error()) > 0);
	CHECK_MSG(why);
	CHECK_ERR(shmring_producer_create(name, NULL, &p), -EINVAL);
	CHECK(p == NULL);
	CHECK_MSG(why);
	CHECK_ERR(shmring_consumer_attach(name, 0, &c), -EINVAL);
	CHECK(c == NULL);
	CHECK_ERR(shmring_inspect(name, &st, NULL), -EINVAL);
}

int main(void)
{
	char longest[SHMRING_NAME_MAX + 1], too_long[SHMRING_NAME_MAX + 2];
	const char *ok = t_channel("names");
	shmring_producer *p = NULL;

	memset(longest, 'a', SHMRING_NAME_MAX);
	longest[SHMRING_NAME_MAX] = 0;
	memset(too_long, 'b', SHMRING_NAME_MAX + 1);
	too_long[SHMRING_NAME_MAX + 1] = 0;

	/* The messages name the rule that was broken. */
	refused("", "empty");
	refused("/", "/");
	refused("a/b", "/");
	refused("../etc", "/");
	refused(".hidden", ".");
	refused("sp ace", " ");
	refused("tab\tname", "name");
	refused(too_long, "long");
	CHECK_MSG("200");
	CHECK_ERR(shmring_name_check(NULL), -EINVAL);
	CHECK_ERR(shmring_producer_create(NULL, NULL, &p), -EINVAL);

	CHECK_OK(shmring_name_check("cam"));
	CHECK_OK(shmring_name_check("A-z_0.9"));
	CHECK_OK(shmring_name_check(longest));
	CHECK_OK(shmring_name_check(ok));

	/* The longest valid name really works end to end. */
	memcpy(longest, ok, strlen(ok));
	p = t_producer(longest, 0, SHMRING_POLICY_LOSSLESS);
	CHECK(t_exists(longest));
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(longest);
	return 0;
}
