/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gst_bench_producer.c: producer process of the GStreamer transport benchmark: pushes 1080p BGR frames into any sink. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <shmring/shmring.h>

#include "gst_bench_common.h"

/* usage: gst_bench_producer copy|pool|fill|appsrc FRAMES FPS SINK
 *
 * SINK is a pipeline description (shmringsink, shmsink, unixfdsink,
 * tcpserversink, with whatever framing the transport needs before it, or a
 * queue) whose sink element is named "sink".  In copy, pool and fill mode the
 * producer is the cheapest source there is: a pad of its own, linked to SINK,
 * on which this thread pushes stream-start, 1080p BGR caps, a segment, FRAMES
 * buffers paced at FPS (0 = as fast as the sink takes them) and end of
 * stream, as a source element's streaming thread would.
 *
 *   copy:   every frame is the same pre-filled heap buffer, so the transport
 *           copies it (once into shared memory, or through the socket).
 *   pool:   every frame comes from the buffer pool, or the allocator, that
 *           the sink proposes in the ALLOCATION query (a plain pool of 4
 *           buffers, or GST_BENCH_POOL_BUFFERS, on that allocator when it
 *           proposes no pool), and only its first 16 bytes
 *           are written: what is left is the cost of signalling a frame.
 *   fill:   frames from the same pool, each filled whole by the producer (a
 *           copy of the pre-filled frame): the producer copies every frame
 *           into the transport's memory itself, as one must for a sink that
 *           takes only its own memory (unixfdsink 1.26 refuses heap memory).
 *   appsrc: an application feeding "appsrc max-buffers=2 block=true ! SINK":
 *           this thread takes each buffer from the pool (or allocator) that
 *           the sink answers to the ALLOCATION query asked through appsrc's
 *           source pad, writes its first 16 bytes and pushes it into appsrc,
 *           whose own streaming thread pushes it on into SINK.
 *
 * Right before each push, the producer writes the CLOCK_MONOTONIC time in ns
 * and the frame number into the first 16 bytes of the frame (two
 * native-endian uint64), for the consumer to measure latency and gaps; in
 * fill mode the time is taken before the fill, so that the latency counts
 * the copy into the transport's memory as it does in copy mode.
 *
 * Prints "ready PORT" once the sink is up (PORT: the TCP port, or 0), waits
 * for the consumer to connect (GST_BENCH_READERS consumers, default 1), pushes, then waits for its standard input to
 * close (the consumer is done: the sink may still be sending) and prints
 * "result {json}" with the CPU time this process used from the first push
 * until then, and the time it spent in taking buffers and pushing them (the
 * sum and the longest one: how long the sink held it back).  Exit status 0
 * on success.
 *
 * With GST_BENCH_REPORT_ON_CLOSE=1 (a run with a slow reader, which may hold
 * the producer back past the run's end), a thread of its own prints the
 * result as soon as standard input closes, with the frames pushed so far,
 * and ends the process. */

#define WIDTH 1920
#define HEIGHT 1080
#define FRAME_SIZE ((gsize)WIDTH * HEIGHT * 3)
#define FALLBACK_POOL_BUFFERS 4
/* appsrc mode: the application's pushes block once appsrc holds this many */
#define APPSRC_MAX_BUFFERS 2
#define CONNECT_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define EOS_TIMEOUT (60 * GST_SECOND)

struct producer {
	gint connected; /* shmsink: client-connected signals seen */
};

/* What the pushing thread has done so far, for the report of a run cut short. */
struct progress {
	GMutex lock;
	long pushed;
	guint64 blocked_ns; /* in acquire and push, all frames */
	guint64 blocked_max_ns;
	double cpu0;
	guint64 t0;
	guint64 memory;
	guint64 foreign;   /* frames not in the memory of the allocator the sink proposed */
	GstElement *sink;  /* for its frames-copied, if it has one */
};

static struct progress progress;

