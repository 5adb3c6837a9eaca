/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_enospc: a /dev/shm too small for the segment fails at create, saying how much was needed and how much is free. */
#include "common.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

int main(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* A private mount namespace with a 1 MiB tmpfs on /dev/shm. */
		const char *name = "t-enospc";
		struct shmring_producer_options o = {8u << 20, 0, SHMRING_POLICY_LOSSLESS, 0};
		shmring_producer *p = NULL;
		struct statvfs vfs;
		char need[32], left[32];
		DIR *d;
		struct dirent *e;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") < 0) {
			fprintf(stderr, "cannot mount a private tmpfs: %s\n", strerror(errno));
			_exit(T_SKIP);
		}
		CHECK_EQ(statvfs("/dev/shm", &vfs), 0);
		CHECK_ERR(shmring_producer_create(name, &o, &p), -ENOSPC);
		CHECK(p == NULL);
		snprintf(need, sizeof need, "%llu", (unsigned long long)(SHMRING_RING_OFFSET + (8u << 20)));
		snprintf(left, sizeof left, "%llu", (unsigned long long)vfs.f_bavail * vfs.f_frsize);
		CHECK_MSG(need);
		CHECK_MSG(left);
		CHECK_MSG("/dev/shm");
		/* Nothing left behind in the small /dev/shm. */
		d = opendir("/dev/shm");
		CHECK(d != NULL);
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
				FAIL("left in /dev/shm: %s", e->d_name);
		closedir(d);
		/* A ring that fits still works there. */
		o.ring_size = 64 * 1024;
		CHECK_OK(shmring_producer_create(name, &o, &p));
		shmring_producer_close(p);
		_exit(0);
	}
	return t_wait(pid);
}
