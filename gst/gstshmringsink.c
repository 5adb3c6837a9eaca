/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringsink.c: shmringsink, publishes buffers on a shmring shared-memory channel. */

/**
 * SECTION:element-shmringsink
 * @title: shmringsink
 * @see_also: shmringsrc
 *
 * shmringsink publishes every buffer it receives on a shmring channel:
 * any number of other processes, up to #GstShmringSink:max-readers, read
 * it with shmringsrc, or without GStreamer with the `shmring` Python
 * package, each isolated from the others.  The channel is an abstract
 * socket (`@shmring/NAME`) and a sealed shared-memory pool of slots, one
 * frame per slot; nothing of it exists on a filesystem.  The caps and, for
 * raw video, the frame layout (format, size, plane strides and offsets)
 * travel with the stream, so readers need no capsfilter.  PTS, DTS,
 * duration and buffer flags travel with every frame.
 *
 * The channel is named after the element unless #GstShmringSink:channel is
 * set.  It is created at the first caps: its slots hold frames of
 * #GstShmringSink:max-frame-size bytes (0, the default: the frame size of
 * those caps for raw video, 4 MiB for other caps).  The pool cannot grow:
 * a later caps change to larger frames is an error that names the
 * max-frame-size to set.
 *
 * Each reader has its own queue of #GstShmringSink:queue-length frames:
 * by default 8 under `lossless` (a recorder's hiccup of a quarter second
 * at 30 fps does not hold the producer back, and several readers running
 * flat out take turns of several frames instead of waking each other at
 * every frame), 2 under `drop-new` and `live` (a reader that lags sees
 * frames at most two old).  The pool holds queue-length + max-readers x
 * max-holds + 4 slots (drop-new: max-readers x (queue-length + max-holds)
 * + 4), so that the sink never waits for a free slot whatever its readers
 * hold: 24 slots of 1080p (142 MiB) with the defaults under lossless.
 * That is the most it takes: slots are allocated as they are first
 * written, lowest first, so a channel whose readers keep up keeps a few
 * frames in memory (one 30 fps 1080p reader: 4 to 5 frames); `shmring
 * info` shows both.
 * #GstShmringSink:max-holds is 3 by default: a shmringsrc lends the frame
 * downstream is rendering and the one its sink keeps as last sample
 * (`enable-last-sample`, on by default), and the third lets it take the
 * next frame without copying it; with 2, such a reader copies every
 * other frame.
 * What happens when a reader's queue is full is set by
 * #GstShmringSink:policy: `lossless` waits for that reader, `drop-new`
 * drops the new frame for that reader, `live` reclaims the oldest frame it
 * has not taken.  The default, `auto`, is `live` when upstream is live (a
 * camera cannot wait for its slowest reader) and `lossless` otherwise (a
 * file loses nothing), learnt from the latency query when the channel is
 * created; the choice is logged, posted in the `shmring-wait-for-reader`
 * message (fields `policy` and `policy-auto`) and shown by `shmring info`.
 * A reader that attached in live mode (shmringsrc latest=true) never holds
 * the sink back, whatever the policy.  A reader gets the frames committed
 * after it attached.
 *
 * #GstShmringSink:stall-timeout bounds how long one lossless reader that
 * takes nothing (a stuck process, a reader stopped in a debugger) holds
 * the sink back: past it, that reader is made live until it catches up
 * (its oldest queued frames are pushed out, it sees them as dropped, and
 * it is lossless again once its queue is empty), the sink goes on, and a
 * warning and a `shmring-reader-stalled` element message (fields
 * `channel`, `pid`, `stall-timeout`) name its pid.  The time counts only
 * while the sink waits for that reader and starts again whenever it has
 * room.  The default, auto, is 2 s when upstream is live (a camera with
 * policy=lossless) and off otherwise (a file waits for its slowest reader, as long as it takes).
 *
 * A recorder on a live channel loses nothing through a hiccup of its own
 * when it puts a queue right after shmringsrc (`shmringsrc ! queue
 * max-size-buffers=N max-size-bytes=0 max-size-time=0 ! ...`): shmringsrc
 * takes each frame as soon as it is committed and, past its
 * #GstShmringSrc:holds, hands out copies, so the queue absorbs up to N
 * frames of the recorder's own delay in the recorder's memory, and the
 * camera and the other readers never wait.  shmringsrc itself must still
 * be scheduled within queue-length frames: on a loaded machine raise
 * #GstShmringSink:queue-length (8 frames are 266 ms at 30 fps).
 *
 * Before the first reader attaches, #GstShmringSink:wait-for-reader says
 * what to do.  `true` waits for it before the first frame, so a file loses
 * nothing (after that the sink goes on, even if every reader leaves).
 * `false` goes on, publishing to whoever is attached: right for a camera.
 * The default, `auto`, picks `false` when upstream is live (from the
 * latency query, answered once caps are known) and `true` otherwise, and
 * posts a `shmring-wait-for-reader` element message (fields `channel`,
 * `wait`, `live`, `reason`) saying which.  When a reader attaches or
 * leaves, #GstShmringSink:readers and #GstShmringSink:reader-attached are
 * notified and a `shmring-reader` element message (fields `channel`,
 * `attached`, `pid`, `readers`) is posted at once, frames flowing or
 * not (from a thread of the sink's).
 *
 * The sink offers upstream a buffer pool whose buffers are slots lent by
 * the channel: elements that use it (videotestsrc, videoconvert, ...)
 * render straight into shared memory and the frame is published without a
 * copy.  At most two slots are lent at a time, whatever sits between the
 * allocation and the sink (a `queue` of any size, `videorate`, an
 * application thread feeding `appsrc`): a third acquire waits until one
 * comes back, as with any bounded pool, and ends at once on a flush.  A
 * lossless sink waits for its readers in render, where a flush or a state
 * change ends the wait.  A published slot stays the element's until the
 * buffer is freed, so a buffer that upstream still reads after pushing it
 * (`videorate` pushes one twice) is never rewritten.  An element that asks
 * for more than two buffers at once (a decoder keeping reference frames)
 * is refused and uses a pool of its own.  Any other buffer is copied
 * exactly once, into a slot the pool never lends, so a copy never waits
 * for buffers upstream holds.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=BGR,width=1920,height=1080,framerate=30/1 ! shmringsink name=cam
 * gst-launch-1.0 shmringsrc name=cam ! videoconvert ! autovideosink
 * ]| A 1080p BGR test stream on channel `cam`, and a viewer in another process.
 * |[
 * gst-launch-1.0 v4l2src ! image/jpeg ! shmringsink channel=webcam policy=live
 * gst-launch-1.0 shmringsrc channel=webcam ! jpegdec ! videoconvert ! autovideosink
 * ]| Compressed frames pass through intact; a slow viewer never stalls the camera.
 */

