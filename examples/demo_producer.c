/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* demo_producer: writes numbered 1080p BGR frames into a shmring channel. */
#include <shmring/shmring.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WIDTH 1920
#define HEIGHT 1080
#define FRAME_SIZE ((size_t)WIDTH * HEIGHT * 3)

/* Frame pattern (shared with the Python package and demo_consumer): bytes
 * 0..7 are seq as a little-endian u64, byte i >= 8 is (seq*131 + i*7) &
 * 0xff.  As 7 is odd, that is table[(i + 183 * (seq*131 & 0xff)) & 0xff +
 * ...] for table[k] = 7k & 0xff, so a frame is filled with memcpy()s. */
#define CHUNK 4096u
static uint8_t table[256 + CHUNK];

static void fill(uint8_t *p, size_t n, uint64_t seq)
{
	unsigned shift = (((unsigned)(seq * 131u) & 0xffu) * 183u) & 0xffu;
	for (int k = 0; k < 8 && (size_t)k < n; k++)
		p[k] = (uint8_t)(seq >> (8 * k));
	for (size_t i = 8; i < n;) {
		size_t len = n - i < CHUNK ? n - i : CHUNK;
		memcpy(p + i, table + ((i + shift) & 0xffu), len);
		i += len;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: demo_producer NAME FRAMES FPS POLICY [--in-place]\n"
			"  FPS 0 = as fast as possible; POLICY lossless, drop-new or live\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 6)
		usage();
	const char *name = argv[1];
	char *end;
	unsigned long long frames = strtoull(argv[2], &end, 10);
	if (*end || !*argv[2])
		usage();
	double fps = strtod(argv[3], &end);
	if (*end || fps < 0)
		usage();
	int policy = shmring_policy_from_name(argv[4]);
	if (policy < 0) {
		fprintf(stderr, "demo_producer: %s\n", shmring_last_error());
		return 2;
	}
	int in_place = argc == 6;
	if (in_place && strcmp(argv[5], "--in-place"))
		usage();
	for (unsigned k = 0; k < sizeof table; k++)
		table[k] = (uint8_t)(k * 7u);

	/* One slot per frame; the library sizes the pool for the readers. */
	struct shmring_producer_options opts = {.slot_size = FRAME_SIZE, .policy = (uint32_t)policy};
	shmring_producer *p;
	int rc = shmring_producer_create(name, &opts, &p);
	if (rc < 0) {
		fprintf(stderr, "demo_producer: %s\n", shmring_last_error());
		return 1;
	}
	struct shmring_stream_info si = {
		.caps = "video/x-raw, format=(string)BGR, width=(int)1920, height=(int)1080, "
			"framerate=(fraction)30/1",
		.format = "BGR",
		.width = WIDTH,
		.height = HEIGHT,
		.fps_n = fps > 0 ? (uint32_t)(fps * 1000) : 0,
		.fps_d = 1000,
		.n_planes = 1,
		.frame_size = FRAME_SIZE,
		.plane_offset = {0},
		.plane_stride = {WIDTH * 3},
	};
	rc = shmring_producer_set_stream(p, &si);
	if (rc < 0) {
		fprintf(stderr, "demo_producer: %s\n", shmring_last_error());
		shmring_producer_close(p);
		return 1;
	}

	uint8_t *copy = in_place ? NULL : malloc(FRAME_SIZE);
	if (!in_place && !copy) {
		perror("demo_producer");
		shmring_producer_close(p);
		return 1;
	}
	printf("demo_producer: channel %s, %llu frames of %zu bytes, %s, %s\n", name, frames, FRAME_SIZE,
	       shmring_policy_name((uint32_t)policy), in_place ? "written in place" : "copied in");
	fflush(stdout);

	/* A reader gets the frames committed after it attached: wait for the
	 * first one so that it sees the stream from frame 0. */
	if (shmring_producer_readers(p) == 0) {
		printf("demo_producer: waiting for a reader (demo_consumer %s 10)\n", name);
		fflush(stdout);
	}
	rc = shmring_producer_wait_reader(p, SHMRING_FOREVER);
	if (rc < 0) {
		fprintf(stderr, "demo_producer: %s\n", shmring_last_error());
		free(copy);
		shmring_producer_close(p);
		return 1;
	}

	uint64_t period = fps > 0 ? (uint64_t)(1e9 / fps) : 0;
	uint64_t start = shmring_now_ns();
	unsigned long long written = 0, dropped = 0;
	const int64_t timeout = 5000000000ll;
	for (uint64_t seq = 0; seq < frames; seq++) {
		if (period) {
			uint64_t due = start + seq * period;
			struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		struct shmring_meta m = SHMRING_META_INIT;
		m.pts = period ? seq * period : SHMRING_NO_TIME;
		m.duration = period ? period : SHMRING_NO_TIME;
		if (in_place) {
			void *dst;
			uint64_t id;
			rc = shmring_producer_reserve(p, FRAME_SIZE, timeout, &dst, &id);
			if (rc == 0) {
				fill(dst, FRAME_SIZE, seq);
				rc = shmring_producer_commit(p, id, FRAME_SIZE, &m);
			}
		} else {
			fill(copy, FRAME_SIZE, seq);
			rc = shmring_producer_write(p, copy, FRAME_SIZE, &m, timeout);
		}
		if (rc == -ENOBUFS) {
			dropped++;
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "demo_producer: frame %llu: %s\n", (unsigned long long)seq,
				shmring_last_error());
			break;
		}
		written++;
	}
	double secs = (double)(shmring_now_ns() - start) / 1e9;
	int erc = rc < 0 && rc != -ENOBUFS ? rc : shmring_producer_eos(p, timeout);
	printf("demo_producer: %llu frames written, %llu dropped in %.2f s (%.1f fps)\n", written, dropped,
	       secs, secs > 0 ? (double)written / secs : 0.0);
	free(copy);
	shmring_producer_close(p);
	return erc < 0 ? 1 : 0;
}
