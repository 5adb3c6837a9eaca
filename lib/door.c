/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* door.c: the socket: messages with descriptors, and the producer's door thread that admits readers. */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_GROUPS 64

/* "\0shmring/NAME"; returns the address length. */
int _shmring_address(const char *name, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s%s", SHMRING_SOCKET_PREFIX, name);
	return (int)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* Send one message with at most SEND_FDS_MAX descriptors. */
#define SEND_FDS_MAX 4
int _shmring_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	if (nfds > SEND_FDS_MAX)
		return -EINVAL;
	struct iovec iov = {(void *)msg, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	return n == (ssize_t)len ? 0 : -(n < 0 ? errno : EMSGSIZE);
}

/* Receive one message of at most len bytes and at most maxfds descriptors
 * (more make the whole message invalid: everything is closed, as on a
 * truncated message).
 * Returns the message length, or -errno (-ECONNRESET on hang-up). */
int _shmring_recv(int sock, void *msg, size_t len, int *fds, int maxfds, int *nfds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {msg, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	*nfds = 0;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	int bad = n == 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
			/* More descriptors than the message may carry: the
			 * whole message is invalid, not its first ones kept. */
			if (*nfds >= maxfds)
				bad = 1;
			if (!bad)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (bad) {
		while (*nfds > 0)
			close(fds[--*nfds]);
		return n == 0 ? -ECONNRESET : -EBADMSG;
	}
	return (int)n;
}

/* Who serves the name, for the message when it is taken. */
static int name_taken(shmring_producer *p, const struct sockaddr_un *a, int alen)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct ucred cr = {0, 0, 0};
	socklen_t cl = sizeof(cr);
	int ok = s >= 0 && connect(s, (const struct sockaddr *)a, (socklen_t)alen) == 0 &&
		 getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0;
	if (s >= 0)
		close(s);
	if (ok)
		return fail(EBUSY, "channel '%s' is served by pid %d, uid %u; stop it or use another "
			    "name", p->name, (int)cr.pid, (unsigned)cr.uid);
	return fail(EBUSY, "channel '%s' is being started or closed by another process; use another "
		    "name or try again", p->name);
}

int _shmring_door_bind(shmring_producer *p)
{
	struct sockaddr_un a;
	int alen = _shmring_address(p->name, &a);
	p->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->listen_fd < 0)
		return fail(errno, "channel '%s': socket: %s", p->name, strerror(errno));
	if (bind(p->listen_fd, (struct sockaddr *)&a, (socklen_t)alen) < 0)
		return errno == EADDRINUSE ? name_taken(p, &a, alen)
					   : fail(errno, "channel '%s': bind: %s", p->name, strerror(errno));
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0)
		return fail(errno, "channel '%s': eventfd: %s", p->name, strerror(errno));
	return 0;
}

static void refuse(int fd, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(int fd, int err, const char *fmt, ...)
{
	struct shmring_msg_refused m = {SHMRING_MSG_REFUSED, sizeof(m), err, 0, {0}};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m.message, sizeof(m.message), fmt, ap);
	va_end(ap);
	_shmring_send(fd, &m, sizeof(m), NULL, 0);
}

/* The producer's own uid and root always; share_uid / share_gid when set. */
static int allowed(shmring_producer *p, const struct pending_conn *c)
{
	if (c->uid == 0 || c->uid == p->uid)
		return 1;
	if ((p->share & SHMRING_SHARE_UID) && c->uid == p->share_uid)
		return 1;
	if (!(p->share & SHMRING_SHARE_GID))
		return 0;
	if (c->gid == p->share_gid)
		return 1;
	gid_t groups[MAX_GROUPS];
	socklen_t len = sizeof(groups);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == p->share_gid)
				return 1;
	return 0;
}

static void limit_message(shmring_producer *p, char *buf, size_t n)
{
	int k = snprintf(buf, n, "channel '%s' has %u readers, its limit (max_readers); reader pids:",
			 p->name, p->max_readers);
	for (uint32_t i = 0; i < p->max_readers && k > 0 && (size_t)k < n; i++)
		if (p->r[i].active)
			k += snprintf(buf + k, n - (size_t)k, " %d", (int)p->r[i].pid);
	if (k > 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, "; stop one or raise max_readers");
}