#include "gstshmringelements.h"
#include "gstshmringwriter.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (gst_shmring_sink_debug);
#define GST_CAT_DEFAULT gst_shmring_sink_debug

#define GST_TYPE_SHMRING_SINK (gst_shmring_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstShmringSink, gst_shmring_sink, GST, SHMRING_SINK,
    GstBaseSink);

#define GST_TYPE_SHMRING_POLICY (gst_shmring_policy_get_type ())

#define GST_TYPE_SHMRING_WAIT_FOR_READER (gst_shmring_wait_for_reader_get_type ())
typedef enum
{
  WAIT_FOR_READER_AUTO = 0,
  WAIT_FOR_READER_TRUE = 1,
  WAIT_FOR_READER_FALSE = 2,
} GstShmringWaitForReader;

#define GST_TYPE_SHMRING_SEQUENCE (gst_shmring_sequence_get_type ())
typedef enum
{
  SEQUENCE_OWN = 0,
  SEQUENCE_OFFSET = 1,
} GstShmringSequence;

#define DEFAULT_CHANNEL NULL
#define DEFAULT_MAX_FRAME_SIZE 0
#define NONRAW_SLOT_SIZE (4 * 1024 * 1024)
/* policy=auto: not a library policy; chosen when the channel is created */
#define POLICY_AUTO 3
#define DEFAULT_POLICY POLICY_AUTO
#define DEFAULT_MAX_READERS 4
#define DEFAULT_QUEUE_LENGTH 0  /* the library's: by policy */
#define DEFAULT_MAX_HOLDS 3
/* Reservations of the sink's producer: the pool lends all but one to
 * upstream, and render keeps the last for the frames it copies. */
#define SINK_RESERVATIONS 3
#define DEFAULT_WAIT_FOR_READER WAIT_FOR_READER_AUTO
/* stall-timeout: auto = LIVE_STALL_TIMEOUT for a live upstream, off otherwise */
#define STALL_TIMEOUT_AUTO G_MAXUINT64
#define DEFAULT_STALL_TIMEOUT STALL_TIMEOUT_AUTO
#define LIVE_STALL_TIMEOUT (2 * GST_SECOND)
#define DEFAULT_SEQUENCE SEQUENCE_OWN

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_MAX_FRAME_SIZE,
  PROP_POLICY,
  PROP_MAX_READERS,
  PROP_QUEUE_LENGTH,
  PROP_MAX_HOLDS,
  PROP_SHARE_GROUP,
  PROP_SHARE_USER,
  PROP_WAIT_FOR_READER,
  PROP_SEQUENCE,
  PROP_STALL_TIMEOUT,
  PROP_FRAMES_WRITTEN,
  PROP_FRAMES_DROPPED,
  PROP_FRAMES_COPIED,
  PROP_READERS,
  PROP_READER_ATTACHED,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

struct _GstShmringSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *channel;
  guint64 max_frame_size;
  gint policy;
  guint max_readers;
  guint queue_length;
  guint max_holds;
  gchar *share_group;
  gchar *share_user;
  GstShmringWaitForReader wait_for_reader;
  GstShmringSequence sequence;
  guint64 stall_timeout;

  /* set in start, cleared in stop */
  gchar *name;                  /* the channel in use */
  GstShmringWriter *writer;
  guint64 max_frame;
  gboolean raw;
  GstVideoInfo info;
  gboolean keep_newest;         /* no reader: go on without one */
  gboolean had_reader;          /* a first reader attached (streaming thread) */
  gboolean too_large_posted;
  /* until the channel is created: its name, options and wait mode */
  gchar *pending_name;
  struct shmring_producer_options opts;
  GstShmringWaitForReader wait_mode;
  guint64 stall_mode;           /* stall-timeout at start (maybe auto) */
  guint64 stall_ns;             /* the one in force: 0 = off */
  /* sequence=offset (streaming thread): the number of the last frame
   * written, and what is added to a buffer offset to number its frame */
  GstShmringSequence seq_mode;
  gboolean have_last_seq;
  guint64 last_seq;
  guint64 seq_delta;

  /* the watch thread, while the channel exists: it reports readers that
   * attach or leave, frames flowing or not; reader_pids is its own */
  GThread *watch;
  struct shmring_cancel watch_cancel;
  shmring_producer *watch_p;
  gint reader_pids[SHMRING_MAX_READERS];

  /* counters, under the object lock */
  guint64 frames_copied;
  guint64 frames_dropped;       /* by the sink itself (-ENOBUFS) */
  guint64 dropped_gone;         /* for readers that left */
  guint readers;
  struct shmring_stats last_stats;      /* kept after stop */
  gboolean have_stats;
};

G_DEFINE_TYPE (GstShmringSink, gst_shmring_sink, GST_TYPE_BASE_SINK);