static void print_result(long frames, double push_seconds, double cpu, guint64 copied, guint64 stamp_failures,
			 guint64 memory, gboolean eos)
{
	g_mutex_lock(&progress.lock);
	printf("result {\"frames\": %ld, \"pushed\": %ld, \"push_seconds\": %.6f, \"cpu_seconds\": %.6f, "
	       "\"blocked_seconds\": %.6f, \"blocked_max_seconds\": %.6f, \"copied\": %" G_GUINT64_FORMAT
	       ", \"stamp_failures\": %" G_GUINT64_FORMAT ", \"channel_bytes\": %" G_GUINT64_FORMAT ", \"eos\": %s}\n",
	       frames, progress.pushed, push_seconds, cpu, (double)progress.blocked_ns / 1e9,
	       (double)progress.blocked_max_ns / 1e9, copied, stamp_failures, memory, eos ? "true" : "false");
	fflush(stdout);
	g_mutex_unlock(&progress.lock);
}

/* GST_BENCH_REPORT_ON_CLOSE: once standard input closes, report what was pushed and end. */
static gpointer report_on_close(gpointer data)
{
	char discard[256];
	long frames = GPOINTER_TO_SIZE(data);

	while (read(STDIN_FILENO, discard, sizeof discard) > 0)
		;
	g_mutex_lock(&progress.lock);
	const double cpu = progress.t0 ? cpu_seconds() - progress.cpu0 : 0.0;
	const double secs = progress.t0 ? (double)(now_ns() - progress.t0) / 1e9 : 0.0;
	const guint64 memory = progress.memory;
	guint64 copied = progress.foreign;
	GstElement *sink = progress.sink;
	g_mutex_unlock(&progress.lock);
	if (sink && g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "frames-copied"))
		g_object_get(sink, "frames-copied", &copied, NULL);
	print_result(frames, secs, cpu, copied, 0, memory, FALSE);
	_exit(0);
	return NULL;
}

/* Writes the time t and the frame number into the first 16 bytes of buf. */
static gboolean stamp(GstBuffer *buf, guint8 *data, guint64 seq, guint64 t)
{
	guint64 hdr[2] = {t, seq};
	GstMapInfo map;

	if (data) {
		/* Copy mode: the one buffer, shared with the sink's previous push. */
		memcpy(data, hdr, sizeof hdr);
		return TRUE;
	}
	if (!gst_buffer_map(buf, &map, GST_MAP_WRITE))
		return FALSE;
	memcpy(map.data, hdr, sizeof hdr);
	gst_buffer_unmap(buf, &map);
	return TRUE;
}

static void on_client_connected(GstElement *sink, gint fd, gpointer data)
{
	struct producer *pr = data;

	(void)sink;
	(void)fd;
	g_atomic_int_inc(&pr->connected);
}

/* The shared memory the transport took: shmringsink's pool (slots x slot
 * size, asked of its producer as an observer), shmsink's shm-size; 0 for
 * the others. */
static guint64 channel_bytes(GstElement *sink)
{
	const char *factory = GST_OBJECT_NAME(gst_element_get_factory(sink));
	guint64 bytes = 0;

	if (strcmp(factory, "shmringsink") == 0) {
		gchar *channel = NULL;
		struct shmring_stats st;
		g_object_get(sink, "channel", &channel, NULL);
		if (shmring_inspect(channel ? channel : GST_OBJECT_NAME(sink), &st, NULL) == 0)
			bytes = (guint64)st.n_slots * st.slot_size;
		g_free(channel);
	} else if (strcmp(factory, "shmsink") == 0) {
		guint size = 0;
		g_object_get(sink, "shm-size", &size, NULL);
		bytes = size;
	}
	return bytes;
}

/* The clients connected to a sink listening on the Unix socket path: the
 * sockets it accepted carry the path in /proc/net/unix, state connected
 * (03); its clients' own sockets are unnamed. */
