/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_elements.c: GstCheck tests of shmringsink and shmringsrc within one process. */
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <shmring/shmring.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* A channel name private to this process and test. */
static gchar *
channel_name (const gchar * tag)
{
  return g_strdup_printf ("t-gst-%d-%s", (int) getpid (), tag);
}

static gboolean
channel_exists (const gchar * name)
{
  gchar *path = g_strconcat (SHMRING_PATH_PREFIX, name, NULL);
  gboolean ret = g_file_test (path, G_FILE_TEST_EXISTS);

  g_free (path);
  return ret;
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
  guint perm;
  gint policy;
  gint64 timeout;
  gboolean b;

  fail_unless (sink && src);
  g_object_get (sink, "channel", &s, "size", &size, "permissions", &perm,
      "policy", &policy, "frames-written", &n, NULL);
  fail_unless (s == NULL);
  fail_unless_equals_uint64 (size, 64 * 1024 * 1024);
  fail_unless_equals_int (perm, 0600);
  fail_unless_equals_int (policy, SHMRING_POLICY_LOSSLESS);
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
  ASSERT_WARNING (g_object_set (sink, "permissions", 01000, NULL));
  g_object_get (sink, "permissions", &perm, NULL);
  fail_unless_equals_int (perm, 0600);
  ASSERT_WARNING (g_object_set (sink, "size", (guint64) 100, NULL));

  g_object_get (src, "timeout", &timeout, "reconnect", &b, NULL);
  fail_unless_equals_int64 (timeout, -1);
  fail_unless (!b);
  g_object_get (src, "latest", &b, "frames-received", &n, NULL);
  fail_unless (!b);
  fail_unless_equals_uint64 (n, 0);
  ASSERT_WARNING (g_object_set (src, "timeout", (gint64) - 5, NULL));

  /* Read-only counters cannot be written. */
  ASSERT_WARNING (g_object_set (src, "frames-received", (guint64) 5, NULL));
  ASSERT_WARNING (g_object_set (sink, "frames-dropped", (guint64) 5, NULL));

  gst_object_unref (sink);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_channel_defaults_to_name_and_ready_only)
{
  gchar *name = channel_name ("named");
  GstElement *p = parse ("fakesrc ! shmringsink name=%s async=false", name);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), name);

  fail_unless (!channel_exists (name));
  fail_unless (gst_element_set_state (p, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (channel_exists (name), "channel not named after the element");
  /* channel, size and policy are fixed once started */
  ASSERT_WARNING (g_object_set (sink, "channel", "other", NULL));
  ASSERT_WARNING (gst_util_set_object_arg (G_OBJECT (sink), "policy", "live"));
  ASSERT_WARNING (gst_util_set_object_arg (G_OBJECT (sink), "wait-for-reader",
          "false"));
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

  g_object_get (s, "frames-copied", &copied, "frames-written", &written, NULL);
  fail_unless_equals_uint64 (written, 3);
  fail_unless_equals_uint64 (copied, 3);        /* system memory: one copy each */

  for (i = 0; i < 3; i++)
    gst_buffer_unref (in[i]);
  gst_harness_teardown (h);
  gst_object_unref (a);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
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
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
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
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

/* TRUE if addr lies in a mapping of the channel's segment file. */
static gboolean
in_segment (const gchar * name, gconstpointer addr)
{
  gchar *path = g_strconcat (SHMRING_PATH_PREFIX, name, NULL);
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
    fail_unless (in_segment (name, map.data), "buffer is not ring memory");
    gst_buffer_unmap (b, &map);
    fail_unless (GST_MEMORY_IS_READONLY (gst_buffer_peek_memory (b, 0)));
    fail_if (gst_memory_map (gst_buffer_peek_memory (b, 0), &map,
            GST_MAP_WRITE));
    gst_buffer_unref (b);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  gst_harness_teardown (h);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

/* Frames freed in any order give their space back: with a ring of five
 * frames, 300 lossless frames pass only if every release counts. */
GST_START_TEST (test_release_any_order)
{
  gchar *name = channel_name ("order");
  GstElement *p = parse ("videotestsrc num-buffers=300 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink channel=%s size=%u "
      "sync=false", name, 5 * 4160);
  GstHarness *h;
  GstBuffer *b[3];
  guint64 expect = 0;
  guint i, k;

  gst_element_set_state (p, GST_STATE_PLAYING);
  h = src_harness (name, NULL);
  for (i = 0; i < 100; i++) {
    for (k = 0; k < 3; k++) {
      b[k] = gst_harness_pull (h);
      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b[k]), expect);
      expect++;
    }
    /* middle, last, first */
    gst_buffer_unref (b[1]);
    gst_buffer_unref (b[2]);
    gst_buffer_unref (b[0]);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));
  gst_harness_teardown (h);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_second_reader_refused)
{
  gchar *name = channel_name ("second");
  GstElement *p = parse ("videotestsrc is-live=true ! shmringsink channel=%s "
      "policy=live", name);
  GstHarness *h;
  GstElement *c;
  GstMessage *msg;
  GstBuffer *b;
  gchar *text, *pid = g_strdup_printf ("pid %d", (int) getpid ());

  gst_element_set_state (p, GST_STATE_PLAYING);
  h = src_harness (name, NULL);
  b = gst_harness_pull (h);     /* the first reader is attached */
  gst_buffer_unref (b);
  c = parse ("shmringsrc channel=%s ! fakesink", name);
  gst_element_set_state (c, GST_STATE_PLAYING);
  msg = wait_bus (c, GST_MESSAGE_ERROR);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, pid) != NULL, "%s", text);
  fail_unless (strstr (text, "already has a reader") != NULL, "%s", text);
  g_free (text);
  g_free (pid);
  gst_message_unref (msg);
  stop_pipeline (c);
  gst_harness_teardown (h);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
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