static gpointer gst_shmring_sink_watch (gpointer data);
GST_ELEMENT_REGISTER_DEFINE (shmringsink, "shmringsink", GST_RANK_NONE,
    GST_TYPE_SHMRING_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

static GType
gst_shmring_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {SHMRING_POLICY_LOSSLESS, "Wait for a reader whose queue is full",
        "lossless"},
    {SHMRING_POLICY_DROP_NEW, "Drop the new frame for a reader whose queue "
          "is full", "drop-new"},
    {SHMRING_POLICY_LIVE,
        "Reclaim the oldest unread frames: every reader gets the freshest",
        "live"},
    {POLICY_AUTO, "live when upstream is live (a camera cannot wait for a "
          "slow reader), lossless otherwise (a file loses nothing), learnt "
          "from the latency query", "auto"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstShmringPolicy", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GType
gst_shmring_wait_for_reader_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {WAIT_FOR_READER_AUTO, "false for a live upstream (a camera), true "
          "otherwise (a file), learnt from the latency query", "auto"},
    {WAIT_FOR_READER_TRUE, "Wait for a first reader before the first "
          "frame", "true"},
    {WAIT_FOR_READER_FALSE, "Go on without a reader (frames reach the "
          "readers attached when they are committed)", "false"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstShmringWaitForReader", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GType
gst_shmring_sequence_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {SEQUENCE_OWN, "Number the frames 0, 1, 2, ...", "own"},
    {SEQUENCE_OFFSET, "Number each frame with its buffer offset "
          "(shmringsrc's frame number, which GDP carries): a gap is frames "
          "lost before this channel", "offset"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstShmringSequence", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* The channel name to use: the property, or the element's name. */
static gchar *
gst_shmring_sink_channel (GstShmringSink * self)
{
  gchar *name;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->channel ? self->channel : GST_OBJECT_NAME (self));
  GST_OBJECT_UNLOCK (self);
  return name;
}

static gboolean
gst_shmring_sink_get_stats (GstShmringSink * self, struct shmring_stats *st)
{
  gchar *name = NULL;
  gboolean ok = FALSE;

  GST_OBJECT_LOCK (self);
  if (self->name)
    name = g_strdup (self->name);
  else if (self->have_stats) {
    *st = self->last_stats;
    ok = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (name) {
    /* A read-only look at the header: never waits for the streaming thread. */
    ok = shmring_inspect (name, st, NULL) == 0;
    g_free (name);
    if (ok) {
      /* frames_dropped: the sum over the readers attached now */
      st->frames_dropped = 0;
      for (guint i = 0; i < SHMRING_MAX_READERS; i++)
        if (st->reader[i].pid != 0)
          st->frames_dropped += st->reader[i].frames_dropped;
    }
  }
  return ok;
}

static void
gst_shmring_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstShmringSink *self = GST_SHMRING_SINK (object);

  GST_OBJECT_LOCK (self);
  if (gst_shmring_property_frozen (GST_ELEMENT (self), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CHANNEL:
      gst_shmring_set_channel (GST_CAT_DEFAULT, GST_ELEMENT (self),
          &self->channel, value);
      break;
    case PROP_MAX_FRAME_SIZE:
      self->max_frame_size = g_value_get_uint64 (value);
      break;
    case PROP_POLICY:
      self->policy = g_value_get_enum (value);
      break;
    case PROP_MAX_READERS:
      self->max_readers = g_value_get_uint (value);
      break;
    case PROP_QUEUE_LENGTH:
      self->queue_length = g_value_get_uint (value);
      break;
    case PROP_MAX_HOLDS:
      self->max_holds = g_value_get_uint (value);
      break;
    case PROP_SHARE_GROUP:
      g_free (self->share_group);
      self->share_group = g_value_dup_string (value);
      break;
    case PROP_SHARE_USER:
      g_free (self->share_user);
      self->share_user = g_value_dup_string (value);
      break;
    case PROP_WAIT_FOR_READER:
      self->wait_for_reader = g_value_get_enum (value);
      break;
    case PROP_SEQUENCE:
      self->sequence = g_value_get_enum (value);
      break;
    case PROP_STALL_TIMEOUT:
      self->stall_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_shmring_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstShmringSink *self = GST_SHMRING_SINK (object);
  struct shmring_stats st;

  switch (prop_id) {
    case PROP_CHANNEL:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->channel);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_FRAME_SIZE:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->max_frame_size);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_READERS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->max_readers);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_QUEUE_LENGTH:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->queue_length);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_HOLDS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->max_holds);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SHARE_GROUP:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->share_group);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SHARE_USER:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->share_user);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_POLICY:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->policy);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_WAIT_FOR_READER:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->wait_for_reader);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SEQUENCE:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->sequence);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STALL_TIMEOUT:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->stall_timeout);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_FRAMES_WRITTEN:
      g_value_set_uint64 (value,
          gst_shmring_sink_get_stats (self, &st) ? st.frames_written : 0);
      break;
    case PROP_FRAMES_DROPPED:{
      guint64 n = gst_shmring_sink_get_stats (self, &st) ?
          st.frames_dropped : 0;

      GST_OBJECT_LOCK (self);
      n += self->frames_dropped + self->dropped_gone;
      GST_OBJECT_UNLOCK (self);
      g_value_set_uint64 (value, n);
      break;
    }
    case PROP_FRAMES_COPIED:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->frames_copied);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_READERS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->readers);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_READER_ATTACHED:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->readers > 0);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_shmring_sink_finalize (GObject * object)
{
  GstShmringSink *self = GST_SHMRING_SINK (object);

  g_free (self->channel);
  g_free (self->name);
  g_free (self->pending_name);
  g_free (self->share_group);
  g_free (self->share_user);
  G_OBJECT_CLASS (gst_shmring_sink_parent_class)->finalize (object);
}

/* Whether upstream is live, from a latency query; FALSE if nobody answers. */
static gboolean
gst_shmring_sink_upstream_live (GstShmringSink * self, gboolean * live)
{
  GstQuery *q = gst_query_new_latency ();
  gboolean ok = gst_pad_peer_query (GST_BASE_SINK_PAD (self), q);

  if (ok)
    gst_query_parse_latency (q, live, NULL, NULL);
  gst_query_unref (q);
  return ok;
}

static const gchar *
policy_name (guint32 policy)
{
  switch (policy) {
    case SHMRING_POLICY_LOSSLESS:
      return "lossless";
    case SHMRING_POLICY_DROP_NEW:
      return "drop-new";
    default:
      return "live";
  }
}

/* Settle what `auto` leaves open, from one latency query: the policy
 * (live for a live upstream, else lossless) and whether the first frame
 * waits for a first reader (not for a live upstream).  Says which in the
 * log, and in *msg, the "shmring-wait-for-reader" element message to post
 * once the channel exists.  Returns whether to go on without a reader. */
