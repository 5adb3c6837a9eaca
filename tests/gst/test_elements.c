/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_elements.c: GstCheck tests of shmringsink and shmringsrc within one process. */
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <shmring/shmring.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* GObject refuses a value out of a property's range, or a write to a
 * read-only property, loudly: with a g_warning in GLib 2.74, a g_critical in
 * GLib 2.84. Either is the refusal; nothing at all fails. */
#define ASSERT_REFUSED(code)                                            \
G_STMT_START {                                                          \
  _gst_check_expecting_log = TRUE;                                      \
  _gst_check_raised_warning = FALSE;                                    \
  _gst_check_raised_critical = FALSE;                                   \
  code;                                                                 \
  if (!_gst_check_raised_warning && !_gst_check_raised_critical)        \
    _ck_assert_failed (__FILE__, __LINE__,                              \
        "Expected g_warning or g_critical, got nothing", NULL);         \
  _gst_check_expecting_log = FALSE;                                     \
} G_STMT_END

/* A channel name private to this process and test. */
static gchar *
channel_name (const gchar * tag)
{
  return g_strdup_printf ("t-gst-%d-%s", (int) getpid (), tag);
}

/* TRUE if a producer listens on channel name (the abstract socket
 * "@shmring/NAME" in /proc/net/unix). */
static gboolean
channel_exists (const gchar * name)
{
  gchar *contents = NULL, *want = g_strconcat (" @" SHMRING_SOCKET_PREFIX,
      name, "\n", NULL);
  gboolean ret;

  fail_unless (g_file_get_contents ("/proc/net/unix", &contents, NULL, NULL));
  ret = strstr (contents, want) != NULL;
  g_free (contents);
  g_free (want);
  return ret;
}

/* Wait (20 s at most) until channel name has n readers attached. */
static void
wait_readers (const gchar * name, guint n)
{
  struct shmring_stats st;
  gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;) {
    if (shmring_inspect (name, &st, NULL) == 0 && st.readers == n)
      return;
    fail_unless (g_get_monotonic_time () < end, "channel %s never had %u "
        "readers", name, n);
    g_usleep (1000);
  }
}

static GstElement *
parse (const gchar * fmt, ...)
{
  GError *err = NULL;
  GstElement *p;
  va_list ap;
  gchar *desc;

  va_start (ap, fmt);
  desc = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  p = gst_parse_launch (desc, &err);
  fail_unless (p != NULL && err == NULL, "could not build '%s': %s", desc,
      err ? err->message : "?");
  g_free (desc);
  return p;
}

/* Wait for ERROR or EOS on the pipeline's bus; returns the message. */
static GstMessage *
wait_bus (GstElement * pipeline, GstMessageType types)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, types);

  gst_object_unref (bus);
  fail_unless (msg != NULL, "no message of the expected type on the bus");
  return msg;
}

static gchar *
error_text (GstMessage * msg)
{
  GError *err = NULL;
  gchar *dbg = NULL, *text;

  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR ||
      GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING, "a %s message",
      GST_MESSAGE_TYPE_NAME (msg));
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &err, &dbg);
  else
    gst_message_parse_warning (msg, &err, &dbg);
  text = g_strdup_printf ("%s | %s", err->message, dbg ? dbg : "");
  g_error_free (err);
  g_free (dbg);
  return text;
}

static void
stop_pipeline (GstElement * p)
{
  fail_unless_equals_int (gst_element_set_state (p, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (p);
}

/* Stop pipeline p, check that channel name is gone, free the name. */
static void
stop_and_check_gone (GstElement * p, gchar * name)
{
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
}

/* A harness around a shmringsrc reading channel name. */
static GstHarness *
src_harness (const gchar * name, const gchar * extra)
{
  gchar *desc = g_strdup_printf ("shmringsrc channel=%s timestamp-mode=producer"
      " %s", name, extra ? extra : "");
  GstHarness *h = gst_harness_new_parse (desc);

  g_free (desc);
  gst_harness_play (h);
  return h;
}

static GstBuffer *
make_buffer (gsize size, guint8 seed)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < size; i++)
    map.data[i] = (guint8) (seed + i * 7);
  gst_buffer_unmap (buf, &map);
  return buf;
}

static void
assert_same_data (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo ma, mb;

  fail_unless (gst_buffer_map (a, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b, &mb, GST_MAP_READ));
  fail_unless_equals_uint64 (ma.size, mb.size);
  fail_unless (memcmp (ma.data, mb.data, ma.size) == 0, "payload differs");
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
}

GST_START_TEST (test_properties)
{
  GstElement *sink = gst_element_factory_make ("shmringsink", "camx");
  GstElement *src = gst_element_factory_make ("shmringsrc", NULL);
  gchar *s = NULL;
  guint64 size, n;
  guint readers, qlen, holds;
  gint policy;
  gint64 timeout;
  gboolean b;

  fail_unless (sink && src);
  g_object_get (sink, "channel", &s, "max-frame-size", &size, "max-readers",
      &readers, "queue-length", &qlen, "max-holds", &holds, "policy", &policy,
      "frames-written", &n, NULL);
  fail_unless (s == NULL);
  fail_unless_equals_uint64 (size, 0);
  fail_unless_equals_int (readers, 4);
  fail_unless_equals_int (qlen, 0);    /* the library's, by policy */
  fail_unless_equals_int (holds, 3);
  g_object_get (sink, "share-group", &s, "share-user", &s, "readers",
      &readers, NULL);
  fail_unless (s == NULL);
  fail_unless_equals_int (readers, 0);
  fail_unless_equals_int (policy, 3);  /* auto */
  fail_unless_equals_uint64 (n, 0);
  g_object_get (sink, "wait-for-reader", &policy, NULL);
  fail_unless_equals_int (policy, 0);   /* auto */
  gst_util_set_object_arg (G_OBJECT (sink), "policy", "drop-new");
  g_object_get (sink, "policy", &policy, NULL);
  fail_unless_equals_int (policy, SHMRING_POLICY_DROP_NEW);
  gst_util_set_object_arg (G_OBJECT (sink), "policy", "live");
  g_object_get (sink, "policy", &policy, NULL);
  fail_unless_equals_int (policy, SHMRING_POLICY_LIVE);
  /* Out-of-range values are refused loudly and leave the value alone. */
  ASSERT_REFUSED (g_object_set (sink, "max-readers", 33, NULL));
  g_object_get (sink, "max-readers", &readers, NULL);
  fail_unless_equals_int (readers, 4);
  ASSERT_REFUSED (g_object_set (sink, "max-frame-size",
          (guint64) 1 << 31, NULL));

  g_object_get (src, "timeout", &timeout, "reconnect", &b, NULL);
  fail_unless_equals_int64 (timeout, -1);
  fail_unless (!b);
  g_object_get (src, "latest", &b, "frames-received", &n, "holds", &holds,
      NULL);
  fail_unless (!b);
  fail_unless_equals_int (holds, 0);
  fail_unless_equals_uint64 (n, 0);
  g_object_get (src, "frames-copied", &n, NULL);
  fail_unless_equals_uint64 (n, 0);
  ASSERT_REFUSED (g_object_set (src, "timeout", (gint64) - 5, NULL));

  /* Read-only counters cannot be written. */
  ASSERT_REFUSED (g_object_set (src, "frames-received", (guint64) 5, NULL));
  ASSERT_REFUSED (g_object_set (src, "frames-copied", (guint64) 5, NULL));
  ASSERT_REFUSED (g_object_set (sink, "frames-dropped", (guint64) 5, NULL));

  gst_object_unref (sink);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_channel_defaults_to_name_and_ready_only)
{
  gchar *name = channel_name ("named");
  GstElement *p = parse ("videotestsrc ! shmringsink name=%s "
      "wait-for-reader=false", name);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), name);

  fail_unless (!channel_exists (name));
  fail_unless (gst_element_set_state (p, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  /* prerolled: the first caps created the channel */
  fail_unless_equals_int (gst_element_get_state (p, NULL, NULL,
          GST_CLOCK_TIME_NONE), GST_STATE_CHANGE_SUCCESS);
  fail_unless (channel_exists (name), "channel not named after the element");
  /* queue-length 0: the library's default for lossless, 8 frames; the
   * pool: 8 queued between the readers, 4 x 3 holds, 3 reservations (2
   * lent to upstream, 1 for copies), 1 */
  {
    struct shmring_stats st;
    fail_unless_equals_int (shmring_inspect (name, &st, NULL), 0);
    fail_unless_equals_int (st.queue_len, 8);
    fail_unless_equals_int (st.n_slots, 8 + 4 * 3 + 3 + 1);
  }
  /* channel, sizes and policy are fixed once started */
  ASSERT_WARNING (g_object_set (sink, "channel", "other", NULL));
  ASSERT_WARNING (gst_util_set_object_arg (G_OBJECT (sink), "policy", "live"));
  ASSERT_WARNING (gst_util_set_object_arg (G_OBJECT (sink), "wait-for-reader",
          "true"));
  ASSERT_WARNING (g_object_set (sink, "max-readers", 2, NULL));
  gst_object_unref (sink);
  stop_pipeline (p);
  fail_unless (!channel_exists (name), "channel left behind");
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_invalid_channel_name)
{
  const gchar *elements[] = { "fakesrc", "shmringsink", "shmringsrc",
    "fakesink", NULL
  };
  guint i;

  for (i = 0; elements[i]; i += 2) {
    /* the shmring element gets the bad name */
    GstElement *p = parse ("%s %s ! %s %s", elements[i],
        i == 2 ? "channel=.hidden" : "", elements[i + 1],
        i == 0 ? "channel=.hidden" : "");
    GstMessage *msg;
    gchar *text;

    gst_element_set_state (p, GST_STATE_PLAYING);
    msg = wait_bus (p, GST_MESSAGE_ERROR);
    text = error_text (msg);
    fail_unless (strstr (text, "Invalid channel name") != NULL, "%s", text);
    fail_unless (strstr (text, ".hidden") != NULL, "%s", text);
    g_free (text);
    gst_message_unref (msg);
    stop_pipeline (p);
  }
}

GST_END_TEST;

#define TRAVELLING_FLAGS (GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_HEADER | \
    GST_BUFFER_FLAG_GAP | GST_BUFFER_FLAG_DROPPABLE | GST_BUFFER_FLAG_MARKER | \
    GST_BUFFER_FLAG_CORRUPTED | GST_BUFFER_FLAG_LIVE)

