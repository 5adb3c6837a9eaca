/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* demo_consumer: reads frames from a shmring channel, checks every byte and prints fps and latency. */
#include <shmring/shmring.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The frame pattern of demo_producer: bytes 0..7 are seq (little-endian
 * u64), byte i >= 8 is (seq*131 + i*7) & 0xff, checked with memcmp()s
 * against a table of 7k & 0xff (see demo_producer.c). */
#define CHUNK 4096u
static uint8_t table[256 + CHUNK];

static int intact(const uint8_t *p, size_t n, uint64_t seq)
{
	unsigned shift = (((unsigned)(seq * 131u) & 0xffu) * 183u) & 0xffu;
	for (int k = 0; k < 8 && (size_t)k < n; k++)
		if (p[k] != (uint8_t)(seq >> (8 * k)))
			return 0;
	for (size_t i = 8; i < n;) {
		size_t len = n - i < CHUNK ? n - i : CHUNK;
		if (memcmp(p + i, table + ((i + shift) & 0xffu), len))
			return 0;
		i += len;
	}
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: demo_consumer NAME TIMEOUT_SECONDS\n"
				"  waits up to TIMEOUT for the channel and for each frame\n");
		return 2;
	}
	const char *name = argv[1];
	char *end;
	double t = strtod(argv[2], &end);
	if (*end || t < 0) {
		fprintf(stderr, "demo_consumer: bad timeout '%s'\n", argv[2]);
		return 2;
	}
	int64_t timeout = (int64_t)(t * 1e9);
	for (unsigned k = 0; k < sizeof table; k++)
		table[k] = (uint8_t)(k * 7u);

	shmring_consumer *c;
	int rc = shmring_consumer_attach(name, NULL, timeout, &c);
	if (rc < 0) {
		fprintf(stderr, "demo_consumer: %s\n", shmring_last_error());
		return 1;
	}
	/* Latency is reported for frames received after the first second: the
	 * first frames also pay for start-up (page faults, caches, the producer
	 * catching up), which is not what a running channel costs. */
	size_t cap = 1024, n = 0, warm = 0;
	uint64_t *lat = malloc(cap * sizeof *lat);
	unsigned long long ok = 0, corrupt = 0, missing = 0;
	uint64_t expect = 0, first_ns = 0, last_ns = 0;
	struct shmring_frame f;
	int eos = 0;
	while (lat) {
		rc = shmring_consumer_next(c, &f, timeout, 0);
		if (rc <= 0) {
			eos = rc == 0;
			break;
		}
		uint64_t now = shmring_now_ns();
		if (!first_ns)
			first_ns = now;
		last_ns = now;
		if (now - first_ns < 1000000000u)
			warm = n + 1;
		if (n == cap) {
			uint64_t *nl = realloc(lat, 2 * cap * sizeof *lat);
			if (!nl)
				break;
			lat = nl;
			cap *= 2;
		}
		lat[n++] = now - f.commit_ns;
		if (f.seq > expect)
			missing += f.seq - expect;
		expect = f.seq + 1;
		if (f.desc && f.size == f.desc->frame_size && intact(f.data, f.size, f.seq))
			ok++;
		else
			corrupt++;
		shmring_consumer_release(c, &f);
	}
	if (!eos)
		fprintf(stderr, "demo_consumer: %s\n", rc < 0 ? shmring_last_error() : "out of memory");

	struct shmring_stats st;
	uint32_t policy = SHMRING_POLICY_LOSSLESS;
	if (shmring_consumer_stats(c, &st) == 0) {
		policy = st.policy;
		/* Frames committed after the last one received (seq counts commits). */
		if (st.frames_written > expect && policy != SHMRING_POLICY_LIVE)
			missing += st.frames_written - expect;
	}
	shmring_consumer_close(c);

	double secs = n > 1 ? (double)(last_ns - first_ns) / 1e9 : 0;
	printf("demo_consumer: %zu frames in %.2f s: %.1f fps\n", n, secs,
	       secs > 0 ? (double)(n - 1) / secs : 0.0);
	if (n) {
		/* A run shorter than a second has only start-up to show: report it as such. */
		uint64_t *l = warm < n ? lat + warm : lat;
		size_t m = warm < n ? n - warm : n;
		qsort(l, m, sizeof *l, cmp_u64);
		printf("demo_consumer: latency commit -> receipt, %s %zu frames: p50 %.1f us, p99 %.1f us, "
		       "max %.1f us\n", warm < n ? "after the first second," : "all (start-up included),", m,
		       (double)l[m / 2] / 1e3, (double)l[(m * 99) / 100] / 1e3, (double)l[m - 1] / 1e3);
	}
	printf("demo_consumer: frames intact %llu, corrupt %llu, missing %llu (%s)%s\n", ok, corrupt, missing,
	       shmring_policy_name(policy), eos ? ", end of stream" : "");
	free(lat);
	if (!eos || corrupt)
		return 1;
	if (policy == SHMRING_POLICY_LOSSLESS && missing)
		return 1;
	return 0;
}