static gboolean
gst_shmring_sink_decide (GstShmringSink * self, const gchar * name,
    GstShmringWaitForReader mode, struct shmring_producer_options *opts,
    GstMessage ** msg)
{
  gboolean live = FALSE, known = TRUE, keep, auto_policy;
  const gchar *why;
  GstStructure *s;

  auto_policy = opts->policy == POLICY_AUTO;
  if (mode == WAIT_FOR_READER_AUTO || auto_policy ||
      self->stall_mode == STALL_TIMEOUT_AUTO)
    known = gst_shmring_sink_upstream_live (self, &live);
  self->stall_ns = self->stall_mode != STALL_TIMEOUT_AUTO ? self->stall_mode :
      live ? LIVE_STALL_TIMEOUT : 0;
  if (self->stall_ns)
    GST_INFO_OBJECT (self, "channel %s: a lossless reader that holds the "
        "sink back for %" GST_TIME_FORMAT " is made live (stall-timeout%s)",
        name, GST_TIME_ARGS (self->stall_ns),
        self->stall_mode == STALL_TIMEOUT_AUTO ? "=auto, live source" : "");
  if (auto_policy) {
    opts->policy = live ? SHMRING_POLICY_LIVE : SHMRING_POLICY_LOSSLESS;
    GST_INFO_OBJECT (self, "channel %s: policy %s (auto): %s", name,
        policy_name (opts->policy), live ? "the source is live, a camera "
        "cannot wait for a slow reader" : known ? "the source is not live, "
        "nothing is lost" : "upstream did not say whether it is live, "
        "nothing is lost");
  }
  keep = mode == WAIT_FOR_READER_FALSE || (mode == WAIT_FOR_READER_AUTO &&
      live);
  if (keep)
    why = live ? "live source: frames go on without a reader, a reader gets "
        "those committed after it attached" : "wait-for-reader=false: frames "
        "go on without a reader, a reader gets those committed after it "
        "attached";
  else if (mode == WAIT_FOR_READER_TRUE)
    why = "waiting for a reader (wait-for-reader=true): the first frame "
        "waits for a first reader";
  else if (known)
    why = "waiting for a reader: the source is not live, so the first "
        "frame waits for a first reader";
  else
    why = "waiting for a reader: upstream did not say whether it is live, so "
        "the first frame waits for a first reader";
  GST_INFO_OBJECT (self, "channel %s: %s", name, why);
  s = gst_structure_new ("shmring-wait-for-reader", "channel", G_TYPE_STRING,
      name, "wait", G_TYPE_BOOLEAN, !keep, "live", G_TYPE_BOOLEAN, live,
      "reason", G_TYPE_STRING, why, "policy", G_TYPE_STRING,
      policy_name (opts->policy), "policy-auto", G_TYPE_BOOLEAN, auto_policy,
      "stall-timeout", G_TYPE_UINT64, self->stall_ns, NULL);
  *msg = gst_message_new_element (GST_OBJECT (self), s);
  return keep;
}

/* Create the channel with the options start() prepared, with slots of
 * slot_size bytes.  Returns TRUE when created, FALSE after posting an
 * error. */
static gboolean
gst_shmring_sink_create (GstShmringSink * self, guint64 slot_size)
{
  struct shmring_producer_options opts = self->opts;
  shmring_producer *p = NULL;
  gchar *name = self->pending_name;
  gboolean keep_newest;
  GstMessage *decided;
  int r;

  keep_newest = gst_shmring_sink_decide (self, name, self->wait_mode, &opts,
      &decided);
  opts.slot_size = slot_size;
  r = shmring_producer_create (name, &opts, &p);
  if (r == 0 && (r = shmring_producer_set_stall_timeout (p,
              (int64_t) MIN (self->stall_ns, (guint64) G_MAXINT64))) < 0) {
    shmring_producer_close (p);
    p = NULL;
  }
  if (r < 0) {
    if (r == -EBUSY)
      GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
          ("Channel \"%s\" already has a running producer: %s", name,
              shmring_last_error ()), ("%s", shmring_strerror (r)));
    else if (r == -ENOMEM || r == -ENOSPC)
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Not enough memory for the pool of channel \"%s\" (slots of %"
              G_GUINT64_FORMAT " bytes): lower max-frame-size, max-readers, "
              "queue-length or max-holds, or raise the memory limit (a "
              "container's --shm-size).", name, opts.slot_size),
          ("%s", shmring_last_error ()));
    else if (r == -EINVAL)
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Invalid settings for channel \"%s\": %s", name,
              shmring_last_error ()), ("%s", shmring_strerror (r)));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not create channel \"%s\": %s.", name, shmring_strerror (r)),
          ("%s", shmring_last_error ()));
    /* Said once: later frames fail without trying again. */
    GST_OBJECT_LOCK (self);
    self->pending_name = NULL;
    GST_OBJECT_UNLOCK (self);
    g_free (name);
    gst_message_unref (decided);
    return FALSE;
  }

  GST_INFO_OBJECT (self, "created channel %s, slots of %" G_GUINT64_FORMAT
      " bytes", name, shmring_producer_max_frame (p));
  GST_OBJECT_LOCK (self);
  self->name = name;
  self->pending_name = NULL;
  self->writer = gst_shmring_writer_new (p, opts.max_reserved - 1);
  self->max_frame = shmring_producer_max_frame (p);
  self->keep_newest = keep_newest;
  GST_OBJECT_UNLOCK (self);
  /* Stopped and joined in stop(), before the writer may close p. */
  self->watch_p = p;
  shmring_cancel_reset (&self->watch_cancel);
  self->watch = g_thread_new ("shmringsink-watch", gst_shmring_sink_watch,
      self);
  /* Posted once the channel exists: its receiver may inspect it. */
  gst_element_post_message (GST_ELEMENT (self), decided);
  return TRUE;
}

static gboolean
gst_shmring_sink_start (GstBaseSink * bsink)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);
  struct shmring_producer_options opts = { 0 };
  gchar *name = gst_shmring_sink_channel (self);
  gchar *bad_share = NULL;
  guint64 max_frame_size;

  if (shmring_name_check (name) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid channel name \"%s\": use 1 to 99 characters from "
            "A-Z a-z 0-9 . _ - , not starting with '.'.", name),
        ("%s", shmring_last_error ()));
    g_free (name);
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  opts.policy = self->policy;
  opts.max_readers = self->max_readers;
  opts.queue_len = self->queue_length;
  opts.max_holds = self->max_holds;
  opts.max_reserved = SINK_RESERVATIONS;
  if (self->share_group) {
    opts.share |= SHMRING_SHARE_GID;
    if (!gst_shmring_parse_id (self->share_group, TRUE, &opts.share_gid))
      bad_share = g_strdup_printf ("share-group=%s: no such group; give a "
          "group name or a numeric gid", self->share_group);
  }
  if (self->share_user) {
    opts.share |= SHMRING_SHARE_UID;
    if (!gst_shmring_parse_id (self->share_user, FALSE, &opts.share_uid))
      bad_share = g_strdup_printf ("share-user=%s: no such user; give a "
          "user name or a numeric uid", self->share_user);
  }
  max_frame_size = self->max_frame_size;
  self->opts = opts;
  self->wait_mode = self->wait_for_reader;
  self->stall_mode = self->stall_timeout;
  self->stall_ns = 0;
  self->seq_mode = self->sequence;
  self->have_last_seq = FALSE;
  self->last_seq = 0;
  self->seq_delta = 0;
  g_free (self->pending_name);
  self->pending_name = name;
  self->frames_copied = 0;
  self->frames_dropped = 0;
  self->readers = 0;
  self->have_stats = FALSE;
  self->raw = FALSE;
  memset (self->reader_pids, 0, sizeof self->reader_pids);
  self->dropped_gone = 0;
  self->too_large_posted = FALSE;
  self->had_reader = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (bad_share) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid sharing for channel \"%s\": %s.", name, bad_share), (NULL));
    g_free (bad_share);
    return FALSE;
  }
  if (max_frame_size > SHMRING_MAX_SLOT_SIZE) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid max-frame-size=%" G_GUINT64_FORMAT " for channel \"%s\": "
            "at most %" G_GUINT64_FORMAT " bytes.", max_frame_size, name,
            (guint64) SHMRING_MAX_SLOT_SIZE), (NULL));
    return FALSE;
  }
  /* The channel is created at the first caps: its slots are sized from
   * them, and a live source has said by then whether it is live. */
  return TRUE;
}