/* Install a new reader at a free index (lock held); -1 if none. */
static int add_reader(shmring_producer *p, const struct pending_conn *c, int bfd, int wake_fd,
		      struct shmring_block *b, const struct shmring_msg_hello *h)
{
	uint32_t i = 0;
	while (i < p->max_readers && p->r[i].active)
		i++;
	if (i == p->max_readers)
		return -1;
	struct reader *r = &p->r[i];
	memset(r, 0, sizeof(*r));
	r->sock = c->fd;
	r->block_fd = bfd;
	r->wake_fd = wake_fd;
	r->b = b;
	r->pid = c->pid;
	r->uid = c->uid;
	r->mode = h->mode;
	r->holds = h->holds && h->holds < p->max_holds ? h->holds : p->max_holds;
	r->live = h->mode == SHMRING_MODE_LIVE || p->policy == SHMRING_POLICY_LIVE;
	r->lossless = h->mode == SHMRING_MODE_CHANNEL && p->policy == SHMRING_POLICY_LOSSLESS;
	struct shmring_reader_line *l = pool_line(&p->m, i);
	memset(l, 0, sizeof(*l));
	l->uid = (uint32_t)r->uid;
	l->mode = r->mode;
	l->holds = r->holds;
	__atomic_store_n(&l->pid, (uint32_t)r->pid, __ATOMIC_RELAXED);
	p->n_readers++;
	__atomic_store_n(&p->m.h->readers, p->n_readers, __ATOMIC_RELAXED);
	r->active = 1;
	return (int)i;
}

/* A reader that passed the checks: its block, WELCOME, then it is live. */
static void admit(shmring_producer *p, struct pending_conn *c, const struct shmring_msg_hello *h)
{
	struct shmring_block *b;
	/* W5: the producer keeps wake[0], shut for reading (the reader cannot
	 * make it hold data); wake[1] goes with WELCOME. */
	int wake[2] = {-1, -1};
	if ((h->flags & SHMRING_HELLO_WAKE_FD) &&
	    (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wake) < 0 ||
	     shutdown(wake[0], SHUT_RD) < 0)) {
		int e = errno;
		refuse(c->fd, ENOMEM, "channel '%s': no wake descriptor for this reader: %s", p->name,
		       strerror(e));
		if (wake[0] >= 0) {
			close(wake[0]);
			close(wake[1]);
		}
		close(c->fd);
		return;
	}
	int bfd = _shmring_block_create(p->name, &b);
	if (bfd < 0) {
		refuse(c->fd, -bfd, "%s", _shmring_error());
		if (wake[0] >= 0) {
			close(wake[0]);
			close(wake[1]);
		}
		close(c->fd);
		return;
	}
	pthread_mutex_lock(&p->lock);
	int i = add_reader(p, c, bfd, wake[0], b, h);
	char msg[SHMRING_MESSAGE_MAX];
	if (i < 0)
		limit_message(p, msg, sizeof(msg));
	pthread_mutex_unlock(&p->lock);
	if (i >= 0) {
		/* seq_cst, after n_readers grew under the lock: pairs with the
		 * load of door_seq before n_readers in shmring_producer_wait_reader(). */
		__atomic_add_fetch(&p->door_seq, 1, __ATOMIC_SEQ_CST);
		_shmring_wake(&p->door_seq, 0);
	}
	if (i < 0) {
		refuse(c->fd, EBUSY, "%s", msg);
		munmap(b, SHMRING_BLOCK_SIZE);
		close(bfd);
		if (wake[0] >= 0) {
			close(wake[0]);
			close(wake[1]);
		}
		close(c->fd);
		return;
	}
	struct shmring_msg_welcome w = {SHMRING_MSG_WELCOME, sizeof(w), SHMRING_VERSION, (uint32_t)i,
					 p->m.id.pool_size, p->m.id.generation, p->r[i].holds,
					 p->r[i].mode};
	int fds[3] = {p->m.fd, bfd, wake[1]};
	int rc = _shmring_send(c->fd, &w, sizeof(w), fds, wake[1] >= 0 ? 3 : 2);
	if (wake[1] >= 0)
		close(wake[1]); /* the reader has it (or the send failed) */
	if (rc < 0) {
		pthread_mutex_lock(&p->lock);
		_shmring_door_drop(p, &p->r[i]);
		pthread_mutex_unlock(&p->lock);
	}
}