static gint path_clients(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[1024];
	gint n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned state = 0;
		char name[512] = "";

		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %*s %*s %x %*s %511s", &state, name) == 2 && state == 3 &&
		    strcmp(name, path) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* The number of consumers connected to sink (shmringsink: its readers). */
static gint consumers_connected(GstElement *sink, struct producer *pr)
{
	const char *factory = GST_OBJECT_NAME(gst_element_get_factory(sink));

	if (strcmp(factory, "shmringsink") == 0) {
		/* The sink's "readers" is refreshed as frames flow; before the
		 * first one, ask the producer it runs, as an observer. */
		gchar *channel = NULL;
		struct shmring_stats st;
		int rc;
		g_object_get(sink, "channel", &channel, NULL);
		rc = shmring_inspect(channel ? channel : GST_OBJECT_NAME(sink), &st, NULL);
		g_free(channel);
		return rc < 0 ? 0 : (gint)st.readers;
	}
	if (strcmp(factory, "tcpserversink") == 0) {
		gint handles = 0;
		g_object_get(sink, "num-handles", &handles, NULL);
		return handles;
	}
	if (strcmp(factory, "unixfdsink") == 0) {
		gchar *path = NULL;
		gint n;
		g_object_get(sink, "socket-path", &path, NULL);
		n = path ? path_clients(path) : 0;
		g_free(path);
		return n;
	}
	return g_atomic_int_get(&pr->connected);
}

/* The pool that an upstream element would use (what basesrc's default
 * decide_allocation does): the sink's pool, or a plain one on the sink's
 * allocator. */
static GstBufferPool *negotiate_pool(GstPad *pad, GstCaps *caps, GstAllocator **alloc_out)
{
	GstQuery *q = gst_query_new_allocation(caps, TRUE);
	GstBufferPool *pool = NULL;
	GstAllocator *alloc = NULL;
	GstAllocationParams params;
	guint size = 0, min = 0, max = 0;

	gst_allocation_params_init(&params);
	gst_pad_peer_query(pad, q); /* unanswered: a plain pool */
	if (gst_query_get_n_allocation_pools(q) > 0)
		gst_query_parse_nth_allocation_pool(q, 0, &pool, &size, &min, &max);
	if (gst_query_get_n_allocation_params(q) > 0)
		gst_query_parse_nth_allocation_param(q, 0, &alloc, &params);
	gst_query_unref(q);

	if (pool == NULL) {
		GstStructure *config;

		pool = gst_buffer_pool_new();
		config = gst_buffer_pool_get_config(pool);
		const char *n_env = g_getenv("GST_BENCH_POOL_BUFFERS");
		const guint n_buffers = n_env ? (guint)strtoul(n_env, NULL, 10) : FALLBACK_POOL_BUFFERS;
		gst_buffer_pool_config_set_params(config, caps, FRAME_SIZE, 0, n_buffers);
		gst_buffer_pool_config_set_allocator(config, alloc, &params);
		if (!gst_buffer_pool_set_config(pool, config)) {
			fprintf(stderr, "producer: could not configure a buffer pool\n");
			gst_object_unref(pool);
			pool = NULL;
		}
	}
	if (pool && !gst_buffer_pool_set_active(pool, TRUE)) {
		fprintf(stderr, "producer: could not activate the buffer pool\n");
		gst_object_unref(pool);
		pool = NULL;
	}
	*alloc_out = alloc;
	return pool;
}

/* Blocks until the pipeline posts EOS or an error; FALSE on error/timeout. */
static gboolean wait_eos(GstElement *pipeline)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *msg = gst_bus_timed_pop_filtered(bus, EOS_TIMEOUT, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	gboolean ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;

	if (msg == NULL)
		fprintf(stderr, "producer: no end of stream after %d s\n", (int)(EOS_TIMEOUT / GST_SECOND));
	else if (!ok) {
		GError *err = NULL;
		gchar *dbg = NULL;
		gst_message_parse_error(msg, &err, &dbg);
		fprintf(stderr, "producer: %s (%s)\n", err->message, dbg ? dbg : "");
		g_clear_error(&err);
		g_free(dbg);
	}
	if (msg)
		gst_message_unref(msg);
	gst_object_unref(bus);
	return ok;
}

static gboolean bus_error(GstElement *pipeline)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	gboolean err = msg != NULL;

	if (msg) {
		GError *e = NULL;
		gst_message_parse_error(msg, &e, NULL);
		fprintf(stderr, "producer: %s\n", e->message);
		g_clear_error(&e);
		gst_message_unref(msg);
	}
	gst_object_unref(bus);
	return err;
}