/* A sink blocked on a full lossless ring with no reader, and a source
 * waiting for a producer that never comes, both stop at once, 100 times. */
GST_START_TEST (test_state_cycles_unblock)
{
  gchar *name = channel_name ("cycle");
  gchar *none = channel_name ("nothere");
  Counter c;
  guint i;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  for (i = 0; i < 100; i++) {
    /* 3 frames fit; after the 3rd, the pool waits for room for the 4th */
    GstElement *p = parse ("videotestsrc ! video/x-raw,format=GRAY8,width=64,"
        "height=64 ! identity name=i ! shmringsink channel=%s size=%u "
        "sync=false", name, 3 * 4160);
    GstElement *q = parse ("shmringsrc channel=%s ! fakesink", none);
    GstElement *id = gst_bin_get_by_name (GST_BIN (p), "i");
    GstPad *pad = gst_element_get_static_pad (id, "src");

    c.count = 0;
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &c, NULL);
    gst_element_set_state (p, GST_STATE_PLAYING);
    gst_element_set_state (q, GST_STATE_PLAYING);
    g_mutex_lock (&c.lock);
    while (c.count < 3)
      g_cond_wait (&c.cond, &c.lock);
    g_mutex_unlock (&c.lock);
    gst_object_unref (pad);
    gst_object_unref (id);
    stop_pipeline (p);
    stop_pipeline (q);
    fail_unless (!channel_exists (name));
  }
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (name);
  g_free (none);
}

GST_END_TEST;

/* Blocks the buffer whose offset is gate->at until the probe is removed,
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

  if (GST_BUFFER_OFFSET (GST_PAD_PROBE_INFO_BUFFER (info)) != g->at)
    return GST_PAD_PROBE_PASS;
  return count_probe (pad, info, &g->c);
}

/* drop-new with frames rendered in the ring through the sink's pool: each
 * lost frame counts once, written + dropped equals the frames sent, and the
 * reader's sequence gaps equal the drops. */