/* Raw video of an odd width with every kind of metadata crosses intact. */
GST_START_TEST (test_roundtrip_meta)
{
  gchar *name = channel_name ("meta");
  GstElement *p = parse ("appsrc name=a format=time caps=video/x-raw,"
      "format=BGR,width=641,height=481,framerate=30/1 ! shmringsink "
      "channel=%s name=s", name);
  GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstHarness *h;
  GstBuffer *in[3], *out;
  GstCaps *caps;
  GstStructure *st;
  gint w = 0;
  guint64 copied, written;
  guint i;
  gsize fsize = GST_ROUND_UP_4 (641 * 3) * 481;

  fail_unless (gst_element_set_state (p, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  h = src_harness (name, NULL);

  for (i = 0; i < 3; i++)
    in[i] = make_buffer (fsize, i);
  GST_BUFFER_PTS (in[0]) = 5 * GST_SECOND;
  GST_BUFFER_DTS (in[0]) = 4 * GST_SECOND;
  GST_BUFFER_DURATION (in[0]) = GST_SECOND / 30;
  GST_BUFFER_PTS (in[1]) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS (in[1]) = 6 * GST_SECOND + 1;
  GST_BUFFER_DURATION (in[1]) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_FLAG_SET (in[1], GST_BUFFER_FLAG_DELTA_UNIT);
  GST_BUFFER_FLAG_SET (in[1], GST_BUFFER_FLAG_MARKER);
  GST_BUFFER_PTS (in[2]) = 7 * GST_SECOND;
  GST_BUFFER_FLAG_SET (in[2], GST_BUFFER_FLAG_DISCONT);
  GST_BUFFER_FLAG_SET (in[2], GST_BUFFER_FLAG_HEADER);
  GST_BUFFER_FLAG_SET (in[2], GST_BUFFER_FLAG_GAP);
  GST_BUFFER_FLAG_SET (in[2], GST_BUFFER_FLAG_DROPPABLE);
  GST_BUFFER_FLAG_SET (in[2], GST_BUFFER_FLAG_CORRUPTED);

  for (i = 0; i < 3; i++) {
    GstCaps *commit_caps = gst_caps_new_empty_simple
        ("timestamp/x-shmring-commit");
    GstReferenceTimestampMeta *commit;
    guint64 before = shmring_now_ns (), after;

    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
            gst_buffer_ref (in[i])), GST_FLOW_OK);
    out = gst_harness_pull (h);
    after = shmring_now_ns ();
    fail_unless (out != NULL);
    assert_same_data (in[i], out);
    /* the producer's commit time, on the clock both processes share */
    commit = gst_buffer_get_reference_timestamp_meta (out, commit_caps);
    fail_unless (commit != NULL);
    fail_unless (commit->timestamp >= before && commit->timestamp <= after);
    gst_caps_unref (commit_caps);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), GST_BUFFER_PTS (in[i]));
    fail_unless_equals_uint64 (GST_BUFFER_DTS (out), GST_BUFFER_DTS (in[i]));
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (out),
        GST_BUFFER_DURATION (in[i]));
    /* the first buffer of a stream is DISCONT; the others keep theirs */
    fail_unless_equals_int (GST_BUFFER_FLAGS (out) & TRAVELLING_FLAGS,
        GST_BUFFER_FLAGS (in[i]) & TRAVELLING_FLAGS);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (out,
            GST_BUFFER_FLAG_DISCONT), i != 1);
    gst_buffer_unref (out);
  }

  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL);
  st = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_has_name (st, "video/x-raw"));
  gst_structure_get_int (st, "width", &w);
  fail_unless_equals_int (w, 641);
  fail_unless_equals_string (gst_structure_get_string (st, "format"), "BGR");
  gst_caps_unref (caps);

  /* after the end of stream, render() has counted every frame */
  fail_unless_equals_int (gst_app_src_end_of_stream (GST_APP_SRC (a)),
      GST_FLOW_OK);
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  g_object_get (s, "frames-copied", &copied, "frames-written", &written, NULL);
  fail_unless_equals_uint64 (written, 3);
  fail_unless_equals_uint64 (copied, 3);        /* system memory: one copy each */

  for (i = 0; i < 3; i++)
    gst_buffer_unref (in[i]);
  gst_harness_teardown (h);
  gst_object_unref (a);
  gst_object_unref (s);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* Variable-size, non-raw buffers and a caps change, in order with the data. */