static int
stats_fn (shmring_producer * p, gpointer data)
{
  return shmring_producer_stats (p, data);
}

static gboolean
gst_shmring_sink_stop (GstBaseSink * bsink)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);
  struct shmring_stats st;
  GstShmringWriter *w;
  gchar *name;

  /* The watch thread first: it reads the name and the producer. */
  if (self->watch) {
    shmring_cancel_fire (&self->watch_cancel);
    g_thread_join (self->watch);
    self->watch = NULL;
    self->watch_p = NULL;
  }
  GST_OBJECT_LOCK (self);
  w = self->writer;
  name = self->name;
  self->writer = NULL;
  self->name = NULL;
  g_free (self->pending_name);
  self->pending_name = NULL;
  self->readers = 0;
  GST_OBJECT_UNLOCK (self);
  if (w == NULL)
    return TRUE;

  if (gst_shmring_writer_call (w, stats_fn, &st) == 0) {
    st.frames_dropped = 0;
    for (guint i = 0; i < SHMRING_MAX_READERS; i++)
      if (st.reader[i].pid != 0)
        st.frames_dropped += st.reader[i].frames_dropped;
    st.readers = 0;
    GST_OBJECT_LOCK (self);
    self->dropped_gone = st.frames_dropped_gone;
    self->last_stats = st;
    self->have_stats = TRUE;
    GST_OBJECT_UNLOCK (self);
  }
  /* Closes now, or when upstream frees the last pool buffer it holds. */
  gst_shmring_writer_stop (w);
  gst_shmring_writer_unref (w);
  GST_INFO_OBJECT (self, "closed channel %s", name);
  g_free (name);
  return TRUE;
}

static gboolean
gst_shmring_sink_unlock (GstBaseSink * bsink)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);

  if (self->writer)
    gst_shmring_writer_interrupt (self->writer);
  return TRUE;
}

static gboolean
gst_shmring_sink_unlock_stop (GstBaseSink * bsink)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);

  if (self->writer)
    gst_shmring_writer_resume (self->writer);
  return TRUE;
}

static int
set_stream_fn (shmring_producer * p, gpointer data)
{
  return shmring_producer_set_stream (p, data);
}

/* A frame larger than the slots: say so once per start (upstream may try
 * the same caps again), with the max-frame-size that would hold it. */
static void
gst_shmring_sink_post_too_large (GstShmringSink * self, const gchar * what,
    guint64 frame_size, const gchar * debug)
{
  if (self->too_large_posted)
    return;
  self->too_large_posted = TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("%s of %" G_GUINT64_FORMAT " bytes does not fit the %" G_GUINT64_FORMAT
          "-byte slots of channel \"%s\", whose pool cannot grow: set "
          "max-frame-size=%" G_GUINT64_FORMAT " or more on shmringsink.",
          what, frame_size, self->max_frame, self->name, frame_size),
      ("%s", debug));
}

static gboolean
gst_shmring_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);
  struct shmring_stream_info si;
  GstVideoInfo info;
  gboolean raw = FALSE;
  gchar *str;
  guint i;
  int r;

  if (self->writer == NULL && self->pending_name == NULL)
    return FALSE;               /* creating it failed, and said why */
  memset (&si, 0, sizeof si);
  str = gst_caps_to_string (caps);
  si.caps = str;
  if (strlen (str) >= SHMRING_CAPS_MAX) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Caps too long for the channel (%" G_GSIZE_FORMAT " bytes, at most %u).",
            strlen (str), SHMRING_CAPS_MAX - 1), ("caps: %s", str));
    g_free (str);
    return FALSE;
  }

  if (gst_caps_is_fixed (caps) &&
      gst_structure_has_name (gst_caps_get_structure (caps, 0), "video/x-raw")
      && gst_video_info_from_caps (&info, caps)
      && GST_VIDEO_INFO_N_PLANES (&info) <= SHMRING_MAX_PLANES) {
    raw = TRUE;
    si.format = gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info));
    si.width = GST_VIDEO_INFO_WIDTH (&info);
    si.height = GST_VIDEO_INFO_HEIGHT (&info);
    si.fps_n = MAX (GST_VIDEO_INFO_FPS_N (&info), 0);
    si.fps_d = MAX (GST_VIDEO_INFO_FPS_D (&info), 1);
    si.n_planes = GST_VIDEO_INFO_N_PLANES (&info);
    si.frame_size = GST_VIDEO_INFO_SIZE (&info);
    for (i = 0; i < si.n_planes; i++) {
      si.plane_offset[i] = GST_VIDEO_INFO_PLANE_OFFSET (&info, i);
      si.plane_stride[i] = GST_VIDEO_INFO_PLANE_STRIDE (&info, i);
    }
  }
  if (self->writer == NULL) {
    guint64 slot;

    GST_OBJECT_LOCK (self);
    slot = self->max_frame_size;
    GST_OBJECT_UNLOCK (self);
    if (slot == 0)
      slot = raw ? MAX (si.frame_size, 1) : NONRAW_SLOT_SIZE;
    if (!gst_shmring_sink_create (self, slot)) {
      g_free (str);
      return FALSE;
    }
  }
  if (raw) {
    if (si.frame_size > self->max_frame) {
      gchar *what = g_strdup_printf ("A %ux%u %s frame", si.width, si.height,
          si.format);

      gst_shmring_sink_post_too_large (self, what, si.frame_size, str);
      g_free (what);
      g_free (str);
      return FALSE;
    }
  }

  r = gst_shmring_writer_call (self->writer, set_stream_fn, &si);
  if (r < 0) {
    if (r == -EINTR) {
      g_free (str);
      return FALSE;
    }
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not publish the stream format on channel \"%s\": %s.",
            self->name, shmring_last_error ()),
        ("%s; caps: %s", shmring_strerror (r), str));
    g_free (str);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "stream format: %s", str);
  g_free (str);

  GST_OBJECT_LOCK (self);
  self->raw = raw;
  if (raw)
    self->info = info;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_shmring_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);
  GstCaps *caps = NULL;
  GstVideoInfo info;
  GstBufferPool *pool;
  GstStructure *config;
  guint lent;
  gboolean need_pool;

  gst_query_parse_allocation (query, &caps, &need_pool);
  if (caps == NULL || self->writer == NULL)
    return FALSE;
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  if (!gst_video_info_from_caps (&info, caps))
    return TRUE;                /* variable-size frames: copied once */

  if (GST_VIDEO_INFO_SIZE (&info) > self->max_frame) {
    GST_INFO_OBJECT (self, "slots too small to lend buffers of %"
        G_GSIZE_FORMAT " bytes", GST_VIDEO_INFO_SIZE (&info));
    return TRUE;
  }

  lent = gst_shmring_writer_max_lent (self->writer);
  if (lent == 0)
    return TRUE;
  pool = gst_shmring_pool_new (self->writer);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, GST_VIDEO_INFO_SIZE (&info),
      0, lent);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)) {
    gst_object_unref (pool);
    return TRUE;
  }
  /* At most `lent` buffers out at once: an element that must keep more
   * makes a pool of its own. */
  gst_query_add_allocation_pool (query, pool, GST_VIDEO_INFO_SIZE (&info), 0,
      lent);
  gst_object_unref (pool);
  return TRUE;
}