GST_START_TEST (test_drops_counted_once)
{
  gchar *name = channel_name ("drops");
  GstElement *p = parse ("videotestsrc num-buffers=40 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! identity name=i ! shmringsink "
      "name=s channel=%s policy=drop-new size=%u sync=false", name, 3 * 4160);
  GstElement *id = gst_bin_get_by_name (GST_BIN (p), "i");
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  GstPad *pad = gst_element_get_static_pad (id, "src");
  GstElement *src;
  GstHarness *h;
  GstBuffer *b = NULL;
  guint64 written, dropped, missed, received, last = 0, copied;
  Gate g = { .at = 20 };
  gulong probe;
  guint i;

  g_mutex_init (&g.c.lock);
  g_cond_init (&g.c.cond);
  probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK |
      GST_PAD_PROBE_TYPE_BUFFER, gate_probe, &g, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  /* No reader: 3 frames fit, frames 3..20 find the ring full. */
  g_mutex_lock (&g.c.lock);
  while (g.c.count < 1)
    g_cond_wait (&g.c.cond, &g.c.lock);
  g_mutex_unlock (&g.c.lock);
  g_object_get (s, "frames-written", &written, "frames-dropped", &dropped,
      NULL);
  fail_unless_equals_uint64 (written, 3);

  h = src_harness (name, NULL);
  for (i = 0; i < 3; i++) {
    b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), i);
    gst_buffer_unref (b);
  }
  gst_pad_remove_probe (pad, probe);
  while (gst_harness_pull_until_eos (h, &b) && b) {
    last = GST_BUFFER_OFFSET (b);
    gst_buffer_unref (b);
  }
  gst_message_unref (wait_bus (p, GST_MESSAGE_EOS));

  g_object_get (s, "frames-written", &written, "frames-dropped", &dropped,
      "frames-copied", &copied, NULL);
  src = gst_harness_find_element (h, "shmringsrc");
  g_object_get (src, "frames-received", &received, "frames-missed", &missed,
      NULL);
  gst_object_unref (src);
  fail_unless_equals_uint64 (copied, 0);        /* the pool path */
  fail_unless (dropped >= 18, "dropped %" G_GUINT64_FORMAT, dropped);
  fail_unless_equals_uint64 (written + dropped, 40);
  fail_unless_equals_uint64 (received, written);
  /* every drop is one missing sequence number: between frames, or after
   * the last one the reader got */
  fail_unless (last <= 39);
  fail_unless_equals_uint64 (missed + (39 - last), dropped);

  gst_harness_teardown (h);
  gst_object_unref (pad);
  gst_object_unref (id);
  gst_object_unref (s);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_mutex_clear (&g.c.lock);
  g_cond_clear (&g.c.cond);
  g_free (name);
}

GST_END_TEST;

/* A producer made with the library (holding the producer lock), one frame
 * written, and the segment mapped writable to corrupt it as a hostile or
 * broken producer would. */
typedef struct
{
  shmring_producer *p;
  guint8 *seg;
  gsize len;
} Hostile;

