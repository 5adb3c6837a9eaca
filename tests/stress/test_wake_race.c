/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wake_race: a flat-out lossless producer and one reader with a deep queue, channel after channel; no frame
 * waits for the library's 200 ms safety slice, the sign of a wake-up lost between the producer's commit and the
 * reader's sleep. */
#include "stress.h"

/*
 * The reader takes entries in batches and sleeps as soon as its queue is
 * empty, while the producer fills the queue and sleeps when it is full:
 * the reader can load the commit counter after a commit's add, take that
 * commit's entries and go to sleep before the producer looks at its
 * waiting word.  A wake given then comes before the reader's FUTEX_WAIT;
 * if the producer counted it as delivered it would skip the next wakes
 * too, and both would sleep until the slice ends.  Every frame's time
 * from its commit to its take is measured by the reader; one at the
 * slice's length is that stall (normal ones are micro- to milliseconds).
 */

#define FRAMES_PER_CHANNEL 1000u
#define STALL_NS (150 * 1000000ull)
#define TIMEOUT (30 * SEC)

struct verdict {
	uint64_t frames, stalls, worst_ns;
};

static void reader(const char *name, int fd)
{
	shmring_consumer *c;
	struct shmring_frame f;
	struct verdict v = {0};
	int r;
	CHECK_OK(shmring_consumer_attach(name, NULL, TIMEOUT, &c));
	while ((r = shmring_consumer_next(c, &f, TIMEOUT, 0)) == 1) {
		uint64_t waited = t_now() - f.commit_ns;
		CHECK_EQ(f.seq, v.frames);
		v.frames++;
		v.stalls += waited >= STALL_NS;
		v.worst_ns = waited > v.worst_ns ? waited : v.worst_ns;
		CHECK_OK(shmring_consumer_release(c, &f));
	}
	CHECK_EQ(r, 0);
	shmring_consumer_close(c);
	t_write_all(fd, &v, sizeof v);
	_exit(0);
}

int main(void)
{
	/* Five times the stress frame count: the race is rare (about one channel
	 * in 40 stalled before the fix). */
	uint64_t channels = 5 * stress_frames() / FRAMES_PER_CHANNEL, stalls = 0, worst = 0;
	uint8_t frame[64] = {0};
	for (uint64_t n = 0; n < channels; n++) {
		char name[64];
		int fds[2];
		struct verdict v;
		t_name(name, sizeof name, "wake_race");
		struct shmring_producer_options o = {.slot_size = 4096, .queue_len = 8,
						      .policy = SHMRING_POLICY_LOSSLESS};
		shmring_producer *p;
		struct shmring_stream_info si;
		CHECK_OK(shmring_producer_create(name, &o, &p));
		t_opaque(&si, STRESS_CAPS);
		CHECK_OK(shmring_producer_set_stream(p, &si));
		CHECK_EQ(pipe(fds), 0);
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			reader(name, fds[1]);
		}
		close(fds[1]);
		CHECK_OK(shmring_producer_wait_reader(p, TIMEOUT));
		for (uint32_t i = 0; i < FRAMES_PER_CHANNEL; i++)
			CHECK_OK(shmring_producer_write(p, frame, sizeof frame, NULL, TIMEOUT));
		CHECK_OK(shmring_producer_eos(p, TIMEOUT));
		CHECK_EQ(t_read_all(fds[0], &v, sizeof v), 0);
		close(fds[0]);
		CHECK_EQ(t_wait(pid), 0);
		shmring_producer_close(p);
		CHECK(!t_leftover(name));
		CHECK_EQ(v.frames, FRAMES_PER_CHANNEL);
		stalls += v.stalls;
		worst = v.worst_ns > worst ? v.worst_ns : worst;
	}
	printf("%llu channels of %u frames: %llu frames waited 150 ms or more, the longest %.2f ms\n",
	       (unsigned long long)channels, FRAMES_PER_CHANNEL, (unsigned long long)stalls, (double)worst / 1e6);
	CHECK_EQ(stalls, 0);
	return 0;
}