/* TRUE if buf carries a video meta whose layout differs from info's. */
static gboolean
needs_relayout (GstBuffer * buf, const GstVideoInfo * info)
{
  GstVideoMeta *vm = gst_buffer_get_video_meta (buf);
  guint i;

  if (vm == NULL)
    return FALSE;
  for (i = 0; i < vm->n_planes; i++) {
    if (vm->offset[i] != GST_VIDEO_INFO_PLANE_OFFSET (info, i) ||
        vm->stride[i] != GST_VIDEO_INFO_PLANE_STRIDE (info, i))
      return TRUE;
  }
  return FALSE;
}

/* Post a "shmring-reader" element message for a reader that attached or
 * left. */
static void
gst_shmring_sink_post_reader (GstShmringSink * self, gint pid,
    gboolean attached, guint n)
{
  GST_INFO_OBJECT (self, "reader (pid %d) %s channel %s", pid, attached ?
      "attached to" : "left", self->name);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("shmring-reader", "channel", G_TYPE_STRING,
              self->name, "attached", G_TYPE_BOOLEAN, attached, "pid",
              G_TYPE_INT, pid, "readers", G_TYPE_UINT, n, NULL)));
}

/* Watch thread: for each reader that attached or left since the last
 * look, post a "shmring-reader" element message; notify readers and
 * reader-attached when the count changed. */
static void
gst_shmring_sink_check_readers (GstShmringSink * self)
{
  struct shmring_stats st;
  guint i, n = 0, old;

  if (shmring_producer_stats (self->watch_p, &st) < 0)
    return;
  for (i = 0; i < SHMRING_MAX_READERS; i++)
    if (st.reader[i].pid != 0)
      n++;
  GST_OBJECT_LOCK (self);
  old = self->readers;
  self->readers = n;
  self->dropped_gone = st.frames_dropped_gone;
  GST_OBJECT_UNLOCK (self);
  /* notified before the messages: a message's receiver reads the new value */
  if (old != n) {
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READERS]);
    if ((old == 0) != (n == 0))
      g_object_notify_by_pspec (G_OBJECT (self),
          properties[PROP_READER_ATTACHED]);
  }
  for (i = 0; i < SHMRING_MAX_READERS; i++) {
    gint was = self->reader_pids[i], is = st.reader[i].pid;

    if (was == is)
      continue;
    self->reader_pids[i] = is;
    if (was != 0)
      gst_shmring_sink_post_reader (self, was, FALSE, n);
    if (is != 0)
      gst_shmring_sink_post_reader (self, is, TRUE, n);
  }
}

static gpointer
gst_shmring_sink_watch (gpointer data)
{
  GstShmringSink *self = data;
  uint32_t changes = 0;
  int r;

  while ((r = shmring_producer_watch_readers (self->watch_p, &changes,
              SHMRING_FOREVER, &self->watch_cancel)) >= 0)
    gst_shmring_sink_check_readers (self);
  if (r != -EINTR)
    GST_WARNING_OBJECT (self, "stopped watching readers: %s",
        shmring_last_error ());
  return NULL;
}

static int
wait_reader_fn (shmring_producer * p, gpointer data)
{
  (void) data;
  return shmring_producer_wait_reader (p, SHMRING_FOREVER);
}

static int
set_seq_fn (shmring_producer * p, gpointer data)
{
  return shmring_producer_set_seq (p, *(guint64 *) data);
}

/* sequence=offset: the number of this buffer's frame, from its offset; set
 * as the channel's next number.  A number that goes back (the sending
 * channel restarted) continues after the last one, flagged DISCONT, and
 * says so in a "shmring-sequence" element message. */
static int
gst_shmring_sink_number (GstShmringSink * self, GstBuffer * buf,
    struct shmring_meta *meta, guint64 * seq)
{
  guint64 offset = GST_BUFFER_OFFSET (buf);
  guint64 want;

  if (!GST_BUFFER_OFFSET_IS_VALID (buf))
    want = self->have_last_seq ? self->last_seq + 1 : 0;
  else if (!self->have_last_seq) {
    want = offset;
    GST_INFO_OBJECT (self, "channel \"%s\" numbers frames from buffer "
        "offsets, starting at %" G_GUINT64_FORMAT, self->name, want);
  } else {
    want = offset + self->seq_delta;
    if (want <= self->last_seq) {
      GST_INFO_OBJECT (self, "buffer offset %" G_GUINT64_FORMAT " would "
          "number a frame %" G_GUINT64_FORMAT ", not after the last one, %"
          G_GUINT64_FORMAT ": upstream numbering restarted; channel \"%s\" "
          "goes on at %" G_GUINT64_FORMAT, offset, offset + self->seq_delta,
          self->last_seq, self->name, self->last_seq + 1);
      want = self->last_seq + 1;
      self->seq_delta = want - offset;
      meta->flags |= SHMRING_FLAG_DISCONT;
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_element (GST_OBJECT (self),
              gst_structure_new ("shmring-sequence", "channel",
                  G_TYPE_STRING, self->name, "offset", G_TYPE_UINT64, offset,
                  "seq", G_TYPE_UINT64, want, NULL)));
    }
  }
  *seq = want;
  return gst_shmring_writer_call (self->writer, set_seq_fn, &want);
}

