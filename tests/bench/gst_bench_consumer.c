/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gst_bench_consumer.c: consumer process of the GStreamer transport benchmark: counts and times frames at a fakesink. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <gst/gst.h>

#include "gst_bench_common.h"

/* usage: gst_bench_consumer FRAMES TIMEOUT_S PIPELINE
 *
 * Runs PIPELINE (a source, then "fakesink name=sink signal-handoffs=true
 * sync=false"), and for every buffer that reaches the fakesink reads the
 * producer's stamp (CLOCK_MONOTONIC ns, frame number: two native-endian
 * uint64 at the start of the frame).  After FRAMES frames, or an error, end
 * of stream or TIMEOUT_S seconds, it stops the pipeline itself and prints
 * "result {json}": frames seen, seconds and CPU seconds from the first frame
 * to the last, frames out of sequence and missing from the numbering, the
 * first frame's number, buffers not of the frame's size, latency percentiles
 * over all frames but the first WARMUP.  When buffers carry shmringsrc's
 * commit time (a GstReferenceTimestampMeta, timestamp/x-shmring-commit), the
 * latency is also split at that time: the producer's stamp to its commit,
 * and the commit to the fakesink.  Exit status 0 if all FRAMES came. */

#define FRAME_SIZE ((gsize)1920 * 1080 * 3)
#define WARMUP 5

struct consumer {
	GMainLoop *loop;
	long want;
	long n;
	guint64 next_seq;
	guint64 first_seq;
	guint64 missed;
	guint64 disordered; /* frames whose number is not the one after the last */
	guint64 bad_size;
	guint64 t_first, t_last;
	double cpu_first, cpu_last;
	guint64 *lat;
	guint64 *to_commit, *from_commit; /* the split, for frames with a commit time */
	long n_split;
	GstCaps *commit_caps;
	const char *why; /* why it stopped early */
};

static void on_handoff(GstElement *sink, GstBuffer *buf, GstPad *pad, gpointer data)
{
	struct consumer *c = data;
	const guint64 now = now_ns();
	guint64 hdr[2];

	(void)sink;
	(void)pad;
	if (c->n >= c->want)
		return;
	if (gst_buffer_get_size(buf) != FRAME_SIZE)
		c->bad_size++;
	if (gst_buffer_extract(buf, 0, hdr, sizeof hdr) != sizeof hdr)
		return;
	if (c->n == 0) {
		c->t_first = now;
		c->cpu_first = cpu_seconds();
		c->first_seq = hdr[1];
	} else if (hdr[1] != c->next_seq) {
		c->disordered++;
		if (hdr[1] > c->next_seq)
			c->missed += hdr[1] - c->next_seq;
	}
	c->next_seq = hdr[1] + 1;
	c->lat[c->n] = now > hdr[0] ? now - hdr[0] : 0;
	GstReferenceTimestampMeta *m = gst_buffer_get_reference_timestamp_meta(buf, c->commit_caps);
	if (m && c->n >= WARMUP && m->timestamp >= hdr[0] && now >= m->timestamp) {
		c->to_commit[c->n_split] = m->timestamp - hdr[0];
		c->from_commit[c->n_split++] = now - m->timestamp;
	}
	if (++c->n == c->want) {
		c->t_last = now;
		c->cpu_last = cpu_seconds();
		g_main_loop_quit(c->loop);
	}
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct consumer *c = data;

	(void)bus;
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *err = NULL;
		gchar *dbg = NULL;
		gst_message_parse_error(msg, &err, &dbg);
		fprintf(stderr, "consumer: %s (%s)\n", err->message, dbg ? dbg : "");
		g_clear_error(&err);
		g_free(dbg);
		c->why = "error";
		g_main_loop_quit(c->loop);
	} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
		c->why = "eos";
		g_main_loop_quit(c->loop);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
	struct consumer *c = data;

	c->why = "timeout";
	g_main_loop_quit(c->loop);
	return G_SOURCE_REMOVE;
}

static int cmp_u64(const void *a, const void *b)
{
	const guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
	return x < y ? -1 : x > y;
}