GST_START_TEST (test_nonraw_and_caps_change)
{
  gchar *name = channel_name ("nonraw");
  GstElement *p = parse ("appsrc name=a format=time ! shmringsink channel=%s",
      name);
  GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
  GstCaps *jpeg = gst_caps_from_string ("image/jpeg,width=320,height=240,"
      "framerate=30/1"), *raw =
      gst_caps_from_string ("video/x-raw,format=I420,width=161,height=121,"
      "framerate=25/1"), *cur;
  GstHarness *h;
  GstBuffer *in, *out;
  GstVideoInfo vi;
  gsize sizes[] = { 1000, 77, 5000 };
  guint i;

  gst_app_src_set_caps (GST_APP_SRC (a), jpeg);
  fail_unless (gst_element_set_state (p, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  h = src_harness (name, NULL);

  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    in = make_buffer (sizes[i], i + 10);
    GST_BUFFER_PTS (in) = i * GST_SECOND;
    gst_app_src_push_buffer (GST_APP_SRC (a), gst_buffer_ref (in));
    out = gst_harness_pull (h);
    assert_same_data (in, out);
    cur = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (gst_caps_is_equal (cur, jpeg), "caps %" GST_PTR_FORMAT, cur);
    gst_caps_unref (cur);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
  }

  /* Switch to raw I420 with odd sizes: padded rows and chroma planes. */
  gst_app_src_set_caps (GST_APP_SRC (a), raw);
  gst_video_info_from_caps (&vi, raw);
  in = make_buffer (GST_VIDEO_INFO_SIZE (&vi), 99);
  gst_app_src_push_buffer (GST_APP_SRC (a), gst_buffer_ref (in));
  out = gst_harness_pull (h);
  cur = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (gst_caps_is_equal (cur, raw), "caps %" GST_PTR_FORMAT, cur);
  assert_same_data (in, out);
  gst_caps_unref (cur);
  gst_buffer_unref (in);
  gst_buffer_unref (out);

  gst_caps_unref (jpeg);
  gst_caps_unref (raw);
  gst_harness_teardown (h);
  gst_object_unref (a);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* EOS on the producer becomes EOS on the consumer. */
GST_START_TEST (test_eos)
{
  gchar *name = channel_name ("eos");
  GstElement *p = parse ("videotestsrc num-buffers=5 ! video/x-raw,width=64,"
      "height=48 ! shmringsink channel=%s", name);
  GstElement *c = parse ("shmringsrc channel=%s name=r ! fakesink", name);
  GstElement *r = gst_bin_get_by_name (GST_BIN (c), "r");
  GstMessage *msg;
  guint64 n;

  gst_element_set_state (c, GST_STATE_PLAYING);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = wait_bus (p, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  msg = wait_bus (c, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  g_object_get (r, "frames-received", &n, NULL);
  fail_unless_equals_uint64 (n, 5);
  gst_object_unref (r);
  stop_pipeline (p);
  stop_pipeline (c);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

/* Upstream that uses the sink's pool renders straight into the ring. */
GST_START_TEST (test_zero_copy_sink)
{
  gchar *name = channel_name ("zc");
  GstElement *p = parse ("videotestsrc num-buffers=20 ! video/x-raw,"
      "format=BGR,width=321,height=240 ! shmringsink channel=%s name=s", name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstHarness *h;
  GstVideoInfo vi;
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=BGR,width=321,"
      "height=240,framerate=30/1");
  guint64 copied, written;
  guint i;

  gst_video_info_from_caps (&vi, caps);
  gst_caps_unref (caps);
  gst_element_set_state (p, GST_STATE_PLAYING);
  h = src_harness (name, NULL);
  for (i = 0; i < 20; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_uint64 (gst_buffer_get_size (b),
        GST_VIDEO_INFO_SIZE (&vi));
    gst_buffer_unref (b);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  g_object_get (s, "frames-copied", &copied, "frames-written", &written, NULL);
  fail_unless_equals_uint64 (written, 20);
  fail_unless_equals_uint64 (copied, 0);
  gst_harness_teardown (h);
  gst_object_unref (s);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* TRUE if addr lies in a mapping of the channel's pool. */
static gboolean
in_segment (const gchar * name, gconstpointer addr)
{
  gchar *path = g_strconcat ("/memfd:shmring-pool:", name, " ", NULL);
  FILE *f = fopen ("/proc/self/maps", "r");
  char line[1024];
  gboolean found = FALSE;

  while (f && fgets (line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf (line, "%lx-%lx", &lo, &hi) == 2 && strstr (line, path) &&
        (unsigned long) addr >= lo && (unsigned long) addr < hi)
      found = TRUE;
  }
  if (f)
    fclose (f);
  g_free (path);
  return found;
}

/* The source's buffers are the shared memory itself, read-only. */
GST_START_TEST (test_zero_copy_src)
{
  gchar *name = channel_name ("zcsrc");
  GstElement *p = parse ("videotestsrc num-buffers=3 ! video/x-raw,width=64,"
      "height=48 ! shmringsink channel=%s", name);
  GstHarness *h;
  guint i;

  gst_element_set_state (p, GST_STATE_PLAYING);
  h = src_harness (name, NULL);
  for (i = 0; i < 3; i++) {
    GstBuffer *b = gst_harness_pull (h);
    GstMapInfo map;

    fail_unless (gst_buffer_map (b, &map, GST_MAP_READ));
    fail_unless (in_segment (name, map.data), "buffer is not pool memory");
    gst_buffer_unmap (b, &map);
    fail_unless (GST_MEMORY_IS_READONLY (gst_buffer_peek_memory (b, 0)));
    fail_if (gst_memory_map (gst_buffer_peek_memory (b, 0), &map,
            GST_MAP_WRITE));
    gst_buffer_unref (b);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  gst_harness_teardown (h);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* Downstream that keeps every frame (an encoder's look-ahead): the source
 * lends frames while a hold stays free, then copies each frame and gives
 * it back, so every frame still arrives, in order, and nothing waits for a
 * release that never comes. */
GST_START_TEST (test_src_downstream_keeps_every_frame)
{
  gchar *name = channel_name ("keepall");
  GstElement *p = parse ("videotestsrc num-buffers=40 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink channel=%s sync=false",
      name);
  GstBuffer *b[40];
  GstHarness *h;
  GstElement *src;
  guint i, lent = 0;
  guint64 copied;

  gst_element_set_state (p, GST_STATE_PLAYING);
  h = src_harness (name, "holds=2");
  for (i = 0; i < G_N_ELEMENTS (b); i++) {
    GstMapInfo map;

    b[i] = gst_harness_pull (h);
    fail_unless (b[i] != NULL);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b[i]), i);
    fail_unless (gst_buffer_map (b[i], &map, GST_MAP_READ));
    fail_unless_equals_int (map.size, 64 * 64);
    lent += in_segment (name, map.data);
    gst_buffer_unmap (b[i], &map);
  }
  /* holds - 1: the last hold stays free to take the next frame with;
   * the other 39 frames were copied */
  fail_unless_equals_int (lent, 1);
  src = gst_harness_find_element (h, "shmringsrc");
  g_object_get (src, "frames-copied", &copied, NULL);
  gst_object_unref (src);
  fail_unless_equals_uint64 (copied, 39);
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  for (i = 0; i < G_N_ELEMENTS (b); i++)
    gst_buffer_unref (b[i]);
  gst_harness_teardown (h);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* Frames freed in any order give their holds back: the source lends every
 * one of 300 frames, three held at once, only if every release counts
 * (else it copies). */
GST_START_TEST (test_release_any_order)
{
  gchar *name = channel_name ("order");
  GstElement *p = parse ("videotestsrc num-buffers=300 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink channel=%s max-holds=5 "
      "sync=false", name);
  GstHarness *h;
  GstBuffer *b[3];
  guint64 expect = 0;
  gchar *desc;
  guint i, k;

  gst_element_set_state (p, GST_STATE_PLAYING);
  /* The source lends at most one frame beyond the three the test holds:
   * with five holds, none is copied unless a release is lost. */
  desc = g_strdup_printf ("shmringsrc channel=%s", name);
  h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_blocking_push_mode (h);
  gst_harness_play (h);
  for (i = 0; i < 100; i++) {
    for (k = 0; k < 3; k++) {
      GstMapInfo map;

      b[k] = gst_harness_pull (h);
      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b[k]), expect);
      fail_unless (gst_buffer_map (b[k], &map, GST_MAP_READ));
      fail_unless (in_segment (name, map.data), "frame %" G_GUINT64_FORMAT
          " copied: a hold was not given back", expect);
      gst_buffer_unmap (b[k], &map);
      expect++;
    }
    /* middle, last, first */
    gst_buffer_unref (b[1]);
    gst_buffer_unref (b[2]);
    gst_buffer_unref (b[0]);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  gst_harness_teardown (h);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* One reader over max-readers fails with the library's message: the
 * channel, the limit and the pids of the readers. */
GST_START_TEST (test_reader_over_limit)
{
  gchar *name = channel_name ("limit");
  GstElement *p = parse ("videotestsrc is-live=true ! shmringsink channel=%s "
      "policy=live max-readers=2", name);
  GstHarness *h[2];
  GstElement *c;
  GstMessage *msg;
  GstBuffer *b;
  gchar *text, *pids = g_strdup_printf ("pids: %d %d", (int) getpid (),
      (int) getpid ());
  guint i;

  gst_element_set_state (p, GST_STATE_PLAYING);
  for (i = 0; i < 2; i++) {
    h[i] = src_harness (name, NULL);
    b = gst_harness_pull (h[i]);        /* attached */
    gst_buffer_unref (b);
  }
  c = parse ("shmringsrc channel=%s ! fakesink", name);
  gst_element_set_state (c, GST_STATE_PLAYING);
  msg = wait_bus (c, GST_MESSAGE_ERROR);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, "2 readers, its limit") != NULL, "%s", text);
  fail_unless (strstr (text, pids) != NULL, "%s", text);
  fail_unless (strstr (text, "max-readers") != NULL, "%s", text);
  g_free (text);
  g_free (pids);
  gst_message_unref (msg);
  stop_pipeline (c);
  /* the two readers go on */
  for (i = 0; i < 2; i++) {
    b = gst_harness_pull (h[i]);
    gst_buffer_unref (b);
    gst_harness_teardown (h[i]);
  }
  stop_and_check_gone (p, name);
}

GST_END_TEST;

GST_START_TEST (test_timeout_error)
{
  gchar *name = channel_name ("nobody");
  GstElement *c = parse ("shmringsrc channel=%s timeout=100000000 ! fakesink",
      name);
  GstMessage *msg;
  gchar *text;

  gst_element_set_state (c, GST_STATE_PLAYING);
  msg = wait_bus (c, GST_MESSAGE_ERROR);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, "No producer") != NULL, "%s", text);
  g_free (text);
  gst_message_unref (msg);
  stop_pipeline (c);
  g_free (name);
}

GST_END_TEST;

/* A producer that stops without EOS is an error naming the channel. */
GST_START_TEST (test_producer_gone_error)
{
  gchar *name = channel_name ("gone");
  GstElement *p = parse ("videotestsrc is-live=true ! video/x-raw,width=64,"
      "height=48 ! shmringsink channel=%s policy=live", name);
  GstHarness *h;
  GstBuffer *b;
  GstFlowReturn ret = GST_FLOW_OK;
  GstElement *src;
  GstBus *bus;
  GstMessage *msg;
  gchar *text;

  gst_element_set_state (p, GST_STATE_PLAYING);
  h = src_harness (name, NULL);
  bus = gst_bus_new ();
  src = gst_harness_find_element (h, "shmringsrc");
  gst_element_set_bus (src, bus);
  b = gst_harness_pull (h);
  gst_buffer_unref (b);
  stop_pipeline (p);
  /* the source ends its stream with an error */
  msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, "without end of stream") != NULL, "%s", text);
  fail_unless (strstr (text, "gst-launch-1.0 -e") != NULL, "%s", text);
  fail_unless (strstr (text, "reconnect=true") != NULL, "%s", text);
  g_free (text);
  gst_message_unref (msg);
  (void) ret;
  gst_element_set_bus (src, NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_harness_teardown (h);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

typedef struct
{
  GMutex lock;
  GCond cond;
  guint count;
} Counter;

static void wait_count (Counter * c, guint n);

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Counter *c = data;

  (void) pad;
  (void) info;
  g_mutex_lock (&c->lock);
  c->count++;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

/* A sink waiting for a reader (wait-for-reader=true) and one blocked on a
 * lossless reader's full queue, and a source waiting for a producer that
 * never comes, all stop at once, 50 times each. */
GST_START_TEST (test_state_cycles_unblock)
{
  gchar *name = channel_name ("cycle");
  gchar *none = channel_name ("nothere");
  Counter c;
  guint i;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  for (i = 0; i < 100; i++) {
    /* even: no reader, the first frame waits for one; odd: a reader that
     * takes nothing, its queue of 2 is full and the 3rd frame waits in the
     * sink's pool */
    GstElement *p = parse ("videotestsrc ! video/x-raw,format=GRAY8,width=64,"
        "height=64 ! identity name=i ! shmringsink channel=%s "
        "wait-for-reader=true sync=false", name);
    GstElement *q = parse ("shmringsrc channel=%s ! fakesink", none);
    GstElement *id = gst_bin_get_by_name (GST_BIN (p), "i");
    GstPad *pad = gst_element_get_static_pad (id, "src");
    shmring_consumer *reader = NULL;
    guint want = 1;

    c.count = 0;
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
    gst_element_set_state (p, GST_STATE_PLAYING);
    gst_element_set_state (q, GST_STATE_PLAYING);
    if (i % 2) {
      fail_unless_equals_int (shmring_consumer_attach (name, NULL,
              20 * GST_SECOND, &reader), 0);
      want = 2;                 /* the pool's 3rd reservation waits */
    }
    wait_count (&c, want);
    gst_object_unref (pad);
    gst_object_unref (id);
    stop_pipeline (p);
    stop_pipeline (q);
    shmring_consumer_close (reader);
    fail_unless (!channel_exists (name));
  }
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (name);
  g_free (none);
}

GST_END_TEST;

/* Blocks the first buffer whose offset is gate->at or more until the probe
 * is removed,
 * and says when it got there. */
typedef struct
{
  Counter c;
  guint64 at;
} Gate;

static GstPadProbeReturn
gate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Gate *g = data;

  if (GST_BUFFER_OFFSET (GST_PAD_PROBE_INFO_BUFFER (info)) < g->at)
    return GST_PAD_PROBE_PASS;
  return count_probe (pad, info, &g->c);
}

/* drop-new with frames rendered in the pool through the sink's pool: a
 * reader stalled by a blocking probe misses frames, each counted once:
 * the sink's frames-dropped equals the reader's gaps, and received plus
 * missed equals the frames sent. */
GST_START_TEST (test_drops_counted_once)
{
  gchar *name = channel_name ("drops");
  GstElement *p = parse ("videotestsrc num-buffers=40 ! video/x-raw,"
      "format=GRAY8,width=64,height=64,framerate=100/1 ! shmringsink name=s "
      "channel=%s policy=drop-new", name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstElement *src;
  GstPad *pad;
  GstHarness *h;
  GstBuffer *b = NULL;
  guint64 written, dropped, missed, received, copied, n, last = 0;
  Gate g = {.at = 3 };
  gulong probe;

  g_mutex_init (&g.c.lock);
  g_cond_init (&g.c.cond);
  h = src_harness (name, NULL);
  src = gst_harness_find_element (h, "shmringsrc");
  pad = gst_element_get_static_pad (src, "src");
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, gate_probe, &g, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  /* The reader stalls at frame 3 while the sink goes on to the end. */
  wait_count (&g.c, 1);
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  g_object_get (s, "frames-written", &written, "frames-dropped", &dropped,
      "frames-copied", &copied, NULL);
  gst_pad_remove_probe (pad, probe);
  /* Closing the sink ends the reader's stream: the end of stream may
   * have found its queue full too. */
  stop_pipeline (p);
  n = 0;
  while (gst_harness_pull_until_eos (h, &b) && b) {
    n++;
    last = GST_BUFFER_OFFSET (b);
    gst_buffer_unref (b);
  }
  g_object_get (src, "frames-received", &received, "frames-missed", &missed,
      NULL);
  fail_unless_equals_uint64 (written, 40);
  fail_unless_equals_uint64 (copied, 0);        /* the pool path */
  fail_unless_equals_uint64 (n, received);
  fail_unless (received < 40, "the stalled reader lost nothing");
  /* each lost frame is counted once by the sink (the library also counts
   * an end of stream that found the queue full) */
  fail_unless (dropped == 40 - received || dropped == 41 - received,
      "%" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT " received",
      dropped, received);
  /* every lost frame is one missing sequence number, between frames or
   * after the last one the reader got */
  fail_unless (last <= 39);
  fail_unless_equals_uint64 (missed + (39 - last), 40 - received);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_object_unref (s);
  gst_harness_teardown (h);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&g.c.lock);
  g_cond_clear (&g.c.cond);
  g_free (name);
}

GST_END_TEST;

/* Caps that disagree with the frame layout the producer describes are an
 * error naming the channel, never a read past the buffer downstream. */
GST_START_TEST (test_caps_disagree_with_layout)
{
  gchar *name = channel_name ("geom");
  struct shmring_producer_options opts = { 0 };
  struct shmring_stream_info si;
  shmring_producer *prod = NULL;
  gpointer frame = g_malloc0 (4096);
  GstElement *c;
  GstMessage *msg;
  gchar *text;

  memset (&si, 0, sizeof si);
  si.caps = "video/x-raw,format=GRAY8,width=640,height=480,framerate=30/1";
  si.format = "GRAY8";
  si.width = 64;
  si.height = 64;
  si.fps_n = 30;
  si.fps_d = 1;
  si.n_planes = 1;
  si.frame_size = 4096;
  si.plane_stride[0] = 64;
  opts.slot_size = 4096;
  fail_unless_equals_int (shmring_producer_create (name, &opts, &prod), 0);
  fail_unless_equals_int (shmring_producer_set_stream (prod, &si), 0);
  c = parse ("shmringsrc channel=%s ! videoconvert ! fakesink", name);
  gst_element_set_state (c, GST_STATE_PLAYING);
  wait_readers (name, 1);
  fail_unless_equals_int (shmring_producer_write (prod, frame, 4096, NULL, 0),
      0);
  msg = wait_bus (c, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, "640x480") != NULL, "%s", text);
  g_free (text);
  gst_message_unref (msg);
  stop_pipeline (c);
  shmring_producer_close (prod);
  fail_unless (!channel_exists (name));
  g_free (frame);
  g_free (name);
}

GST_END_TEST;

/* A source waiting for a channel that does not exist says which channel
 * and file it waits for, and names the channels with a similar name. */
GST_START_TEST (test_waiting_source_says_why)
{
  gchar *name = channel_name ("cam"), *typo = channel_name ("cma");
  gchar *hint = g_strdup_printf ("did you mean '%s'?", name);
  struct shmring_producer_options opts = { 0 };
  shmring_producer *prod = NULL;
  GstElement *c;
  GstMessage *msg;
  gchar *text;

  opts.slot_size = 4096;
  fail_unless_equals_int (shmring_producer_create (name, &opts, &prod), 0);
  c = parse ("shmringsrc channel=%s ! fakesink", typo);
  gst_element_set_state (c, GST_STATE_PLAYING);
  msg = wait_bus (c, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_WARNING);
  text = error_text (msg);
  fail_unless (strstr (text, "Waiting for a producer") != NULL, "%s", text);
  fail_unless (strstr (text, typo) != NULL, "%s", text);
  fail_unless (strstr (text, hint) != NULL, "%s", text);
  g_free (text);
  gst_message_unref (msg);
  stop_pipeline (c);
  shmring_producer_close (prod);
  g_free (hint);
  g_free (typo);
  g_free (name);
}

GST_END_TEST;

/* The next element message with structure name on the bus, within 20 s. */
static GstStructure *
wait_element_message (GstElement * pipeline, const gchar * name)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstStructure *ret = NULL;

  while (ret == NULL) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);

    fail_unless (msg != NULL, "no \"%s\" message on the bus", name);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR, "error: %s",
        error_text (msg));
    if (gst_message_has_name (msg, name))
      ret = gst_structure_copy (gst_message_get_structure (msg));
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return ret;
}