static void welcome_observer(shmring_producer *p, int fd)
{
	struct shmring_msg_welcome w = {SHMRING_MSG_WELCOME, sizeof(w), SHMRING_VERSION, UINT32_MAX,
					 p->m.id.pool_size, p->m.id.generation, 0, 0};
	_shmring_send(fd, &w, sizeof(w), &p->m.fd, 1);
	close(fd);
}

/* The first message of pending connection k: HELLO, checked. */
static void greet(shmring_producer *p, unsigned k)
{
	struct pending_conn c = p->pend[k];
	struct shmring_msg_hello h;
	int fds[1], nfds;
	int n = _shmring_recv(c.fd, &h, sizeof(h), fds, 0, &nfds);
	if (n == -EAGAIN)
		return;
	p->pend[k] = p->pend[--p->n_pend];
	if (n != (int)sizeof(h) || h.type != SHMRING_MSG_HELLO || h.size != sizeof(h) ||
	    h.version != SHMRING_VERSION || h.mode > SHMRING_MODE_LIVE ||
	    (h.role != SHMRING_ROLE_READER && h.role != SHMRING_ROLE_OBSERVER)) {
		refuse(c.fd, EPROTO, "channel '%s' speaks protocol %u and got no valid HELLO of it",
		       p->name, SHMRING_VERSION);
		close(c.fd);
	} else if (h.flags & ~SHMRING_HELLO_FLAGS_ALL) {
		refuse(c.fd, EPROTO, "channel '%s': HELLO asks for something this producer does not "
		       "know (flags %#llx, unknown bits %#llx); a newer reader needs a newer producer",
		       p->name, (unsigned long long)h.flags,
		       (unsigned long long)(h.flags & ~SHMRING_HELLO_FLAGS_ALL));
		close(c.fd);
	} else if (h.flags && h.role != SHMRING_ROLE_READER) {
		refuse(c.fd, EPROTO, "channel '%s': an observer's HELLO asks for a wake descriptor "
		       "(flags %#llx): only a reader gets one", p->name, (unsigned long long)h.flags);
		close(c.fd);
	} else if (!allowed(p, &c)) {
		refuse(c.fd, EACCES, "channel '%s' (producer uid %u) does not accept readers of uid %u: "
		       "the producer can share it with a user (share_uid) or a group (share_gid)",
		       p->name, (unsigned)p->uid, (unsigned)c.uid);
		close(c.fd);
	} else if (h.role == SHMRING_ROLE_OBSERVER) {
		welcome_observer(p, c.fd);
	} else {
		admit(p, &c, &h);
	}
}

/* Take waiting connections into the pending list while it has room; the
 * others wait in the listen backlog (the door stops polling it). */
static void accept_all(shmring_producer *p)
{
	while (p->n_pend < MAX_PENDING) {
		int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ucred cr = {0, 0, 0};
		socklen_t cl = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0) {
			close(fd);
			continue;
		}
		p->pend[p->n_pend++] = (struct pending_conn){_shmring_now(), fd, cr.pid, cr.uid, cr.gid};
	}
}

/* Lock held or door stopped: the reader leaves; its queue and holds pin
 * nothing any more, and a producer waiting for it stops waiting. */
void _shmring_door_drop(shmring_producer *p, struct reader *r)
{
	if (!r->active)
		return;
	r->active = 0;
	p->dropped_by_gone += r->dropped;
	__atomic_store_n(&pool_line(&p->m, (uint32_t)(r - p->r))->pid, 0, __ATOMIC_RELAXED);
	p->n_readers--;
	__atomic_store_n(&p->m.h->readers, p->n_readers, __ATOMIC_RELAXED);
	munmap(r->b, SHMRING_BLOCK_SIZE);
	close(r->block_fd);
	close(r->sock);
	/* After the connection: a reader that reads end of file here finds
	 * the hang-up (and a REFUSED sent before it) there (W5). */
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	r->wake_fd = -1;
	r->b = NULL;
	__atomic_add_fetch(&p->door_seq, 1, __ATOMIC_SEQ_CST);
	_shmring_wake(&p->door_seq, 0); /* shared, as the producer waits on it among shared words */
}

