/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* capture.c: publishes 1080p BGR at 30 fps (camera or test pattern) on a shmring channel. */
#include <gst/gst.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  GMainLoop *loop;
  int ret;
} App;

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  App *app = data;
  GError *err = NULL;
  gchar *dbg = NULL;

  (void) bus;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &dbg);
      fprintf (stderr, "capture: %s\n%s\n", err->message, dbg ? dbg : "");
      g_free (dbg);
      g_error_free (err);
      app->ret = 1;
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_EOS:
      printf ("capture: end of stream\n");
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_ELEMENT:{
      /* The sink says whether it waits for a reader, and who attaches. */
      const GstStructure *s = gst_message_get_structure (msg);
      gboolean wait = FALSE, attached = FALSE;
      gint pid = 0;
      guint readers = 0;

      if (gst_structure_has_name (s, "shmring-wait-for-reader")
          && gst_structure_get_boolean (s, "wait", &wait) && wait) {
        printf ("capture: waiting for a reader\n");
      } else if (gst_structure_has_name (s, "shmring-reader")
          && gst_structure_get_boolean (s, "attached", &attached)) {
        gst_structure_get_int (s, "pid", &pid);
        gst_structure_get_uint (s, "readers", &readers);
        printf ("capture: reader %d %s (%u attached)\n", pid,
            attached ? "attached" : "left", readers);
      }
      fflush (stdout);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* --verify-pattern: overwrite each frame, in place (in ring memory when the
 * sink's pool is used), with the shmring test pattern for its sequence
 * number: the first 8 bytes are the number (little-endian), then byte i is
 * (seq * 131 + i * 7) & 0xff.  examples/reader.py --verify checks it. */
static GstPadProbeReturn
stamp_pattern (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  guint64 *seq = data;
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GstMapInfo map;
  guint8 period[256];
  gsize i;

  (void) pad;
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  if (!gst_buffer_map (buf, &map, GST_MAP_WRITE))
    return GST_PAD_PROBE_OK;
  for (i = 0; i < sizeof (period); i++)
    period[i] = (guint8) ((*seq * 131 + i * 7) & 0xff);
  /* byte i repeats every 256 bytes, since 7 is odd */
  for (i = 0; i < map.size; i += sizeof (period))
    memcpy (map.data + i, period, MIN (sizeof (period), map.size - i));
  for (i = 0; i < 8 && i < map.size; i++)
    map.data[i] = (guint8) (*seq >> (8 * i));
  gst_buffer_unmap (buf, &map);
  (*seq)++;
  return GST_PAD_PROBE_OK;
}

static gboolean
on_signal (gpointer data)
{
  GstElement *pipeline = data;

  /* Ctrl-C: end the stream cleanly so that the reader sees end of stream. */
  gst_element_send_event (pipeline, gst_event_new_eos ());
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  gint num_buffers = -1, width = 1920, height = 1080, fps = 30;
  gchar *pattern = NULL, *device = NULL, *policy = NULL;
  gboolean test_only = FALSE, verify_pattern = FALSE, wait_for_reader = FALSE;
  guint64 seq = 0;
  GOptionEntry entries[] = {
    {"num-buffers", 'n', 0, G_OPTION_ARG_INT, &num_buffers,
        "Stop after this many frames (default: run until Ctrl-C)", "N"},
    {"pattern", 'p', 0, G_OPTION_ARG_STRING, &pattern,
        "videotestsrc pattern when there is no camera (default: smpte)", "NAME"},
    {"test-source", 't', 0, G_OPTION_ARG_NONE, &test_only,
        "Use videotestsrc even if a camera exists", NULL},
    {"device", 'd', 0, G_OPTION_ARG_STRING, &device,
        "Camera device (default: /dev/video0)", "PATH"},
    {"policy", 0, 0, G_OPTION_ARG_STRING, &policy,
        "Flow policy: lossless, drop-new or live (default: live)", "NAME"},
    {"width", 0, 0, G_OPTION_ARG_INT, &width, "Frame width (1920)", "W"},
    {"height", 0, 0, G_OPTION_ARG_INT, &height, "Frame height (1080)", "H"},
    {"fps", 0, 0, G_OPTION_ARG_INT, &fps, "Frames per second (30)", "N"},
    {"wait-for-reader", 0, 0, G_OPTION_ARG_NONE, &wait_for_reader,
          "Hold the frames until a reader attaches, even from a live source "
          "(the sink's wait-for-reader=true; by default a live source keeps "
          "only the newest frame while no reader is attached)", NULL},
    {"verify-pattern", 0, 0, G_OPTION_ARG_NONE, &verify_pattern,
          "Replace each frame with the shmring test pattern for its sequence "
          "number, for examples/reader.py --verify (use with --policy lossless)",
        NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}
  };
  GOptionContext *ctx;
  GError *err = NULL;
  GstElement *pipeline, *sink;
  GstBus *bus;
  gchar *desc, *source;
  const gchar *channel;
  App app = { NULL, 0 };

  ctx = g_option_context_new ("CHANNEL - publish video on a shmring channel");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_option_context_set_description (ctx,
      "Read it from another process with, for example:\n"
      "  gst-launch-1.0 shmringsrc channel=CHANNEL ! videoconvert ! autovideosink\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    fprintf (stderr, "capture: %s (see capture --help)\n", err->message);
    g_error_free (err);
    g_option_context_free (ctx);
    return 2;
  }
  if (argc != 2) {
    gchar *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "%s", help);
    g_free (help);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  channel = argv[1];
  if (width <= 0 || height <= 0 || fps <= 0) {
    fprintf (stderr, "capture: width, height and fps must be positive\n");
    return 2;
  }
  if (!device)
    device = g_strdup ("/dev/video0");

  if (!test_only && access (device, R_OK | W_OK) == 0) {
    /* the camera's own format, converted and scaled to what we publish */
    source = g_strdup_printf ("v4l2src device=%s num-buffers=%d ! "
        "videoconvert ! videoscale ! videorate", device, num_buffers);
    printf ("capture: camera %s\n", device);
  } else {
    source = g_strdup_printf ("videotestsrc is-live=true pattern=%s "
        "num-buffers=%d", pattern ? pattern : "smpte", num_buffers);
    printf ("capture: no camera, test pattern\n");
  }
  desc = g_strdup_printf ("%s ! video/x-raw,format=BGR,width=%d,height=%d,"
      "framerate=%d/1 ! shmringsink name=ring channel=\"%s\" policy=%s", source, width,
      height, fps, channel, policy ? policy : "live");
  pipeline = gst_parse_launch (desc, &err);
  if (err != NULL) {
    fprintf (stderr, "capture: could not build the pipeline \"%s\": %s\n",
        desc, err->message);
    return 1;
  }
  g_free (desc);
  g_free (source);

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "ring");
  if (wait_for_reader
      && g_object_class_find_property (G_OBJECT_GET_CLASS (sink),
          "wait-for-reader"))
    gst_util_set_object_arg (G_OBJECT (sink), "wait-for-reader", "true");
  if (verify_pattern) {
    GstPad *pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, stamp_pattern, &seq,
        NULL);
    gst_object_unref (pad);
  }
  gst_object_unref (sink);

  g_unix_signal_add (SIGINT, on_signal, pipeline);
  g_unix_signal_add (SIGTERM, on_signal, pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  printf ("capture: publishing %dx%d BGR at %d fps on channel \"%s\"\n",
      width, height, fps, channel);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_bus, &app);
  g_main_loop_run (app.loop);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  g_main_loop_unref (app.loop);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_free (pattern);
  g_free (device);
  g_free (policy);
  return app.ret;
}