static void
wait_count (Counter * c, guint n)
{
  gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  g_mutex_lock (&c->lock);
  while (c->count < n)
    fail_unless (g_cond_wait_until (&c->cond, &c->lock, end),
        "only %u of %u buffers", c->count, n);
  g_mutex_unlock (&c->lock);
}

/* A live source with no reader (wait-for-reader=auto) goes on, and a
 * reader attaching 2 s later starts at a current frame; with
 * wait-for-reader=true the sink waits for a reader, which gets the first. */
GST_START_TEST (test_live_source_no_reader)
{
  const gchar *modes[] = { "auto", "true" };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    gchar *name = channel_name ("live");
    GstElement *p = parse ("videotestsrc is-live=true ! video/x-raw,"
        "format=GRAY8,width=64,height=48,framerate=30/1 ! shmringsink "
        "name=s channel=%s wait-for-reader=%s", name, modes[m]);
    GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
    GstPad *pad = gst_element_get_static_pad (s, "sink");
    GstStructure *st;
    GstHarness *h;
    GstBuffer *b;
    Counter c = { 0 };
    gboolean wait = TRUE;
    guint sent;

    g_mutex_init (&c.lock);
    g_cond_init (&c.cond);
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
    gst_element_set_state (p, GST_STATE_PLAYING);
    st = wait_element_message (p, "shmring-wait-for-reader");
    fail_unless (gst_structure_get_boolean (st, "wait", &wait));
    fail_unless_equals_int (wait, m == 1);
    if (m == 0)
      fail_unless (strstr (gst_structure_get_string (st, "reason"),
              "frames go on without a reader") != NULL);
    gst_structure_free (st);

    /* auto: 2 s of frames, nobody reading; true: the first frame waits */
    wait_count (&c, m == 0 ? 60 : 1);
    g_mutex_lock (&c.lock);
    sent = c.count;
    g_mutex_unlock (&c.lock);
    h = src_harness (name, NULL);
    b = gst_harness_pull (h);
    if (m == 0)
      fail_unless (GST_BUFFER_OFFSET (b) + 2 >= sent, "first frame %"
          G_GUINT64_FORMAT " of %u: stale", GST_BUFFER_OFFSET (b), sent);
    else
      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), 0);
    gst_buffer_unref (b);

    gst_harness_teardown (h);
    gst_object_unref (pad);
    gst_object_unref (s);
    stop_pipeline (p);
    fail_unless (!channel_exists (name));
    g_mutex_clear (&c.lock);
    g_cond_clear (&c.cond);
    g_free (name);
  }
}

GST_END_TEST;

/* A short file with no reader: the sink waits for a first reader before
 * its first frame, and that reader gets every frame and the end of
 * stream. */
GST_START_TEST (test_short_file_waits_for_reader)
{
  gchar *name = channel_name ("short");
  GstElement *p = parse ("videotestsrc num-buffers=5 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink name=s channel=%s", name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstPad *pad = gst_element_get_static_pad (s, "sink");
  Counter c = { 0 };
  GstHarness *h;
  GstBuffer *b = NULL;
  GstMessage *msg;
  guint64 expect = 0, written;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  wait_count (&c, 1);
  g_object_get (s, "frames-written", &written, NULL);
  fail_unless_equals_uint64 (written, 0);
  h = src_harness (name, NULL);
  while (gst_harness_pull_until_eos (h, &b) && b) {
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), expect);
    expect++;
    gst_buffer_unref (b);
  }
  fail_unless_equals_uint64 (expect, 5);
  msg = wait_bus (p, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  gst_object_unref (pad);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (name);
}

GST_END_TEST;

/* A non-live source (a file) waits for the first reader and loses
 * nothing, and says so. */