/* wait-for-reader: publish nothing before the first reader attached
 * (then go on, as with a reader that leaves). */
static GstFlowReturn
gst_shmring_sink_wait_first_reader (GstShmringSink * self)
{
  int r;

  for (;;) {
    GstFlowReturn ret;

    r = gst_shmring_writer_call (self->writer, wait_reader_fn, NULL);
    if (r != -EINTR)
      break;
    /* unlock(): flushing, or a state change; wait_preroll tells which. */
    ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
    if (ret != GST_FLOW_OK)
      return ret;
  }
  if (r < 0 && r != -ESHUTDOWN) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not wait for a reader on channel \"%s\": %s.", self->name,
            shmring_strerror (r)), ("%s", shmring_last_error ()));
    return GST_FLOW_ERROR;
  }
  self->had_reader = TRUE;
  return GST_FLOW_OK;
}

/* Publish buf through the writer, waiting (lossless) as long as it takes
 * unless unlock() ends the wait: 0 rendered in place, 1 copied, or a
 * negative code; *ret is set when a flush or state change ended it. */
static int
gst_shmring_sink_publish (GstShmringSink * self, GstBuffer * buf,
    const struct shmring_meta *meta, GstFlowReturn * ret)
{
  const GstVideoInfo *relayout = self->raw &&
      needs_relayout (buf, &self->info) ? &self->info : NULL;
  int r;

  *ret = GST_FLOW_OK;
  while ((r = gst_shmring_writer_publish (self->writer, buf, meta,
              relayout)) == -EINTR) {
    *ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
    if (*ret != GST_FLOW_OK)
      break;
  }
  return r;
}

static int
take_stalled_fn (shmring_producer * p, gpointer data)
{
  return shmring_producer_take_stalled (p, data, SHMRING_MESSAGE_MAX);
}

/* Each reader the stall timeout made live since the last look: a warning
 * naming its pid and the property, and a "shmring-reader-stalled" element
 * message (fields channel, pid, stall-timeout). */
static void
gst_shmring_sink_report_stalls (GstShmringSink * self)
{
  gchar msg[SHMRING_MESSAGE_MAX];
  int pid;

  while ((pid = gst_shmring_writer_call (self->writer, take_stalled_fn,
              msg)) > 0) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Reader pid %d of channel \"%s\" took no frame while the sink "
            "waited %" GST_TIME_FORMAT " for it (stall-timeout): it is live "
            "until it catches up, and loses frames meanwhile.", pid,
            self->name, GST_TIME_ARGS (self->stall_ns)), ("%s", msg));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("shmring-reader-stalled", "channel",
                G_TYPE_STRING, self->name, "pid", G_TYPE_INT, pid,
                "stall-timeout", G_TYPE_UINT64, self->stall_ns, NULL)));
  }
}

/* What a publish's result means for the pipeline. */
static GstFlowReturn
gst_shmring_sink_published (GstShmringSink * self, GstBuffer * buf, int r)
{
  switch (r) {
    case 0:
      return GST_FLOW_OK;
    case 1:
      GST_OBJECT_LOCK (self);
      self->frames_copied++;
      GST_OBJECT_UNLOCK (self);
      return GST_FLOW_OK;
    case -ENOBUFS:
      GST_LOG_OBJECT (self, "no slot for the frame, dropped");
      GST_OBJECT_LOCK (self);
      self->frames_dropped++;
      GST_OBJECT_UNLOCK (self);
      g_object_notify_by_pspec (G_OBJECT (self),
          properties[PROP_FRAMES_DROPPED]);
      return GST_FLOW_OK;
    case -EMSGSIZE:
      gst_shmring_sink_post_too_large (self, "A frame",
          gst_buffer_get_size (buf), shmring_last_error ());
      return GST_FLOW_ERROR;
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not write a frame to channel \"%s\": %s.", self->name,
              shmring_strerror (r)), ("%s", shmring_last_error ()));
      return GST_FLOW_ERROR;
  }
}

static GstFlowReturn
gst_shmring_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);
  struct shmring_meta meta;
  GstFlowReturn ret;
  guint64 seq = 0;
  int r;

  if (self->writer == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("No caps before the first buffer: channel \"%s\" is created "
            "with the first caps.", self->pending_name ? self->pending_name :
            "(none)"), (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!self->keep_newest && !self->had_reader &&
      (ret = gst_shmring_sink_wait_first_reader (self)) != GST_FLOW_OK)
    return ret;

  meta.pts = gst_shmring_time_to_ring (GST_BUFFER_PTS (buf));
  meta.dts = gst_shmring_time_to_ring (GST_BUFFER_DTS (buf));
  meta.duration = gst_shmring_time_to_ring (GST_BUFFER_DURATION (buf));
  meta.flags = gst_shmring_flags_from_buffer (buf);

  if (gst_shmring_writer_is_dropped (buf))
    /* dropped and counted when the pool found no slot for it */
    return gst_shmring_sink_published (self, buf, -ENOBUFS);
  if (self->seq_mode == SEQUENCE_OFFSET &&
      (r = gst_shmring_sink_number (self, buf, &meta, &seq)) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not number a frame of channel \"%s\": %s.", self->name,
            shmring_strerror (r)), ("%s", shmring_last_error ()));
    return GST_FLOW_ERROR;
  }
  r = gst_shmring_sink_publish (self, buf, &meta, &ret);
  if (self->stall_ns)
    gst_shmring_sink_report_stalls (self);
  if (ret != GST_FLOW_OK)
    return ret;
  if (r >= 0 && self->seq_mode == SEQUENCE_OFFSET) {
    self->last_seq = seq;
    self->have_last_seq = TRUE;
  }
  return gst_shmring_sink_published (self, buf, r);
}

static int
eos_fn (shmring_producer * p, gpointer data)
{
  (void) data;
  return shmring_producer_eos (p, SHMRING_FOREVER);
}

static gboolean
gst_shmring_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstShmringSink *self = GST_SHMRING_SINK (bsink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->writer) {
    int r = gst_shmring_writer_call (self->writer, eos_fn, NULL);

    if (self->stall_ns)
      gst_shmring_sink_report_stalls (self);

    if (r < 0 && r != -EINTR)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Could not write end of stream to channel \"%s\": %s.", self->name,
              shmring_strerror (r)), ("%s", shmring_last_error ()));
    else
      GST_DEBUG_OBJECT (self, "end of stream written (%d)", r);
  }
  return GST_BASE_SINK_CLASS (gst_shmring_sink_parent_class)->event (bsink,
      event);
}

