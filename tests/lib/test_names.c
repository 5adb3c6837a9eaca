/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_names.c: invalid channel names are refused by every entry point with a message naming the rule; a 99-character name works end to end. */
#include "common.h"

static void refused(const char *name, const char *why)
{
	shmring_producer *p = NULL;
	shmring_consumer *c = NULL;
	struct shmring_stats st;

	CHECK_ERR(shmring_name_check(name), -EINVAL);
	CHECK_MSG(why);
	CHECK_ERR(shmring_producer_create(name, NULL, &p), -EINVAL);
	CHECK(p == NULL);
	CHECK_MSG(why);
	CHECK_ERR(shmring_consumer_attach(name, NULL, 0, &c), -EINVAL);
	CHECK(c == NULL);
	CHECK_MSG(why);
	CHECK_ERR(shmring_inspect(name, &st, NULL), -EINVAL);
	CHECK_MSG(why);
}

int main(void)
{
	char longest[SHMRING_NAME_MAX + 1], too_long[SHMRING_NAME_MAX + 2], ok[64];
	t_name(ok, sizeof ok, "names");
	memset(longest, 'a', SHMRING_NAME_MAX);
	longest[SHMRING_NAME_MAX] = 0;
	memset(too_long, 'b', SHMRING_NAME_MAX + 1);
	too_long[SHMRING_NAME_MAX + 1] = 0;

	refused("", "empty");
	refused("/", "0x2f");
	refused("a/b", "0x2f");
	refused("../etc", "'.'");
	refused(".hidden", "'.'");
	refused("sp ace", "0x20");
	refused("tab\tname", "0x09");
	refused("caf\xc3\xa9", "0xc3");
	refused(too_long, "limit is 99");
	CHECK_ERR(shmring_name_check(NULL), -EINVAL);
	shmring_producer *p = NULL;
	CHECK_ERR(shmring_producer_create(NULL, NULL, &p), -EINVAL);

	CHECK_OK(shmring_name_check("cam"));
	CHECK_OK(shmring_name_check("A-z_0.9"));
	CHECK_OK(shmring_name_check(longest));

	/* The longest name works end to end: the abstract socket address holds
	 * 107 bytes after its NUL, "shmring/" and the 99 characters of the name. */
	_Static_assert(SHMRING_NAME_MAX + sizeof(SHMRING_SOCKET_PREFIX) - 1 == 107, "name fits the address");
	memcpy(longest, ok, strlen(ok));
	struct shmring_producer_options o = {.slot_size = 4096};
	CHECK_OK(shmring_producer_create(longest, &o, &p));
	shmring_consumer *c;
	CHECK_OK(shmring_consumer_attach(longest, NULL, 5 * SEC, &c));
	shmring_consumer_close(c);
	shmring_producer_close(p);
	CHECK(!t_leftover(longest));
	return 0;
}