GST_START_TEST (test_nonlive_source_waits_for_reader)
{
  gchar *name = channel_name ("file");
  GstElement *p = parse ("videotestsrc num-buffers=20 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink name=s channel=%s",
      name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstPad *pad = gst_element_get_static_pad (s, "sink");
  GstStructure *st;
  GstHarness *h;
  GstBuffer *b = NULL;
  GstElement *src;
  Counter c = { 0 };
  gboolean wait = FALSE;
  guint64 dropped, missed, expect = 0;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  st = wait_element_message (p, "shmring-wait-for-reader");
  fail_unless (gst_structure_get_boolean (st, "wait", &wait) && wait);
  fail_unless (strstr (gst_structure_get_string (st, "reason"),
          "waiting for a reader") != NULL);
  gst_structure_free (st);
  wait_count (&c, 1);           /* the first frame waits for a reader */

  h = src_harness (name, NULL);
  while (gst_harness_pull_until_eos (h, &b) && b) {
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), expect);
    expect++;
    gst_buffer_unref (b);
  }
  fail_unless_equals_uint64 (expect, 20);
  g_object_get (s, "frames-dropped", &dropped, NULL);
  fail_unless_equals_uint64 (dropped, 0);
  src = gst_harness_find_element (h, "shmringsrc");
  g_object_get (src, "frames-missed", &missed, NULL);
  fail_unless_equals_uint64 (missed, 0);
  gst_object_unref (src);

  gst_harness_teardown (h);
  gst_object_unref (pad);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (name);
}

GST_END_TEST;

static void
count_notify (GObject * obj, GParamSpec * pspec, gpointer data)
{
  (void) obj;
  (void) pspec;
  g_atomic_int_inc ((gint *) data);
}

/* reader-attached is notified, and a "shmring-reader" message posted,
 * when a reader attaches and when it leaves. */
GST_START_TEST (test_reader_attach_leave_messages)
{
  gchar *name = channel_name ("rdr");
  GstElement *p = parse ("videotestsrc is-live=true ! video/x-raw,"
      "format=GRAY8,width=64,height=48,framerate=100/1 ! shmringsink "
      "name=s channel=%s", name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstStructure *st;
  GstHarness *h;
  GstBuffer *b;
  gboolean attached = FALSE;
  gint pid = 0, notified = 0;
  guint readers = 0;

  gst_element_set_state (p, GST_STATE_PLAYING);
  g_signal_connect (s, "notify::reader-attached", G_CALLBACK (count_notify),
      &notified);
  h = src_harness (name, NULL);
  b = gst_harness_pull (h);
  gst_buffer_unref (b);
  st = wait_element_message (p, "shmring-reader");
  fail_unless (gst_structure_get_boolean (st, "attached", &attached));
  fail_unless (gst_structure_get_int (st, "pid", &pid));
  fail_unless (attached);
  fail_unless_equals_int (pid, (int) getpid ());
  fail_unless_equals_string (gst_structure_get_string (st, "channel"), name);
  gst_structure_free (st);
  fail_unless (g_atomic_int_get (&notified) >= 1);
  g_object_get (s, "reader-attached", &attached, "readers", &readers, NULL);
  fail_unless (attached);
  fail_unless_equals_int (readers, 1);

  gst_harness_teardown (h);
  st = wait_element_message (p, "shmring-reader");
  fail_unless (gst_structure_get_boolean (st, "attached", &attached));
  fail_unless (!attached);
  fail_unless (gst_structure_get_int (st, "pid", &pid));
  fail_unless_equals_int (pid, (int) getpid ());
  gst_structure_free (st);
  fail_unless (g_atomic_int_get (&notified) >= 2);
  g_object_get (s, "reader-attached", &attached, NULL);
  fail_unless (!attached);

  gst_object_unref (s);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* Readers that attach and leave are reported while no frame flows: one
 * buffer, then nothing, and a reader comes and goes. */
GST_START_TEST (test_reader_messages_without_frames)
{
  gchar *name = channel_name ("rdr-idle");
  GstElement *p = parse ("appsrc name=a format=time caps=application/x-test "
      "! shmringsink name=s channel=%s wait-for-reader=false", name);
  GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  shmring_consumer *c;
  GstStructure *st;
  gboolean attached = FALSE;
  guint readers = 9;
  gint pid = 0;

  gst_element_set_state (p, GST_STATE_PLAYING);
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
          make_buffer (64, 1)), GST_FLOW_OK);
  fail_unless_equals_int (shmring_consumer_attach (name, NULL,
          20 * GST_SECOND, &c), 0);
  st = wait_element_message (p, "shmring-reader");
  fail_unless (gst_structure_get_boolean (st, "attached", &attached));
  fail_unless (gst_structure_get_int (st, "pid", &pid));
  fail_unless (attached);
  fail_unless_equals_int (pid, (int) getpid ());
  gst_structure_free (st);
  g_object_get (s, "readers", &readers, NULL);
  fail_unless_equals_int (readers, 1);

  shmring_consumer_close (c);
  st = wait_element_message (p, "shmring-reader");
  fail_unless (gst_structure_get_boolean (st, "attached", &attached));
  fail_unless (!attached);
  gst_structure_free (st);
  g_object_get (s, "readers", &readers, "reader-attached", &attached, NULL);
  fail_unless_equals_int (readers, 0);
  fail_unless (!attached);

  gst_object_unref (a);
  gst_object_unref (s);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* Every raw format GStreamer knows (its own list: the one of 1.22, and of
 * 1.26 with its tiled formats) is published at odd and at tile-sized
 * dimensions, and a reader of the channel gets GStreamer's own layout: the
 * library's whole-plane checks accept it, packed 10-bit and tiled ones
 * included.  A format the library cannot check (one a later GStreamer adds
 * with tiles or packed groups of pixels) may instead be refused, with an
 * error that names it; nothing else is. */
GST_START_TEST (test_every_format_published)
{
  static const guint sizes[][2] = { {65, 33}, {128, 128} };
  gchar *name = channel_name ("formats");
  gchar *desc = g_strdup_printf ("shmringsink channel=%s "
      "wait-for-reader=false", name);
  const GstVideoFormat *formats;
  guint n_formats, i, s, published = 0, refused = 0;

  formats = gst_video_formats_raw (&n_formats);
  for (i = 0; i < n_formats; i++) {
    const gchar *fmt = gst_video_format_to_string (formats[i]);
    const GstVideoFormatInfo *finfo = gst_video_format_get_info (formats[i]);

    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstVideoInfo vi;
      GstHarness *h;
      GstBus *bus;
      GstFlowReturn ret;
      shmring_consumer *c;
      struct shmring_desc d;
      guint p;

      if (!gst_video_info_set_format (&vi, formats[i], sizes[s][0],
              sizes[s][1]) || GST_VIDEO_INFO_N_PLANES (&vi) > SHMRING_MAX_PLANES)
        continue;
      h = gst_harness_new_parse (desc);
      bus = gst_bus_new ();
      gst_element_set_bus (h->element, bus);
      gst_harness_set_src_caps (h, gst_video_info_to_caps (&vi));
      ret = gst_harness_push (h, gst_buffer_new_allocate (NULL,
              GST_VIDEO_INFO_SIZE (&vi), NULL));
      if (ret != GST_FLOW_OK) {
        GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
        gchar *text;

        fail_unless (msg != NULL, "%s %ux%u not published (%s), and no error",
            fmt, sizes[s][0], sizes[s][1], gst_flow_get_name (ret));
        text = error_text (msg);
        fail_unless (GST_VIDEO_FORMAT_INFO_IS_TILED (finfo) ||
            GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0) <= 0,
            "%s %ux%u not published: %s", fmt, sizes[s][0], sizes[s][1], text);
        fail_unless (strstr (text, fmt) != NULL,
            "%s %ux%u refused by an error that does not name it: %s", fmt,
            sizes[s][0], sizes[s][1], text);
        GST_INFO ("%s %ux%u refused: %s", fmt, sizes[s][0], sizes[s][1], text);
        g_free (text);
        gst_message_unref (msg);
        refused++;
      } else {
        /* What a reader that attaches now is told, checked as it reads it. */
        fail_unless_equals_int (shmring_consumer_attach (name, NULL,
                5 * GST_SECOND, &c), 0);
        fail_unless_equals_int (shmring_consumer_current_desc (c, &d), 0);
        shmring_consumer_close (c);
        fail_unless_equals_string (d.format, fmt);
        fail_unless (d.width == sizes[s][0] && d.height == sizes[s][1],
            "%s: %ux%u published as %ux%u", fmt, sizes[s][0], sizes[s][1],
            d.width, d.height);
        fail_unless_equals_int (d.n_planes, GST_VIDEO_INFO_N_PLANES (&vi));
        fail_unless_equals_uint64 (d.frame_size, GST_VIDEO_INFO_SIZE (&vi));
        for (p = 0; p < d.n_planes; p++)
          fail_unless (d.plane_offset[p] == GST_VIDEO_INFO_PLANE_OFFSET (&vi, p)
              && d.plane_stride[p] ==
              (guint) GST_VIDEO_INFO_PLANE_STRIDE (&vi, p),
              "%s %ux%u plane %u: offset %" G_GUINT64_FORMAT " stride %u, "
              "GStreamer's %" G_GSIZE_FORMAT " %d", fmt, sizes[s][0],
              sizes[s][1], p, (guint64) d.plane_offset[p], d.plane_stride[p],
              GST_VIDEO_INFO_PLANE_OFFSET (&vi, p),
              GST_VIDEO_INFO_PLANE_STRIDE (&vi, p));
        published++;
      }
      gst_element_set_bus (h->element, NULL);
      gst_object_unref (bus);
      gst_harness_teardown (h);
    }
  }
  /* Tiled formats have no odd-sized layout; the others have both sizes. */
  fail_unless (published > n_formats, "only %u layouts published, %u refused",
      published, refused);
  fail_unless (!channel_exists (name));
  g_free (desc);
  g_free (name);
}

GST_END_TEST;

/* A frame larger than the slots is one error, naming the max-frame-size
 * that holds it. */