static void
hostile_open (Hostile * x, const gchar * name, const gchar * caps,
    const gchar * format, guint w, guint h, guint n_planes,
    const guint64 * offsets, const guint32 * strides, guint64 frame_size)
{
  struct shmring_producer_options opts = { 0 };
  struct shmring_stream_info si;
  gchar *path = g_strconcat (SHMRING_PATH_PREFIX, name, NULL);
  gpointer frame = g_malloc0 (frame_size);
  struct stat st;
  guint i;
  int fd;

  memset (&si, 0, sizeof si);
  si.caps = caps;
  si.format = format;
  si.width = w;
  si.height = h;
  si.fps_n = 30;
  si.fps_d = 1;
  si.n_planes = n_planes;
  si.frame_size = frame_size;
  for (i = 0; i < n_planes; i++) {
    si.plane_offset[i] = offsets[i];
    si.plane_stride[i] = strides[i];
  }
  opts.ring_size = 1 << 20;
  fail_unless_equals_int (shmring_producer_create (name, &opts, &x->p), 0);
  fail_unless_equals_int (shmring_producer_set_stream (x->p, &si), 0);
  fail_unless_equals_int (shmring_producer_write (x->p, frame, frame_size,
          NULL, 0), 0);
  g_free (frame);
  fd = open (path, O_RDWR);
  fail_unless (fd >= 0 && fstat (fd, &st) == 0);
  x->len = st.st_size;
  x->seg = mmap (NULL, x->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fail_unless (x->seg != MAP_FAILED);
  close (fd);
  g_free (path);
}

/* The description of the first frame (id 1, slot 1). */
static struct shmring_desc *
hostile_desc (Hostile * x)
{
  return (struct shmring_desc *) (x->seg + SHMRING_DESC_OFFSET +
      1 * SHMRING_DESC_SLOT_SIZE);
}

static void
hostile_close (Hostile * x)
{
  munmap (x->seg, x->len);
  shmring_producer_close (x->p);
}

/* Run "shmringsrc ! videoconvert ! fakesink" on channel name: it must post
 * an error naming the channel, and the text of the error must hold want. */
static void
expect_src_error (const gchar * name, const gchar * want)
{
  GstElement *c = parse ("shmringsrc channel=%s ! videoconvert ! fakesink",
      name);
  GstMessage *msg;
  gchar *text;

  gst_element_set_state (c, GST_STATE_PLAYING);
  msg = wait_bus (c, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  text = error_text (msg);
  fail_unless (strstr (text, name) != NULL, "%s", text);
  fail_unless (strstr (text, want) != NULL, "'%s' not in: %s", want, text);
  g_free (text);
  gst_message_unref (msg);
  stop_pipeline (c);
}

/* A description whose planes do not fit the frame, or whose caps do not
 * match it, is an error, never a read past the buffer downstream. */
GST_START_TEST (test_hostile_plane_geometry)
{
  gchar *name = channel_name ("geom");
  const guint64 gray_off[] = { 0 }, i420_off[] = { 0, 4096, 5120 };
  const guint32 gray_stride[] = { 64 }, i420_stride[] = { 64, 32, 32 };
  const gchar *gray = "video/x-raw,format=GRAY8,width=64,height=64,"
      "framerate=30/1", *i420 = "video/x-raw,format=I420,width=64,height=64,"
      "framerate=30/1", *big = "video/x-raw,format=GRAY8,width=640,"
      "height=480,framerate=30/1";
  guint k;

  for (k = 0; k < 5; k++) {
    Hostile x;
    struct shmring_desc *d;
    const gchar *want = "does not fit";

    if (k < 3)
      hostile_open (&x, name, gray, "GRAY8", 64, 64, 1, gray_off, gray_stride,
          4096);
    else
      hostile_open (&x, name, i420, "I420", 64, 64, 3, i420_off, i420_stride,
          6144);
    d = hostile_desc (&x);
    fail_unless_equals_int (d->id, 1);
    switch (k) {
      case 0:                  /* one row fits, 64 rows do not */
        d->plane_stride[0] = 4000;
        break;
      case 1:                  /* rows shorter than the width */
        d->plane_stride[0] = 8;
        want = "plane 0";
        break;
      case 2:                  /* caps of a bigger frame than described */
        g_strlcpy (d->caps, big, SHMRING_CAPS_MAX);
        d->caps_len = strlen (big);
        want = "640x480";
        break;
      case 3:                  /* the last chroma plane runs past the end */
        d->plane_offset[2] = 5600;
        break;
      default:                 /* a plane offset far outside the frame */
        d->plane_offset[1] = G_GUINT64_CONSTANT (1) << 40;
        break;
    }
    expect_src_error (name, k == 2 ? want : "");
    hostile_close (&x);
    fail_unless (!channel_exists (name));
  }
  g_free (name);
}

GST_END_TEST;

/* An invalid state word while the producer holds its lock is a corrupt
 * segment: an error, not a wait for a producer that never comes. */
GST_START_TEST (test_hostile_state)
{
  gchar *name = channel_name ("state");
  const guint64 off[] = { 0 };
  const guint32 stride[] = { 64 };
  Hostile x;

  hostile_open (&x, name, "video/x-raw,format=GRAY8,width=64,height=64,"
      "framerate=30/1", "GRAY8", 64, 64, 1, off, stride, 4096);
  ((struct shmring_header *) x.seg)->state = 0x55;
  expect_src_error (name, "corrupt");
  hostile_close (&x);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

/* A source waiting for a channel that does not exist says which channel
 * and file it waits for, and names the channels with a similar name. */
GST_START_TEST (test_waiting_source_says_why)
{
  gchar *name = channel_name ("cam"), *typo = channel_name ("cma");
  gchar *path = g_strconcat (SHMRING_PATH_PREFIX, typo, NULL);
  gchar *hint = g_strdup_printf ("did you mean '%s'?", name);
  struct shmring_producer_options opts = { 0 };
  shmring_producer *prod = NULL;
  GstElement *c;
  GstMessage *msg;
  gchar *text;

  opts.ring_size = 1 << 16;
  fail_unless_equals_int (shmring_producer_create (name, &opts, &prod), 0);
  c = parse ("shmringsrc channel=%s ! fakesink", typo);
  gst_element_set_state (c, GST_STATE_PLAYING);
  msg = wait_bus (c, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_WARNING);
  text = error_text (msg);
  fail_unless (strstr (text, "Waiting for a producer") != NULL, "%s", text);
  fail_unless (strstr (text, path) != NULL, "%s", text);
  fail_unless (strstr (text, hint) != NULL, "%s", text);
  g_free (text);
  gst_message_unref (msg);
  stop_pipeline (c);
  shmring_producer_close (prod);
  g_free (hint);
  g_free (path);
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

/* A live source with no reader (wait-for-reader=auto): only the newest
 * frame is kept, so a reader attaching 2 s later starts at a current frame;
 * wait-for-reader=true keeps them all, from the first. */
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
              "keeping only the newest frame") != NULL);
    gst_structure_free (st);

    wait_count (&c, 60);        /* 2 s of frames, nobody reading */
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

/* Wait (5 s at most) until channel name's producer waits for a reader with
 * every one of its n frames written. */
static void
wait_producer_waiting (const gchar * name, guint64 n)
{
  struct shmring_stats st;
  gint64 end = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

  for (;;) {
    if (shmring_inspect (name, &st, NULL) == 0 && st.producer_waiting
        && st.frames_written == n)
      return;
    fail_unless (g_get_monotonic_time () < end, "the producer of %s never "
        "waited for a reader with its %" G_GUINT64_FORMAT " frames", name, n);
    g_usleep (1000);
  }
}

/* A short file (it fits in the ring) with no reader: at end of stream the
 * sink waits for a first reader, which gets every frame and the end of
 * stream; a sink waiting so still stops at once. */
GST_START_TEST (test_short_file_waits_for_reader_at_eos)
{
  gchar *name = channel_name ("short");
  const gchar *desc = "videotestsrc num-buffers=5 ! video/x-raw,format=GRAY8,"
      "width=64,height=64 ! shmringsink channel=%s size=1048576";
  GstElement *p = parse (desc, name);
  GstHarness *h;
  GstBuffer *b = NULL;
  GstMessage *msg;
  guint64 expect = 0;

  gst_element_set_state (p, GST_STATE_PLAYING);
  wait_producer_waiting (name, 5);
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
  stop_pipeline (p);
  fail_unless (!channel_exists (name));

  /* Waiting at end of stream does not keep the pipeline from stopping. */
  p = parse (desc, name);
  gst_element_set_state (p, GST_STATE_PLAYING);
  wait_producer_waiting (name, 5);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

/* A non-live source (a file) waits for the first reader and loses
 * nothing, and says so. */
GST_START_TEST (test_nonlive_source_waits_for_reader)
{
  gchar *name = channel_name ("file");
  GstElement *p = parse ("videotestsrc num-buffers=20 ! video/x-raw,"
      "format=GRAY8,width=64,height=64 ! shmringsink name=s channel=%s "
      "size=%u", name, 3 * 4160);
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
  wait_count (&c, 3);           /* 3 frames fill the ring; the 4th waits */

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
  g_object_get (s, "reader-attached", &attached, NULL);
  fail_unless (attached);

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
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
}

GST_END_TEST;

/* Every raw format GStreamer knows is published at odd and at tile-sized
 * dimensions: the library's whole-plane checks accept GStreamer's own
 * layouts, packed 10-bit and tiled ones included. */
GST_START_TEST (test_every_format_published)
{
  static const guint sizes[][2] = { {65, 33}, {128, 128} };
  gchar *name = channel_name ("formats");
  gchar *desc = g_strdup_printf ("shmringsink channel=%s size=4194304 "
      "wait-for-reader=false", name);
  const GstVideoFormat *formats;
  guint n_formats, i, s, published = 0;

  formats = gst_video_formats_raw (&n_formats);
  for (i = 0; i < n_formats; i++) {
    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstVideoInfo vi;
      GstHarness *h;
      GstFlowReturn ret;

      if (!gst_video_info_set_format (&vi, formats[i], sizes[s][0],
              sizes[s][1]) || GST_VIDEO_INFO_N_PLANES (&vi) > SHMRING_MAX_PLANES)
        continue;
      h = gst_harness_new_parse (desc);
      gst_harness_set_src_caps (h, gst_video_info_to_caps (&vi));
      ret = gst_harness_push (h, gst_buffer_new_allocate (NULL,
              GST_VIDEO_INFO_SIZE (&vi), NULL));
      gst_harness_teardown (h);
      fail_unless (ret == GST_FLOW_OK, "%s %ux%u not published: %s",
          gst_video_format_to_string (formats[i]), sizes[s][0], sizes[s][1],
          gst_flow_get_name (ret));
      published++;
    }
  }
  /* Tiled formats have no odd-sized layout; the others have both sizes. */
  fail_unless (published > n_formats, "only %u layouts published", published);
  fail_unless (!channel_exists (name));
  g_free (desc);
  g_free (name);
}

GST_END_TEST;

/* A frame larger than the ring is one error, naming a size that holds it. */
GST_START_TEST (test_frame_too_large_once)
{
  gchar *name = channel_name ("big");
  GstElement *p = parse ("videotestsrc is-live=true name=v ! video/x-raw,"
      "format=BGR,width=1920,height=1080 ! shmringsink name=s channel=%s "
      "size=4194304", name);
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
      fail_unless (strstr (text, "set size=12582912 or more") != NULL, "%s",
          text);
    } else {
      done = g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "v");
    }
    g_free (text);
    gst_message_unref (msg);
  }
  fail_unless_equals_int (from_sink, 1);
  gst_object_unref (bus);
  stop_pipeline (p);
  fail_unless (!channel_exists (name));
  g_free (name);
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
  tcase_add_test (tc, test_second_reader_refused);
  tcase_add_test (tc, test_timeout_error);
  tcase_add_test (tc, test_producer_gone_error);
  tcase_add_test (tc, test_state_cycles_unblock);
  tcase_add_test (tc, test_drops_counted_once);
  tcase_add_test (tc, test_hostile_plane_geometry);
  tcase_add_test (tc, test_hostile_state);
  tcase_add_test (tc, test_waiting_source_says_why);
  tcase_add_test (tc, test_live_source_no_reader);
  tcase_add_test (tc, test_nonlive_source_waits_for_reader);
  tcase_add_test (tc, test_short_file_waits_for_reader_at_eos);
  tcase_add_test (tc, test_reader_attach_leave_messages);
  tcase_add_test (tc, test_frame_too_large_once);
  tcase_add_test (tc, test_every_format_published);
  return s;
}

GST_CHECK_MAIN (shmring_elements);