static void
gst_shmring_sink_class_init (GstShmringSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_shmring_sink_debug, "shmringsink", 0,
      "shmring shared-memory sink");

  gst_element_class_set_static_metadata (element_class,
      "Shared-memory ring sink", "Sink/Video",
      "Publishes buffers (raw video, or any caps) on a shmring shared-memory "
      "channel for another process to read", SHMRING_CONTACT);
  gst_element_class_add_static_pad_template (element_class, &sink_template);

  gobject_class->set_property = gst_shmring_sink_set_property;
  gobject_class->get_property = gst_shmring_sink_get_property;
  gobject_class->finalize = gst_shmring_sink_finalize;

  properties[PROP_CHANNEL] = g_param_spec_string ("channel", "Channel",
      "Name of the channel (abstract socket @shmring/NAME); NULL = the "
      "element's name", DEFAULT_CHANNEL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_MAX_FRAME_SIZE] = g_param_spec_uint64 ("max-frame-size",
      "Maximum frame size", "Bytes of the largest frame (the size of a "
      "slot, rounded up to 4096); 0 = the frame size of the first caps for "
      "raw video, 4 MiB for other caps", 0, SHMRING_MAX_SLOT_SIZE,
      DEFAULT_MAX_FRAME_SIZE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_POLICY] = g_param_spec_enum ("policy", "Flow policy",
      "What to do when a reader's queue is full; auto = live for a live "
      "upstream, lossless otherwise (chosen when the channel is created)",
      GST_TYPE_SHMRING_POLICY,
      DEFAULT_POLICY,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_MAX_READERS] = g_param_spec_uint ("max-readers",
      "Maximum readers", "Readers attached at once; one more is refused "
      "with an error naming the limit and the readers' pids", 1,
      SHMRING_MAX_READERS, DEFAULT_MAX_READERS,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_QUEUE_LENGTH] = g_param_spec_uint ("queue-length",
      "Queue length", "Frames queued for each reader before the policy "
      "applies; 0 = 8 under lossless (room for a reader's hiccups), 2 under "
      "drop-new and live (what a lagging reader sees first stays fresh)", 0,
      SHMRING_QUEUE_MAX, DEFAULT_QUEUE_LENGTH,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_MAX_HOLDS] = g_param_spec_uint ("max-holds",
      "Maximum holds", "Frames each reader may hold at once (taken and not "
      "yet given back); 3 lets a reader lend the frame being rendered and "
      "its sink's last sample and still take the next frame without a copy",
      1, SHMRING_HOLDS_MAX, DEFAULT_MAX_HOLDS,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_SHARE_GROUP] = g_param_spec_string ("share-group",
      "Share with group", "Also accept readers in this group (a name or a "
      "numeric gid); NULL = only this user (and root)", NULL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_SHARE_USER] = g_param_spec_string ("share-user",
      "Share with user", "Also accept readers of this user (a name or a "
      "numeric uid); NULL = only this user (and root)", NULL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_WAIT_FOR_READER] = g_param_spec_enum ("wait-for-reader",
      "Wait for reader", "Before the first reader: wait for it before the "
      "first frame, as for a file (true), or go on, as for a camera (false); "
      "auto chooses from whether upstream is live. Posts a "
      "\"shmring-wait-for-reader\" element message saying which",
      GST_TYPE_SHMRING_WAIT_FOR_READER, DEFAULT_WAIT_FOR_READER,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_SEQUENCE] = g_param_spec_enum ("sequence",
      "Frame numbers", "How frames are numbered: own (0, 1, 2, ...) or "
      "offset (each buffer's offset, as shmringsrc sets it and GDP carries "
      "it: a network receiver keeps the sending channel's numbers, and a "
      "gap counts as frames lost before this channel). Numbers going back "
      "(the sending channel restarted) go on from the last one, posting a "
      "\"shmring-sequence\" element message",
      GST_TYPE_SHMRING_SEQUENCE, DEFAULT_SEQUENCE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_STALL_TIMEOUT] = g_param_spec_uint64 ("stall-timeout",
      "Stall timeout", "Nanoseconds a lossless reader may hold the sink "
      "back (its queue full, nothing taken) before it is made live until it "
      "catches up: the sink goes on, that reader loses its oldest queued "
      "frames, and a warning and a \"shmring-reader-stalled\" element "
      "message name its pid; 0 = wait for it as long as it takes; "
      "18446744073709551615 (auto) = 2 s when upstream is live, 0 otherwise",
      0, G_MAXUINT64, DEFAULT_STALL_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_FRAMES_WRITTEN] = g_param_spec_uint64 ("frames-written",
      "Frames written", "Frames published on the channel", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_DROPPED] = g_param_spec_uint64 ("frames-dropped",
      "Frames dropped", "Frames dropped (drop-new) or reclaimed unread (live), summed "
      "over the readers, those that left included, plus frames the sink "
      "could not publish",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_COPIED] = g_param_spec_uint64 ("frames-copied",
      "Frames copied", "Frames written by copying the buffer into a slot "
      "(the others were rendered in place through the sink's buffer pool)",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_READERS] = g_param_spec_uint ("readers", "Readers",
      "Readers attached to the channel (notified when one attaches or "
      "leaves, with a \"shmring-reader\" element message)", 0,
      SHMRING_MAX_READERS, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_READER_ATTACHED] = g_param_spec_boolean ("reader-attached",
      "Reader attached", "Whether at least one reader is attached (readers "
      "> 0)", FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_shmring_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_shmring_sink_stop);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_shmring_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_shmring_sink_unlock_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_shmring_sink_set_caps);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_shmring_sink_propose_allocation);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_shmring_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_shmring_sink_event);

  gst_type_mark_as_plugin_api (GST_TYPE_SHMRING_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SHMRING_WAIT_FOR_READER, 0);
}

static void
gst_shmring_sink_init (GstShmringSink * self)
{
  self->channel = g_strdup (DEFAULT_CHANNEL);
  self->max_frame_size = DEFAULT_MAX_FRAME_SIZE;
  self->policy = DEFAULT_POLICY;
  self->max_readers = DEFAULT_MAX_READERS;
  self->queue_length = DEFAULT_QUEUE_LENGTH;
  self->max_holds = DEFAULT_MAX_HOLDS;
  self->wait_for_reader = DEFAULT_WAIT_FOR_READER;
  self->stall_timeout = DEFAULT_STALL_TIMEOUT;
  /* The last sample would point at a slot the producer reuses. */
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}