GST_START_TEST (test_frame_too_large_once)
{
  gchar *name = channel_name ("big");
  GstElement *p = parse ("videotestsrc is-live=true name=v ! video/x-raw,"
      "format=BGR,width=1920,height=1080 ! shmringsink name=s channel=%s "
      "max-frame-size=4194304", name);
  GstBus *bus = gst_element_get_bus (p);
  guint from_sink = 0;
  gboolean done = FALSE;

  gst_element_set_state (p, GST_STATE_PLAYING);
  /* the source's "streaming stopped" error comes last */
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND,
        GST_MESSAGE_ERROR);
    gchar *text;

    fail_unless (msg != NULL, "no error from the source");
    text = error_text (msg);
    if (g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "s")) {
      from_sink++;
      fail_unless (strstr (text, "6220800") != NULL, "%s", text);
      fail_unless (strstr (text, "set max-frame-size=6220800 or more") !=
          NULL, "%s", text);
    } else {
      done = g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "v");
    }
    g_free (text);
    gst_message_unref (msg);
  }
  fail_unless_equals_int (from_sink, 1);
  gst_object_unref (bus);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* sequence=offset: frames keep the numbers in their buffer offsets (the
 * first sets the start, nothing lost); a jump is frames lost before the
 * channel, a gap the reader counts as dropped and frames_lost counts; a
 * buffer without an offset takes the next number; numbers that go back
 * (the sending channel restarted) go on after the last one, flagged
 * DISCONT (as appsrc marks the first), with a "shmring-sequence" message. */
GST_START_TEST (test_sequence_from_offsets)
{
  gchar *name = channel_name ("seq");
  GstElement *p = parse ("appsrc name=a format=time caps=application/x-test "
      "! shmringsink name=s channel=%s sequence=offset wait-for-reader=true "
      "queue-length=8", name);
  GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
  guint64 offsets[] = { 10, 11, 15, GST_BUFFER_OFFSET_NONE, 3, 4 };
  guint64 seqs[] = { 10, 11, 15, 16, 17, 18 };
  shmring_consumer *r;
  struct shmring_frame f;
  struct shmring_stats st;
  const GstStructure *gs;
  GstMessage *msg;
  guint64 v;
  guint i;

  gst_element_set_state (p, GST_STATE_PLAYING);
  for (i = 0; i < G_N_ELEMENTS (offsets); i++) {
    GstBuffer *b = make_buffer (64, (guint8) i);

    GST_BUFFER_OFFSET (b) = offsets[i];
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a), b),
        GST_FLOW_OK);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (a));
  /* wait-for-reader=true: the sink publishes nothing before this reader. */
  fail_unless_equals_int (shmring_consumer_attach (name, NULL,
          20 * GST_SECOND, &r), 0);
  for (i = 0; i < G_N_ELEMENTS (seqs); i++) {
    fail_unless_equals_int (shmring_consumer_next (r, &f, 20 * GST_SECOND,
            0), 1);
    fail_unless_equals_uint64 (f.seq, seqs[i]);
    fail_unless_equals_int (f.meta.flags & SHMRING_FLAG_DISCONT,
        (i == 0 || seqs[i] == 17) ? SHMRING_FLAG_DISCONT : 0);
    fail_unless_equals_int (shmring_consumer_release (r, &f), 0);
  }
  fail_unless_equals_int (shmring_consumer_next (r, &f, 20 * GST_SECOND, 0),
      0);
  fail_unless_equals_int (shmring_consumer_stats (r, &st), 0);
  fail_unless_equals_uint64 (st.frames_dropped, 3);
  fail_unless_equals_uint64 (st.frames_lost, 3);
  fail_unless_equals_uint64 (st.frames_written, 6);
  msg = wait_bus (p, GST_MESSAGE_ELEMENT);
  while (!gst_message_has_name (msg, "shmring-sequence")) {
    gst_message_unref (msg);
    msg = wait_bus (p, GST_MESSAGE_ELEMENT);
  }
  gs = gst_message_get_structure (msg);
  fail_unless (gst_structure_get_uint64 (gs, "offset", &v) && v == 3);
  fail_unless (gst_structure_get_uint64 (gs, "seq", &v) && v == 17);
  fail_unless_equals_string (gst_structure_get_string (gs, "channel"), name);
  gst_message_unref (msg);
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  shmring_consumer_close (r);
  gst_object_unref (a);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* The slots are sized from the first caps: caps of larger frames later
 * are an error naming the max-frame-size that holds them. */
GST_START_TEST (test_caps_change_larger_than_slots)
{
  gchar *name = channel_name ("grow");
  GstElement *p = parse ("appsrc name=a format=time ! shmringsink name=s "
      "channel=%s wait-for-reader=false", name);
  GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
  GstCaps *small = gst_caps_from_string ("video/x-raw,format=GRAY8,width=64,"
      "height=64,framerate=30/1");
  GstCaps *big = gst_caps_from_string ("video/x-raw,format=GRAY8,width=128,"
      "height=128,framerate=30/1");
  GstMessage *msg;
  gchar *text;

  g_object_set (a, "caps", small, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
          make_buffer (4096, 1)), GST_FLOW_OK);
  g_object_set (a, "caps", big, NULL);
  gst_app_src_push_buffer (GST_APP_SRC (a), make_buffer (16384, 2));
  msg = wait_bus (p, GST_MESSAGE_ERROR);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, "16384 bytes") != NULL, "%s", text);
  fail_unless (strstr (text, "set max-frame-size=16384 or more") != NULL,
      "%s", text);
  g_free (text);
  gst_message_unref (msg);
  gst_caps_unref (small);
  gst_caps_unref (big);
  gst_object_unref (a);
  stop_and_check_gone (p, name);
}

GST_END_TEST;

/* Three shmringsrc on one lossless sink each get every frame, in order,
 * and the end of stream. */
GST_START_TEST (test_three_readers_lossless)
{
  gchar *name = channel_name ("three");
  GstElement *p = parse ("videotestsrc num-buffers=100 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink name=s channel=%s "
      "sync=false", name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstPad *pad = gst_element_get_static_pad (s, "sink");
  GstHarness *h[3];
  Gate g = {.at = 0 };
  gulong probe;
  guint i;

  g_mutex_init (&g.c.lock);
  g_cond_init (&g.c.cond);
  /* the first frame waits until the three readers are attached */
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, gate_probe, &g, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  wait_count (&g.c, 1);
  for (i = 0; i < 3; i++)
    h[i] = src_harness (name, NULL);
  wait_readers (name, 3);
  gst_pad_remove_probe (pad, probe);
  for (i = 0; i < 3; i++) {
    GstBuffer *b = NULL;
    guint64 expect = 0, missed;
    GstElement *src = gst_harness_find_element (h[i], "shmringsrc");

    while (gst_harness_pull_until_eos (h[i], &b) && b) {
      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), expect);
      expect++;
      gst_buffer_unref (b);
    }
    fail_unless_equals_uint64 (expect, 100);
    g_object_get (src, "frames-missed", &missed, NULL);
    fail_unless_equals_uint64 (missed, 0);
    gst_object_unref (src);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  for (i = 0; i < 3; i++)
    gst_harness_teardown (h[i]);
  gst_object_unref (pad);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&g.c.lock);
  g_cond_clear (&g.c.cond);
  g_free (name);
}

GST_END_TEST;

/* In live policy, and with the default policy (auto) from a live source,
 * a reader stalled by a blocking probe stops neither the sink nor another
 * reader; when it goes on, it has missed frames. */
static void
live_stalled_reader (const gchar * policy)
{
  gchar *name = channel_name ("stall");
  GstElement *p = parse ("videotestsrc is-live=true ! video/x-raw,"
      "format=GRAY8,width=64,height=48,framerate=100/1 ! shmringsink name=s "
      "channel=%s %s", name, policy);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstHarness *stalled, *h;
  GstElement *src;
  GstPad *pad;
  GstBuffer *b;
  Counter c = { 0 };
  guint64 prev = 0, written0, written, missed;
  gulong probe;
  guint i;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  gst_element_set_state (p, GST_STATE_PLAYING);
  stalled = src_harness (name, NULL);
  src = gst_harness_find_element (stalled, "shmringsrc");
  pad = gst_element_get_static_pad (src, "src");
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
  wait_count (&c, 1);
  g_object_get (s, "frames-written", &written0, NULL);

  h = src_harness (name, NULL);
  for (i = 0; i < 50; i++) {
    b = gst_harness_pull (h);
    fail_unless (b != NULL);
    fail_unless (i == 0 || GST_BUFFER_OFFSET (b) > prev);
    prev = GST_BUFFER_OFFSET (b);
    gst_buffer_unref (b);
  }
  g_object_get (s, "frames-written", &written, NULL);
  fail_unless (written >= written0 + 50, "the sink stalled: %"
      G_GUINT64_FORMAT " then %" G_GUINT64_FORMAT, written0, written);

  gst_pad_remove_probe (pad, probe);
  for (i = 0; i < 4; i++)
    gst_buffer_unref (gst_harness_pull (stalled));
  g_object_get (src, "frames-missed", &missed, NULL);
  fail_unless (missed > 0, "the stalled reader missed nothing");

  gst_object_unref (pad);
  gst_object_unref (src);
  gst_harness_teardown (h);
  gst_harness_teardown (stalled);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (name);
}

GST_START_TEST (test_live_stalled_reader)
{
  live_stalled_reader ("policy=live");
  live_stalled_reader ("");
}

GST_END_TEST;

/* A latest=true reader, stalled, never holds back a lossless sink. */
GST_START_TEST (test_latest_never_blocks_lossless)
{
  gchar *name = channel_name ("latest");
  GstElement *p = parse ("videotestsrc num-buffers=50 ! video/x-raw,"
      "format=GRAY8,width=64,height=64,framerate=100/1 ! shmringsink name=s "
      "channel=%s policy=lossless", name);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstHarness *h = src_harness (name, "latest=true");
  GstElement *src = gst_harness_find_element (h, "shmringsrc");
  GstPad *pad = gst_element_get_static_pad (src, "src");
  Counter c = { 0 };
  guint64 written;
  gulong probe;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  wait_count (&c, 1);
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  g_object_get (s, "frames-written", &written, NULL);
  fail_unless_equals_uint64 (written, 50);
  gst_pad_remove_probe (pad, probe);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_harness_teardown (h);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (name);
}

