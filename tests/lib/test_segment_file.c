/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_segment_file: a segment is named only once complete (nothing left by a producer killed while allocating), with its mode; a sparse segment is refused. */
#include "common.h"

#include <sys/inotify.h>
#include <sys/resource.h>

/* A producer killed by the file-size limit (SIGXFSZ) while it allocates a
 * 64 MiB ring leaves nothing in /dev/shm, not even a temporary file. */
static void killed_while_allocating(void)
{
	const char *name = t_channel("killed");
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {1 << 20, 1 << 20};
		struct shmring_producer_options o = {64u << 20, 0, SHMRING_POLICY_LOSSLESS, 0};
		shmring_producer *p = NULL;
		CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
		int r = shmring_producer_create(name, &o, &p);
		_exit(r == 0 ? 3 : 4); /* not reached: SIGXFSZ */
	}
	CHECK_EQ(t_wait(pid), 128 + SIGXFSZ);
	CHECK_NO_LEFTOVER(name);
}

/* Watching /dev/shm while a producer starts: the only name of the channel
 * that ever appears is its final one, created complete (allocated, with
 * the requested mode) and never changed afterwards (no chmod, no write
 * through the name). */
static void named_only_when_complete(void)
{
	const char *name = t_channel("visible");
	struct shmring_producer_options o = {1u << 20, 0660, SHMRING_POLICY_LOSSLESS, 0};
	shmring_producer *p = NULL;
	char buf[64 * 1024], final[256];
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), creates = 0;
	mode_t old = umask(022);
	struct stat st;
	ssize_t n;

	CHECK(in >= 0);
	CHECK(inotify_add_watch(in, "/dev/shm", IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE) >= 0);
	CHECK_OK(shmring_producer_create(name, &o, &p));
	umask(old);
	t_path(final, sizeof final, name);
	CHECK_EQ(stat(final, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0660);
	CHECK((uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size);
	/* Every event the creation caused is queued by now. */
	while ((n = read(in, buf, sizeof buf)) > 0) {
		for (char *e = buf; e < buf + n;) {
			const struct inotify_event *ev = (const void *)e;
			e += sizeof *ev + ev->len;
			if (!ev->len || !strstr(ev->name, name))
				continue; /* another process's file */
			if (strcmp(ev->name, final + strlen("/dev/shm/")))
				FAIL("%s appeared in /dev/shm (event 0x%x) before the channel was complete",
				     ev->name, ev->mask);
			if (!(ev->mask & IN_CREATE))
				FAIL("channel file changed after it got its name (event 0x%x)", ev->mask);
			creates++;
		}
	}
	CHECK_EQ(creates, 1);
	close(in);
	shmring_producer_close(p);
	CHECK_NO_LEFTOVER(name);
}

/* A segment whose pages were never allocated (a producer on a full
 * /dev/shm that only truncated the file) is refused at attach and by
 * inspection, naming both sizes and /dev/shm, before it can raise SIGBUS. */
static void sparse_refused(void)
{
	const char *name = t_channel("sparse");
	shmring_producer *p = t_producer(name, 1u << 20, SHMRING_POLICY_LOSSLESS);
	static uint8_t head[SHMRING_RING_OFFSET];
	char path[256], size[32];
	shmring_consumer *c = NULL;
	struct shmring_stats st;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = SHMRING_LOCK_PRODUCER, .l_len = 1};
	int fd;

	t_path(path, sizeof path, name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, head, sizeof head, 0), (ssize_t)sizeof head);
	close(fd);
	shmring_producer_close(p);
	/* The same header on a sparse file of the right size. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)(SHMRING_RING_OFFSET + (1u << 20))), 0);
	CHECK_EQ(pwrite(fd, head, sizeof head, 0), (ssize_t)sizeof head);
	CHECK_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
	snprintf(size, sizeof size, "%llu", (unsigned long long)(SHMRING_RING_OFFSET + (1u << 20)));
	CHECK_ERR(shmring_consumer_attach(name, 0, &c), -ENOSPC);
	CHECK(c == NULL);
	CHECK_MSG(size);
	CHECK_MSG("/dev/shm");
	CHECK_MSG(name);
	CHECK_ERR(shmring_inspect(name, &st, NULL), -ENOSPC);
	CHECK_MSG(size);
	/* Once every page is there, the same file is a channel. */
	CHECK_EQ(posix_fallocate(fd, 0, (off_t)(SHMRING_RING_OFFSET + (1u << 20))), 0);
	CHECK_OK(shmring_consumer_attach(name, 0, &c));
	shmring_consumer_close(c);
	CHECK_EQ(unlink(path), 0);
	close(fd);
	CHECK_NO_LEFTOVER(name);
}

int main(void)
{
	killed_while_allocating();
	named_only_when_complete();
	sparse_refused();
	return 0;
}