/* stream-start, caps and segment down pad; FALSE (reported) if SINK refuses them. */
static gboolean start_stream(GstPad *pad, GstCaps *caps, GstElement *pipeline)
{
	GstSegment segment;
	gst_segment_init(&segment, GST_FORMAT_TIME);
	gst_pad_push_event(pad, gst_event_new_stream_start("gst-bench"));
	if (!gst_pad_push_event(pad, gst_event_new_caps(caps)) ||
	    !gst_pad_push_event(pad, gst_event_new_segment(&segment))) {
		bus_error(pipeline);
		fprintf(stderr, "producer: SINK refused the caps or the segment\n");
		return FALSE;
	}
	return TRUE;
}

int main(int argc, char **argv)
{
	struct producer pr = {0};
	GError *err = NULL;

	gst_init(&argc, &argv);
	if (argc != 5 || (strcmp(argv[1], "copy") != 0 && strcmp(argv[1], "pool") != 0 &&
			  strcmp(argv[1], "fill") != 0 && strcmp(argv[1], "appsrc") != 0)) {
		fprintf(stderr, "usage: %s copy|pool|fill|appsrc FRAMES FPS SINK\n", argv[0]);
		return 2;
	}
	const gboolean copy = strcmp(argv[1], "copy") == 0;
	const gboolean fill = strcmp(argv[1], "fill") == 0;
	const gboolean use_appsrc = strcmp(argv[1], "appsrc") == 0;
	const long frames = strtol(argv[2], NULL, 10);
	const long fps = strtol(argv[3], NULL, 10);
	const char *readers_env = g_getenv("GST_BENCH_READERS");
	const gint readers = readers_env ? (gint)strtol(readers_env, NULL, 10) : 1;

	g_mutex_init(&progress.lock);
	const gboolean watch_close = g_strcmp0(g_getenv("GST_BENCH_REPORT_ON_CLOSE"), "1") == 0;
	if (watch_close)
		g_thread_unref(g_thread_new("report-on-close", report_on_close, GSIZE_TO_POINTER((gsize)frames)));

	GstElement *bin = gst_parse_bin_from_description(argv[4], TRUE, &err);
	if (bin == NULL) {
		fprintf(stderr, "producer: %s\n", err->message);
		return 1;
	}
	GstElement *pipeline = gst_pipeline_new("producer");
	gst_bin_add(GST_BIN(pipeline), bin);
	GstElement *sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
	GstPad *sinkpad = gst_element_get_static_pad(bin, "sink");
	if (sink == NULL || sinkpad == NULL) {
		fprintf(stderr, "producer: SINK needs an element named \"sink\" and a free sink pad\n");
		return 2;
	}
	/* No preroll: the pipeline is PLAYING before the first buffer. */
	g_object_set(sink, "async", FALSE, NULL);
	if (g_signal_lookup("client-connected", G_OBJECT_TYPE(sink)) != 0)
		g_signal_connect(sink, "client-connected", G_CALLBACK(on_client_connected), &pr);

	GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGR", "width", G_TYPE_INT, WIDTH,
					    "height", G_TYPE_INT, HEIGHT, "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
	/* pad: where buffers go in copy and pool mode; in appsrc mode, appsrc's
	 * source pad, asked only for the ALLOCATION query. */
	GstPad *pad;
	GstElement *appsrc = NULL;
	if (use_appsrc) {
		appsrc = gst_element_factory_make("appsrc", "appsrc");
		if (appsrc == NULL) {
			fprintf(stderr, "producer: no appsrc element\n");
			return 1;
		}
		g_object_set(appsrc, "caps", caps, "format", GST_FORMAT_TIME, "max-buffers", (guint64)APPSRC_MAX_BUFFERS,
			     "block", TRUE, "is-live", FALSE, NULL);
		gst_bin_add(GST_BIN(pipeline), appsrc);
		pad = gst_element_get_static_pad(appsrc, "src");
	} else {
		pad = gst_pad_new("src", GST_PAD_SRC);
		gst_pad_set_active(pad, TRUE);
	}
	if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK) {
		fprintf(stderr, "producer: could not link to SINK\n");
		return 1;
	}
	gst_object_unref(sinkpad);

	if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE ||
	    gst_element_get_state(pipeline, NULL, NULL, 10 * GST_SECOND) != GST_STATE_CHANGE_SUCCESS) {
		bus_error(pipeline);
		fprintf(stderr, "producer: the pipeline did not start\n");
		return 1;
	}
	gint port = 0;
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "current-port"))
		g_object_get(sink, "current-port", &port, NULL);
	printf("ready %d\n", port);
	fflush(stdout);

	/* shmringsink creates its channel once it has caps, so a reader can
	 * attach only after them; the other sinks get them once connected, as
	 * before.  appsrc sends its caps itself once PLAYING, before any buffer. */
	const gboolean caps_first = strcmp(GST_OBJECT_NAME(gst_element_get_factory(sink)), "shmringsink") == 0;
	if (!use_appsrc && caps_first && !start_stream(pad, caps, pipeline))
		return 1;
	const gint64 give_up = g_get_monotonic_time() + CONNECT_TIMEOUT_US;
	while (consumers_connected(sink, &pr) < readers) {
		if (g_get_monotonic_time() > give_up || bus_error(pipeline)) {
			fprintf(stderr, "producer: %d of %d consumers connected\n", consumers_connected(sink, &pr),
				readers);
			return 1;
		}
		g_usleep(1000);
	}
	if (!use_appsrc && !caps_first && !start_stream(pad, caps, pipeline))
		return 1;
	const guint64 memory = channel_bytes(sink);

	GstBuffer *frame = NULL;
	guint8 *frame_data = NULL, *fill_data = NULL;
	GstBufferPool *pool = NULL;
	GstAllocator *alloc = NULL;
	if (copy) {
		frame_data = g_malloc(FRAME_SIZE);
		memset(frame_data, 0x80, FRAME_SIZE);
		frame = gst_buffer_new_wrapped(frame_data, FRAME_SIZE);
	} else {
		if (fill) {
			fill_data = g_malloc(FRAME_SIZE);
			memset(fill_data, 0x80, FRAME_SIZE);
		}
		pool = negotiate_pool(pad, caps, &alloc);
		if (pool == NULL)
			return 1;
	}

	/* Frames that do not live in memory the sink lent (it copies them). */
	guint64 foreign = 0, stamp_failures = 0, blocked_ns = 0, blocked_max_ns = 0;
	const GstClockTime duration = GST_SECOND / 30;
	const double cpu0 = cpu_seconds();
	const guint64 t0 = now_ns();
	g_mutex_lock(&progress.lock);
	progress.cpu0 = cpu0;
	progress.t0 = t0;
	progress.memory = memory;
	progress.sink = sink;
	g_mutex_unlock(&progress.lock);
	guint64 next = t0;
	GstFlowReturn ret = GST_FLOW_OK;
	for (long i = 0; i < frames && ret == GST_FLOW_OK; i++) {
		GstBuffer *buf;

		if (fps > 0) {
			struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u),
					      .tv_nsec = (long)(next % 1000000000u)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			next += 1000000000u / (guint64)fps;
		}
		guint64 t_in = now_ns();
		if (copy) {
			/* A new buffer on the same memory, for its own timestamps. */
			buf = gst_buffer_copy(frame);
		} else {
			ret = gst_buffer_pool_acquire_buffer(pool, &buf, NULL);
			if (ret != GST_FLOW_OK)
				break;
			if (alloc && gst_buffer_peek_memory(buf, 0)->allocator != alloc)
				foreign++;
		}
		guint64 took = now_ns() - t_in;
		/* fill: the frame's time is taken before the copy into the sink's
		 * memory, as the other sinks copy after it (copy mode). */
		const guint64 t_frame = now_ns();
		if (fill && gst_buffer_fill(buf, 0, fill_data, FRAME_SIZE) != FRAME_SIZE)
			stamp_failures++;
		GST_BUFFER_PTS(buf) = (GstClockTime)i * duration;
		GST_BUFFER_DURATION(buf) = duration;
		if (!stamp(buf, frame_data, (guint64)i, fill ? t_frame : now_ns()))
			stamp_failures++;
		/* appsrc takes the buffer, and blocks while it holds APPSRC_MAX_BUFFERS. */
		t_in = now_ns();
		ret = appsrc ? gst_app_src_push_buffer(GST_APP_SRC(appsrc), buf) : gst_pad_push(pad, buf);
		/* The time in acquire and push, not the producer's own work (fill, stamp). */
		took += now_ns() - t_in;
		blocked_ns += took;
		if (took > blocked_max_ns)
			blocked_max_ns = took;
		if (watch_close) {
			g_mutex_lock(&progress.lock);
			progress.pushed = i + 1;
			progress.foreign = foreign;
			progress.blocked_ns = blocked_ns;
			progress.blocked_max_ns = blocked_max_ns;
			g_mutex_unlock(&progress.lock);
		}
	}
	g_mutex_lock(&progress.lock);
	progress.pushed = ret == GST_FLOW_OK ? frames : progress.pushed;
	progress.blocked_ns = blocked_ns;
	progress.blocked_max_ns = blocked_max_ns;
	g_mutex_unlock(&progress.lock);
	if (ret != GST_FLOW_OK) {
		fprintf(stderr, "producer: push failed: %s\n", gst_flow_get_name(ret));
		bus_error(pipeline);
		return 1;
	}
	if (appsrc)
		gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
	else
		gst_pad_push_event(pad, gst_event_new_eos());
	const gboolean eos = wait_eos(pipeline);
	const guint64 t_pushed = now_ns();

	/* The consumer is done when the orchestrator closes our stdin. */
	char discard[256];
	while (read(STDIN_FILENO, discard, sizeof discard) > 0)
		;
	const double cpu = cpu_seconds() - cpu0;

	guint64 copied = foreign;
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "frames-copied"))
		g_object_get(sink, "frames-copied", &copied, NULL);
	else if (copy || alloc == NULL)
		copied = (guint64)frames; /* a socket: every byte goes through the kernel */

	print_result(frames, (double)(t_pushed - t0) / 1e9, cpu, copied, stamp_failures, memory, eos);

	gst_element_set_state(pipeline, GST_STATE_NULL);
	if (!appsrc)
		gst_pad_set_active(pad, FALSE);
	gst_object_unref(pad);
	if (pool) {
		gst_buffer_pool_set_active(pool, FALSE);
		gst_object_unref(pool);
	}
	if (alloc)
		gst_object_unref(alloc);
	if (frame)
		gst_buffer_unref(frame);
	g_free(fill_data);
	gst_caps_unref(caps);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	return eos ? 0 : 1;
}