GST_END_TEST;

typedef struct
{
  GstBufferPool *pool;
  GstBuffer *buf;
  GstFlowReturn ret;
} Acquire;

static gpointer
acquire_thread (gpointer data)
{
  Acquire *a = data;

  a->ret = gst_buffer_pool_acquire_buffer (a->pool, &a->buf, NULL);
  return NULL;
}

static guint8
first_byte (GstBuffer * buf)
{
  guint8 b = 0;

  gst_buffer_extract (buf, 0, &b, 1);
  return b;
}

/* The sink's pool lends at most two slots: a third acquire waits for one
 * to come back and ends on a flush; once both are published and still
 * held, it gets system memory at once instead of waiting for ever; and a
 * published slot still held is never rewritten while the sink copies
 * other frames.  (A queue before the sink holds pool buffers this way.) */
GST_START_TEST (test_pool_lends_two)
{
  gchar *name = channel_name ("lend");
  gchar *desc = g_strdup_printf ("shmringsink channel=%s policy=live "
      "wait-for-reader=false sync=false", name);
  GstHarness *h = gst_harness_new_parse (desc);
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=GRAY8,width=64,"
      "height=64,framerate=30/1");
  GstQuery *q;
  GstBufferPool *pool = NULL;
  GstStructure *config;
  guint size, min, max, i;
  GstBuffer *a, *b, *c;
  Acquire t = { 0 };
  GThread *th;
  GstBufferPoolAcquireParams dontwait = {.flags =
        GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT
  };

  gst_harness_set_src_caps (h, gst_caps_ref (caps));
  q = gst_query_new_allocation (caps, TRUE);
  fail_unless (gst_pad_peer_query (h->srcpad, q));
  fail_unless (gst_query_get_n_allocation_pools (q) > 0);
  gst_query_parse_nth_allocation_pool (q, 0, &pool, &size, &min, &max);
  gst_query_unref (q);
  fail_unless (pool != NULL);
  fail_unless_equals_int (max, 2);

  /* Asking for three at once is refused: the caller makes its own pool. */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, 3, 0);
  fail_if (gst_buffer_pool_set_config (pool, config));
  config = gst_buffer_pool_get_config (pool);
  fail_unless (gst_buffer_pool_config_validate_params (config, caps, size, 2,
          2));
  fail_if (gst_buffer_pool_config_validate_params (config, caps, size, 3, 0));
  fail_unless (gst_buffer_pool_set_config (pool, config));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &a, NULL),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &b, NULL),
      GST_FLOW_OK);
  {
    GstMapInfo ma, mb;

    gst_buffer_map (a, &ma, GST_MAP_WRITE);
    gst_buffer_map (b, &mb, GST_MAP_WRITE);
    fail_unless (in_segment (name, ma.data), "a is not a slot");
    fail_unless (in_segment (name, mb.data), "b is not a slot");
    memset (ma.data, 0xa1, ma.size);
    memset (mb.data, 0xb2, mb.size);
    gst_buffer_unmap (a, &ma);
    gst_buffer_unmap (b, &mb);
  }

  /* Both out, neither published: no third slot without waiting. */
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &c,
          &dontwait), GST_FLOW_OK);
  {
    GstMapInfo mc;

    gst_buffer_map (c, &mc, GST_MAP_READ);
    fail_if (in_segment (name, mc.data), "a third slot was lent");
    gst_buffer_unmap (c, &mc);
  }
  gst_buffer_unref (c);

  /* A waiting acquire ends on a flush. */
  t.pool = pool;
  th = g_thread_new ("acquire", acquire_thread, &t);
  gst_buffer_pool_set_flushing (pool, TRUE);
  g_thread_join (th);
  fail_unless_equals_int (t.ret, GST_FLOW_FLUSHING);
  gst_buffer_pool_set_flushing (pool, FALSE);

  /* A waiting acquire gets the slot that comes back. */
  t.buf = NULL;
  th = g_thread_new ("acquire", acquire_thread, &t);
  gst_buffer_unref (a);
  g_thread_join (th);
  fail_unless_equals_int (t.ret, GST_FLOW_OK);
  {
    GstMapInfo ma;

    gst_buffer_map (t.buf, &ma, GST_MAP_WRITE);
    fail_unless (in_segment (name, ma.data), "the slot given back was not "
        "lent again");
    memset (ma.data, 0xa1, ma.size);
    gst_buffer_unmap (t.buf, &ma);
  }
  a = t.buf;

  /* Both published (rendered in place) and still held here, as videorate
   * holds a frame it may push again: an acquire does not wait for them. */
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (a)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (b)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &c, NULL),
      GST_FLOW_OK);
  {
    GstMapInfo mc;

    gst_buffer_map (c, &mc, GST_MAP_READ);
    fail_if (in_segment (name, mc.data), "a third slot was lent");
    gst_buffer_unmap (c, &mc);
  }
  gst_buffer_unref (c);

  /* Frames copied meanwhile (and a slot pushed a second time) never land
   * in the slots still held. */
  for (i = 0; i < 30; i++)
    fail_unless_equals_int (gst_harness_push (h, make_buffer (64 * 64, i)),
        GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (a)),
      GST_FLOW_OK);
  fail_unless_equals_int (first_byte (a), 0xa1);
  fail_unless_equals_int (first_byte (b), 0xb2);
  {
    GstElement *sink = gst_harness_find_element (h, "shmringsink");
    guint64 copied, written;

    g_object_get (sink, "frames-copied", &copied, "frames-written", &written,
        NULL);
    fail_unless_equals_uint64 (written, 33);
    fail_unless_equals_uint64 (copied, 31);
    gst_object_unref (sink);
  }
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  fail_unless (!channel_exists (name));
  g_free (desc);
  g_free (name);
}

GST_END_TEST;

/* policy=auto, the default: live from a live source, lossless from a
 * file; the choice is in the "shmring-wait-for-reader" message and in the
 * channel's header.  An explicit policy stays as set. */
GST_START_TEST (test_policy_auto)
{
  const struct
  {
    const gchar *src, *policy;
    guint32 want;
    gboolean is_auto;
    guint64 stall;              /* stall-timeout in force */
  } cases[] = {
    {"is-live=true", "", SHMRING_POLICY_LIVE, TRUE, 2 * GST_SECOND},
    {"", "", SHMRING_POLICY_LOSSLESS, TRUE, 0},
    {"is-live=true", "policy=lossless", SHMRING_POLICY_LOSSLESS, FALSE,
        2 * GST_SECOND},
    {"", "policy=drop-new", SHMRING_POLICY_DROP_NEW, FALSE, 0},
    {"is-live=true", "policy=lossless stall-timeout=0",
        SHMRING_POLICY_LOSSLESS, FALSE, 0},
    {"", "policy=lossless stall-timeout=5000000", SHMRING_POLICY_LOSSLESS,
        FALSE, 5000000},
  };
  const gchar *names[] = { "lossless", "drop-new", "live" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *name = channel_name ("auto");
    GstElement *p = parse ("videotestsrc %s ! video/x-raw,format=GRAY8,"
        "width=64,height=48,framerate=30/1 ! shmringsink channel=%s %s "
        "wait-for-reader=false", cases[i].src, name, cases[i].policy);
    GstStructure *st;
    struct shmring_stats stats;
    gboolean is_auto = !cases[i].is_auto;
    guint64 stall = G_MAXUINT64 - 1;

    gst_element_set_state (p, GST_STATE_PLAYING);
    st = wait_element_message (p, "shmring-wait-for-reader");
    fail_unless (gst_structure_get_uint64 (st, "stall-timeout", &stall));
    fail_unless_equals_uint64 (stall, cases[i].stall);
    fail_unless_equals_string (gst_structure_get_string (st, "policy"),
        names[cases[i].want]);
    fail_unless (gst_structure_get_boolean (st, "policy-auto", &is_auto));
    fail_unless_equals_int (is_auto, cases[i].is_auto);
    gst_structure_free (st);
    fail_unless_equals_int (shmring_inspect (name, &stats, NULL), 0);
    fail_unless_equals_int (stats.policy, cases[i].want);
    stop_and_check_gone (p, name);
  }
}

GST_END_TEST;

/* A recorder on a live channel (policy auto from a live source) loses
 * nothing through a hiccup of its own when a queue follows shmringsrc:
 * downstream of the queue stalls while the camera writes 50 frames, and
 * then every frame comes, in order.  Without the queue the same stall
 * loses frames (live reclaims them), which is what the queue is for. */