/* Readers the frame path found broken, told why and hung up. */
static void drop_broken(shmring_producer *p)
{
	uint64_t v;
	if (read(p->wake_fd, &v, sizeof(v)) < 0) {
		/* nothing pending */
	}
	pthread_mutex_lock(&p->lock);
	for (uint32_t i = 0; i < p->max_readers; i++) {
		struct reader *r = &p->r[i];
		if (r->active && r->broken) {
			refuse(r->sock, EPROTO, "channel '%s': this reader's block broke the protocol "
			       "(%s); the producer disconnected it", p->name, r->why);
			_shmring_door_drop(p, r);
		}
	}
	pthread_mutex_unlock(&p->lock);
}

/* Close connections silent for PENDING_NS since accepted, so that idle
 * connections cannot keep readers out. */
static void expire_pending(shmring_producer *p)
{
	uint64_t now = _shmring_now();
	for (unsigned k = p->n_pend; k-- > 0;) {
		if (now - p->pend[k].since < PENDING_NS)
			continue;
		close(p->pend[k].fd);
		p->pend[k] = p->pend[--p->n_pend];
	}
}

/* One round of the door: build the poll set, wait, handle what is ready.
 * 0 to go on, 1 to stop. */
static int door_round(shmring_producer *p)
{
	struct pollfd pf[2 + MAX_PENDING + SHMRING_MAX_READERS];
	int who[2 + MAX_PENDING + SHMRING_MAX_READERS];
	unsigned n = 0;
	expire_pending(p);
	pf[n] = (struct pollfd){p->listen_fd, p->n_pend < MAX_PENDING ? POLLIN : 0, 0};
	who[n++] = -1;
	pf[n] = (struct pollfd){p->wake_fd, POLLIN, 0};
	who[n++] = -2;
	for (unsigned k = 0; k < p->n_pend; k++) {
		pf[n] = (struct pollfd){p->pend[k].fd, POLLIN, 0};
		who[n++] = (int)k;
	}
	for (uint32_t i = 0; i < p->max_readers; i++) /* only the door changes active */
		if (p->r[i].active) {
			pf[n] = (struct pollfd){p->r[i].sock, POLLIN, 0};
			who[n++] = 1000 + (int)i;
		}
	if (poll(pf, n, p->n_pend ? 100 : -1) < 0)
		return 0;
	if (__atomic_load_n(&p->door_stop, __ATOMIC_ACQUIRE))
		return 1;
	for (unsigned j = n; j-- > 0;) {
		if (!pf[j].revents)
			continue;
		if (who[j] >= 1000) { /* a reader never speaks after HELLO: hang-up or garbage */
			pthread_mutex_lock(&p->lock);
			_shmring_door_drop(p, &p->r[who[j] - 1000]);
			pthread_mutex_unlock(&p->lock);
		} else if (who[j] >= 0) {
			greet(p, (unsigned)who[j]);
		} else if (who[j] == -2) {
			drop_broken(p);
		} else {
			accept_all(p);
		}
	}
	return 0;
}

static void *door_main(void *arg)
{
	shmring_producer *p = arg;
	while (!door_round(p)) {
	}
	return NULL;
}

int _shmring_door_start(shmring_producer *p)
{
	if (listen(p->listen_fd, 64) < 0)
		return fail(errno, "channel '%s': listen: %s", p->name, strerror(errno));
	int rc = pthread_create(&p->door, NULL, door_main, p);
	if (rc)
		return fail(rc, "channel '%s': starting the door thread: %s", p->name, strerror(rc));
	p->door_running = 1;
	return 0;
}

void _shmring_door_stop(shmring_producer *p)
{
	if (!p->door_running)
		return;
	__atomic_store_n(&p->door_stop, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(p->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the door wakes anyway */
	}
	pthread_join(p->door, NULL);
	p->door_running = 0;
	while (p->n_pend > 0)
		close(p->pend[--p->n_pend].fd);
}