static double percentile_us(guint64 *v, long n, double q)
{
	if (n <= 0)
		return -1;
	long i = (long)(q * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e3;
}

int main(int argc, char **argv)
{
	struct consumer c = {0};
	GError *err = NULL;

	gst_init(&argc, &argv);
	if (argc != 4) {
		fprintf(stderr, "usage: %s FRAMES TIMEOUT_S PIPELINE\n", argv[0]);
		return 2;
	}
	c.want = strtol(argv[1], NULL, 10);
	const guint timeout_s = (guint)strtoul(argv[2], NULL, 10);
	if (c.want < 2) {
		fprintf(stderr, "consumer: FRAMES must be at least 2\n");
		return 2;
	}
	c.lat = g_new0(guint64, c.want);
	c.to_commit = g_new0(guint64, c.want);
	c.from_commit = g_new0(guint64, c.want);
	c.commit_caps = gst_caps_new_empty_simple("timestamp/x-shmring-commit");

	GstElement *pipeline = gst_parse_launch(argv[3], &err);
	if (pipeline == NULL) {
		fprintf(stderr, "consumer: %s\n", err->message);
		return 1;
	}
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	if (sink == NULL) {
		fprintf(stderr, "consumer: the pipeline needs a fakesink named \"sink\"\n");
		return 2;
	}
	g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), &c);
	c.loop = g_main_loop_new(NULL, FALSE);
	GstBus *bus = gst_element_get_bus(pipeline);
	gst_bus_add_watch(bus, on_bus, &c);
	g_timeout_add_seconds(timeout_s, on_timeout, &c);

	if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		fprintf(stderr, "consumer: the pipeline did not start\n");
		c.why = "error";
	} else {
		g_main_loop_run(c.loop);
	}
	gst_element_set_state(pipeline, GST_STATE_NULL);

	const long n = c.n;
	if (n < c.want) {
		c.t_last = now_ns();
		c.cpu_last = cpu_seconds();
	}
	long nl = n > WARMUP ? n - WARMUP : 0;
	qsort(c.lat + (n - nl), (size_t)nl, sizeof *c.lat, cmp_u64);
	qsort(c.to_commit, (size_t)c.n_split, sizeof *c.to_commit, cmp_u64);
	qsort(c.from_commit, (size_t)c.n_split, sizeof *c.from_commit, cmp_u64);
	printf("result {\"commit_p50_us\": %.1f, \"deliver_p50_us\": %.1f, \"deliver_p99_us\": %.1f, ",
	       percentile_us(c.to_commit, c.n_split, 0.50), percentile_us(c.from_commit, c.n_split, 0.50),
	       percentile_us(c.from_commit, c.n_split, 0.99));
	printf("\"frames\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"missed\": %" G_GUINT64_FORMAT
	       ", \"disordered\": %" G_GUINT64_FORMAT ", \"first_seq\": %" G_GUINT64_FORMAT ", \"bad_size\": %" G_GUINT64_FORMAT
	       ", \"lat_p50_us\": %.1f, \"lat_p99_us\": %.1f, \"lat_max_us\": %.1f, \"stopped\": \"%s\"}\n",
	       n, n > 0 ? (double)(c.t_last - c.t_first) / 1e9 : 0.0, n > 0 ? c.cpu_last - c.cpu_first : 0.0,
	       c.missed, c.disordered, c.first_seq, c.bad_size, percentile_us(c.lat + (n - nl), nl, 0.50),
	       percentile_us(c.lat + (n - nl), nl, 0.99), nl > 0 ? (double)c.lat[n - 1] / 1e3 : -1.0,
	       n == c.want ? "done" : (c.why ? c.why : "?"));
	fflush(stdout);

	gst_bus_remove_watch(bus);
	gst_object_unref(bus);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	g_main_loop_unref(c.loop);
	g_free(c.lat);
	g_free(c.to_commit);
	g_free(c.from_commit);
	gst_caps_unref(c.commit_caps);
	return n == c.want ? 0 : 1;
}