static void
recorder_hiccup (gboolean with_queue)
{
  gchar *name = channel_name ("rec");
  /* 30 fps and a sink queue of 8: the reader's own scheduling delays
   * (a loaded machine, valgrind) stay far below the queue's 266 ms. */
  GstElement *p = parse ("videotestsrc is-live=true ! video/x-raw,"
      "format=GRAY8,width=64,height=48,framerate=30/1 ! identity name=i ! "
      "shmringsink channel=%s queue-length=8", name);
  GstElement *id = gst_bin_get_by_name (GST_BIN (p), "i");
  GstPad *ipad = gst_element_get_static_pad (id, "src"), *pad;
  GstHarness *h;
  GstElement *blocked;
  Counter produced = { 0 }, stalled = { 0 };
  guint64 prev = 0, missed = 0;
  guint i, start;
  gulong probe;

  g_mutex_init (&produced.lock);
  g_cond_init (&produced.cond);
  g_mutex_init (&stalled.lock);
  g_cond_init (&stalled.cond);
  gst_pad_add_probe (ipad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &produced,
      NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  wait_count (&produced, 1);
  h = src_harness (name, with_queue ? "! queue name=q max-size-buffers=100 "
      "max-size-bytes=0 max-size-time=0" : NULL);
  gst_buffer_unref (gst_harness_pull (h));
  blocked = gst_harness_find_element (h, with_queue ? "queue" : "shmringsrc");
  pad = gst_element_get_static_pad (blocked, "src");
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, count_probe, &stalled, NULL);
  wait_count (&stalled, 1);
  /* The recorder's hiccup: 50 frames long (more than the sink's queue and
   * the source's holds together). */
  g_mutex_lock (&produced.lock);
  start = produced.count;
  g_mutex_unlock (&produced.lock);
  wait_count (&produced, start + 50);
  gst_pad_remove_probe (pad, probe);
  for (i = 0; i < 60; i++) {
    GstBuffer *b = gst_harness_pull (h);

    fail_unless (b != NULL);
    if (i > 0)
      missed += GST_BUFFER_OFFSET (b) - prev - 1;
    prev = GST_BUFFER_OFFSET (b);
    gst_buffer_unref (b);
  }
  if (with_queue) {
    fail_unless_equals_uint64 (missed, 0);
  } else {
    fail_unless (missed > 0, "a stalled reader without a queue missed "
        "nothing: the test stalls nothing");
  }
  gst_object_unref (pad);
  gst_object_unref (blocked);
  gst_harness_teardown (h);
  gst_object_unref (ipad);
  gst_object_unref (id);
  stop_and_check_gone (p, name);
  g_mutex_clear (&produced.lock);
  g_cond_clear (&produced.cond);
  g_mutex_clear (&stalled.lock);
  g_cond_clear (&stalled.cond);
}

GST_START_TEST (test_live_recorder_queue)
{
  recorder_hiccup (TRUE);
  recorder_hiccup (FALSE);
}

GST_END_TEST;

/* Wait (20 s at most) until channel name has n frames written. */
static void
wait_written (const gchar * name, guint64 n)
{
  struct shmring_stats st;
  gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;) {
    if (shmring_inspect (name, &st, NULL) == 0 && st.frames_written >= n)
      return;
    fail_unless (g_get_monotonic_time () < end, "channel %s never had %"
        G_GUINT64_FORMAT " frames", name, n);
    g_usleep (1000);
  }
}

/* Read the next frame of c within timeout ns: its seq, released; -1 if
 * none came. */
static gint64
next_seq (shmring_consumer * c, gint64 timeout)
{
  struct shmring_frame f;
  int r = shmring_consumer_next (c, &f, timeout, 0);

  if (r != 1) {
    fail_unless_equals_int (r, -ETIMEDOUT);
    return -1;
  }
  fail_unless_equals_int (shmring_consumer_release (c, &f), 0);
  return (gint64) f.seq;
}

/* A lossless reader that holds a frame and takes no more: without
 * stall-timeout (auto, upstream not live: off) the sink waits for it and
 * the other reader gets nothing more; with stall-timeout the sink goes on
 * after that long, the stuck reader is made live, a warning and a
 * "shmring-reader-stalled" message name its pid, the other reader loses
 * nothing and the stuck one finds the newest frames after a gap. */
GST_START_TEST (test_stall_timeout)
{
  const gchar *settings[] = { "", "stall-timeout=300000000" };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (settings); m++) {
    gchar *name = channel_name ("stall");
    GstElement *p = parse ("appsrc name=a format=time caps=application/x-test "
        "! shmringsink name=s channel=%s policy=lossless queue-length=2 "
        "wait-for-reader=false %s", name, settings[m]);
    GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
    struct shmring_consumer_options one = {.holds = 1 };
    shmring_consumer *stuck, *fast;
    struct shmring_frame held;
    struct shmring_stats st;
    GstStructure *s;
    GstMessage *msg;
    gchar *text, *want;
    guint64 stall = 1;
    gint pid = 0, i;

    gst_element_set_state (p, GST_STATE_PLAYING);
    /* the first buffer's caps create the channel: nobody reads it */
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
            make_buffer (64, 0)), GST_FLOW_OK);
    s = wait_element_message (p, "shmring-wait-for-reader");
    fail_unless (gst_structure_get_uint64 (s, "stall-timeout", &stall));
    fail_unless_equals_uint64 (stall, m == 0 ? 0 : 300 * GST_MSECOND);
    gst_structure_free (s);
    wait_written (name, 1);
    /* one hold: it takes frame 1 alone, not every queued one at once */
    fail_unless_equals_int (shmring_consumer_attach (name, &one,
            20 * GST_SECOND, &stuck), 0);
    fail_unless_equals_int (shmring_consumer_attach (name, NULL,
            20 * GST_SECOND, &fast), 0);
    wait_readers (name, 2);
    /* frame 1: the stuck reader takes it and holds it; then 2 and 3 fill
     * its queue, and 4 needs room in it */
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
            make_buffer (64, 1)), GST_FLOW_OK);
    fail_unless_equals_int (shmring_consumer_next (stuck, &held,
            20 * GST_SECOND, 0), 1);
    fail_unless_equals_uint64 (held.seq, 1);
    for (i = 2; i <= 4; i++)
      fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
              make_buffer (64, i)), GST_FLOW_OK);
    for (i = 1; i <= 3; i++)
      fail_unless_equals_int64 (next_seq (fast, 20 * GST_SECOND), i);
    if (m == 0) {
      /* the sink waits for the stuck reader as long as it takes */
      fail_unless_equals_int64 (next_seq (fast, GST_SECOND), -1);
      fail_unless_equals_int (shmring_consumer_release (stuck, &held), 0);
      fail_unless_equals_int64 (next_seq (stuck, 20 * GST_SECOND), 2);
      fail_unless_equals_int64 (next_seq (fast, 20 * GST_SECOND), 4);
    } else {
      fail_unless_equals_int64 (next_seq (fast, 20 * GST_SECOND), 4);
      msg = wait_bus (p, GST_MESSAGE_WARNING);
      text = error_text (msg);
      want = g_strdup_printf ("pid %d ", (int) getpid ());
      fail_unless (strstr (text, want) && strstr (text, "stall-timeout"),
          "the warning names neither pid nor property: %s", text);
      g_free (want);
      g_free (text);
      gst_message_unref (msg);
      s = wait_element_message (p, "shmring-reader-stalled");
      fail_unless (gst_structure_get_int (s, "pid", &pid));
      fail_unless_equals_int (pid, (int) getpid ());
      gst_structure_free (s);
      /* live now: the sink goes on, pushing its oldest entries out */
      for (i = 5; i <= 8; i++) {
        fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a),
                make_buffer (64, i)), GST_FLOW_OK);
        fail_unless_equals_int64 (next_seq (fast, 20 * GST_SECOND), i);
      }
      fail_unless_equals_int (shmring_inspect (name, &st, NULL), 0);
      for (i = 0; i < (gint) SHMRING_MAX_READERS; i++)
        if (st.reader[i].flags & SHMRING_READER_STALLED)
          fail_unless_equals_uint64 (st.reader[i].frames_dropped, 5);
      fail_unless_equals_int (shmring_consumer_release (stuck, &held), 0);
      /* 2..6 pushed out: the newest two after a gap */
      fail_unless_equals_int64 (next_seq (stuck, 20 * GST_SECOND), 7);
      fail_unless_equals_int64 (next_seq (stuck, 20 * GST_SECOND), 8);
      fail_unless_equals_int (shmring_consumer_stats (stuck, &st), 0);
      fail_unless_equals_uint64 (st.frames_dropped, 5);
      fail_unless_equals_int (shmring_consumer_stats (fast, &st), 0);
      fail_unless_equals_uint64 (st.frames_dropped, 0);
    }
    shmring_consumer_close (stuck);
    shmring_consumer_close (fast);
    gst_object_unref (a);
    stop_and_check_gone (p, name);
  }
}

GST_END_TEST;

static Suite *
shmring_elements_suite (void)
{
  Suite *s = suite_create ("shmring_elements");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_channel_defaults_to_name_and_ready_only);
  tcase_add_test (tc, test_invalid_channel_name);
  tcase_add_test (tc, test_roundtrip_meta);
  tcase_add_test (tc, test_nonraw_and_caps_change);
  tcase_add_test (tc, test_eos);
  tcase_add_test (tc, test_zero_copy_sink);
  tcase_add_test (tc, test_zero_copy_src);
  tcase_add_test (tc, test_release_any_order);
  tcase_add_test (tc, test_src_downstream_keeps_every_frame);
  tcase_add_test (tc, test_reader_over_limit);
  tcase_add_test (tc, test_timeout_error);
  tcase_add_test (tc, test_producer_gone_error);
  tcase_add_test (tc, test_state_cycles_unblock);
  tcase_add_test (tc, test_drops_counted_once);
  tcase_add_test (tc, test_caps_disagree_with_layout);
  tcase_add_test (tc, test_waiting_source_says_why);
  tcase_add_test (tc, test_live_source_no_reader);
  tcase_add_test (tc, test_nonlive_source_waits_for_reader);
  tcase_add_test (tc, test_short_file_waits_for_reader);
  tcase_add_test (tc, test_three_readers_lossless);
  tcase_add_test (tc, test_caps_change_larger_than_slots);
  tcase_add_test (tc, test_sequence_from_offsets);
  tcase_add_test (tc, test_live_stalled_reader);
  tcase_add_test (tc, test_latest_never_blocks_lossless);
  tcase_add_test (tc, test_reader_attach_leave_messages);
  tcase_add_test (tc, test_reader_messages_without_frames);
  tcase_add_test (tc, test_frame_too_large_once);
  tcase_add_test (tc, test_every_format_published);
  tcase_add_test (tc, test_pool_lends_two);
  tcase_add_test (tc, test_policy_auto);
  tcase_add_test (tc, test_live_recorder_queue);
  tcase_add_test (tc, test_stall_timeout);
  return s;
}

GST_CHECK_MAIN (shmring_elements);
