/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringsrc.c: shmringsrc, reads the frames of a shmring shared-memory channel. */

/**
 * SECTION:element-shmringsrc
 * @title: shmringsrc
 * @see_also: shmringsink
 *
 * shmringsrc reads the frames another process publishes with shmringsink
 * (or with the `shmring` Python writer).  Several shmringsrc may read one
 * channel, each its own reader with its own queue, up to the sink's
 * max-readers; one more fails with an error naming the limit and the
 * readers' pids.  Its caps come from the channel:
 * no capsfilter is needed, and when the producer changes caps mid-stream,
 * the new caps reach downstream before the first frame that has them.
 * Buffers wrap the shared memory itself (no copy, read-only); each frame's
 * space is given back to the producer when downstream frees the buffer, in
 * any order.  A source holds at most #GstShmringSrc:holds frames at once
 * (0: as many as the producer allows); when downstream keeps that many,
 * the source waits for one to come back, at most as long as copying a
 * frame takes, and then copies the next frame and gives it back at once
 * (downstream that keeps frames until it gets more, an encoder's
 * look-ahead, gets copies; #GstShmringSrc:frames-copied counts them).
 * A sink keeps its last buffer (`enable-last-sample`, on by default), so
 * a source that lends the frame being rendered and that one still needs
 * a third hold to take the next frame without a copy: the producer's
 * default, shmringsink max-holds=3, gives it.  PTS, DTS, duration and
 * buffer flags are those the producer had; a gap in the frames' sequence
 * numbers (frames dropped by the producer or skipped with
 * #GstShmringSrc:latest) marks the next buffer DISCONT and is counted in
 * #GstShmringSrc:frames-missed.
 *
 * The channel is named after the element unless #GstShmringSrc:channel is
 * set.  The source waits for a producer to appear for
 * #GstShmringSrc:timeout (forever by default), so the two sides can start
 * in any order; it gets the frames committed after it attached.  After a
 * second of waiting it posts a warning naming the channel and any running
 * channel with a similar name ("did you mean 'cam'?"), and says so again
 * at INFO level every 5 s.  With #GstShmringSrc:latest the source attaches
 * as a live reader: it never holds the producer back, whatever the sink's
 * policy, and always takes the newest frame.
 *
 * Before frames go downstream, the frame layout the producer published
 * (format, size, plane offsets and strides) is checked against the caps
 * and against the frame size: a broken producer or a corrupt pool is
 * an error naming the channel, never a read past a buffer downstream.  The end of stream of the producer becomes this pipeline's
 * EOS.  If the producer dies or stops without end of stream, the source
 * posts an error naming the channel, or, with #GstShmringSrc:reconnect,
 * waits for the next producer and goes on (the next buffer is DISCONT).
 *
 * ## Timestamps and clocks
 *
 * shmringsrc is a live source.  The producer's timestamps are running
 * times of the producer's pipeline, which mean nothing to this pipeline's
 * clock, so by default (#GstShmringSrc:timestamp-mode `running-time`) the
 * source adds one constant offset to every PTS and DTS: the one that puts
 * the first frame at the running time, in this pipeline, at which the
 * producer committed it.  Durations, and differences between timestamps,
 * are unchanged; the offset is computed again after a reconnection.  With
 * `timestamp-mode=producer` the producer's PTS and DTS are pushed as-is
 * (both pipelines then need a common clock and base time for sync=true
 * sinks to make sense of them).  With the base class's `do-timestamp=true`
 * each buffer is stamped with the time it arrived instead.  The reported
 * latency is one frame duration (from the stream's frame rate).
 *
 * Every buffer also carries a #GstReferenceTimestampMeta with the caps
 * `timestamp/x-shmring-commit`: the producer's CLOCK_MONOTONIC time, in
 * ns, at which it committed the frame.  On the same host, subtracting it
 * from `g_get_monotonic_time () * 1000` gives the latency across the
 * two processes.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=BGR,width=1920,height=1080,framerate=30/1 ! shmringsink name=cam
 * gst-launch-1.0 shmringsrc name=cam ! videoconvert ! autovideosink
 * ]| Show channel `cam` from another process.
 * |[
 * gst-launch-1.0 -e videotestsrc num-buffers=300 ! x264enc ! shmringsink channel=h264
 * gst-launch-1.0 shmringsrc channel=h264 reconnect=true ! h264parse ! mp4mux ! filesink location=out.mp4
 * ]| Record an encoded stream, surviving restarts of the producer.
 */

#include "gstshmringelements.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (gst_shmring_src_debug);
#define GST_CAT_DEFAULT gst_shmring_src_debug

#define GST_TYPE_SHMRING_SRC (gst_shmring_src_get_type ())
G_DECLARE_FINAL_TYPE (GstShmringSrc, gst_shmring_src, GST, SHMRING_SRC,
    GstPushSrc);

#define GST_TYPE_SHMRING_TIMESTAMP_MODE (gst_shmring_timestamp_mode_get_type ())
typedef enum
{
  TIMESTAMP_MODE_RUNNING_TIME = 0,
  TIMESTAMP_MODE_PRODUCER = 1,
} GstShmringTimestampMode;

#define DEFAULT_CHANNEL NULL
#define DEFAULT_TIMEOUT (-1)
#define DEFAULT_RECONNECT FALSE
#define DEFAULT_LATEST FALSE
#define DEFAULT_HOLDS 0

#define DEFAULT_TIMESTAMP_MODE TIMESTAMP_MODE_RUNNING_TIME

/* A source waiting for a producer says so on the bus after
 * WAIT_WARN_AFTER, then at INFO level every WAIT_REPORT_INTERVAL. */
#define WAIT_WARN_AFTER (1 * GST_SECOND)
#define WAIT_REPORT_INTERVAL (5 * GST_SECOND)
/* reconnect=true, a producer that hangs up before a frame: wait 10 ms
 * before the next try, twice as long each time, at most 1 s; say so on
 * the bus at the BACKOFF_WARN_AFTER-th time in a row. */
#define BACKOFF_FIRST (10 * GST_MSECOND)
#define BACKOFF_MAX GST_SECOND
#define BACKOFF_WARN_AFTER 5

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_TIMEOUT,
  PROP_RECONNECT,
  PROP_LATEST,
  PROP_HOLDS,
  PROP_TIMESTAMP_MODE,
  PROP_PRODUCER_USER,
  PROP_PRODUCER_GROUP,
  PROP_FRAMES_RECEIVED,
  PROP_FRAMES_MISSED,
  PROP_FRAMES_COPIED,
  PROP_GENERATION,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

/* The consumer handle, shared by the element and every buffer out. */
typedef struct
{
  gint refcount;
  shmring_consumer *c;
  /* lock and cond: create() waiting for a release, and flushing */
  GMutex lock;
  GCond cond;
  gint waiters;                 /* create() waiting for a release (atomic) */
  gboolean flushing;
} ConsumerRef;

/* One frame lent downstream, given back when its memory is freed. */
typedef struct
{
  ConsumerRef *cr;
  struct shmring_frame frame;
} HeldFrame;

struct _GstShmringSrc
{
  GstPushSrc parent;

  /* properties, under the object lock */
  gchar *channel;
  gint64 timeout;
  gboolean reconnect;
  gboolean latest;
  guint holds;
  GstShmringTimestampMode ts_mode;
  gchar *producer_user;
  gchar *producer_group;

  /* under the object lock: the handle, and the flushing state */
  ConsumerRef *cr;
  gboolean flushing;
  GCond backoff_cond;           /* signalled when flushing starts */
  guint64 frames_received;
  guint64 frames_missed;
  guint64 frames_copied;
  guint64 generation;

  /* streaming thread */
  gchar *name;
  guint32 trust, trust_uid, trust_gid;  /* from producer-user / -group */
  gboolean got_frame;           /* since the last attach */
  guint lost_runs;              /* producers in a row that hung up before a frame */
  GstCaps *caps;
  GstClockTime frame_duration;
  gboolean have_seq;
  guint64 next_seq;
  gboolean discont;
  gboolean have_offset;
  gint64 ts_offset;
  GstVideoInfo info;
  gboolean raw;
  gboolean add_meta;
  GstCaps *commit_caps;         /* timestamp/x-shmring-commit */
  guint holds_granted;          /* frames this reader may hold at once */
  struct shmring_cancel attach_cancel;  /* fired by unlock(): ends a wait
                                         * for a producer at once */
  /* Buffers that frames are copied into once downstream keeps more than
   * the holds allow: reused, so a copy does not pay for fresh pages. */
  GstBufferPool *copy_pool;
  gsize copy_size;
  gint64 copy_us;               /* what a copy takes (running average) */
};

G_DEFINE_TYPE (GstShmringSrc, gst_shmring_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (shmringsrc, "shmringsrc", GST_RANK_NONE,
    GST_TYPE_SHMRING_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

static GType
gst_shmring_timestamp_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {TIMESTAMP_MODE_RUNNING_TIME,
          "Producer timestamps plus one constant offset that maps them onto "
          "this pipeline's running time", "running-time"},
    {TIMESTAMP_MODE_PRODUCER, "Producer timestamps unchanged", "producer"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstShmringTimestampMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static ConsumerRef *
consumer_ref (ConsumerRef * cr)
{
  g_atomic_int_inc (&cr->refcount);
  return cr;
}

static void
consumer_unref (ConsumerRef * cr)
{
  if (cr && g_atomic_int_dec_and_test (&cr->refcount)) {
    shmring_consumer_close (cr->c);
    g_mutex_clear (&cr->lock);
    g_cond_clear (&cr->cond);
    g_free (cr);
  }
}

static void
held_frame_free (gpointer data)
{
  HeldFrame *hf = data;
  ConsumerRef *cr = hf->cr;

  shmring_consumer_release (cr->c, &hf->frame);
  /* A waiter counts itself before it looks at the frames held, under the
   * library's lock as the release above: either it sees this release, or
   * this load sees it waiting.  Taking cr->lock then means it sleeps. */
  if (g_atomic_int_get (&cr->waiters) > 0) {
    g_mutex_lock (&cr->lock);
    g_mutex_unlock (&cr->lock);
    g_cond_signal (&cr->cond);
  }
  consumer_unref (cr);
  g_free (hf);
}

/* The source holds its most frames: wait until downstream gives one back,
 * but no longer than until deadline (monotonic, us).  1 if a frame came
 * back, 0 if none did, -1 if flushing started. */
static gint
consumer_wait_release (ConsumerRef * cr, guint holds, gint64 deadline)
{
  gint ret;

  g_mutex_lock (&cr->lock);
  g_atomic_int_inc (&cr->waiters);
  while (!cr->flushing && shmring_consumer_held (cr->c) >= holds &&
      g_cond_wait_until (&cr->cond, &cr->lock, deadline));
  g_atomic_int_add (&cr->waiters, -1);
  ret = cr->flushing ? -1 : shmring_consumer_held (cr->c) < holds;
  g_mutex_unlock (&cr->lock);
  return ret;
}

static void
gst_shmring_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstShmringSrc *self = GST_SHMRING_SRC (object);

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
    case PROP_TIMEOUT:
      self->timeout = g_value_get_int64 (value);
      break;
    case PROP_RECONNECT:
      self->reconnect = g_value_get_boolean (value);
      break;
    case PROP_LATEST:
      self->latest = g_value_get_boolean (value);
      break;
    case PROP_HOLDS:
      self->holds = g_value_get_uint (value);
      break;
    case PROP_TIMESTAMP_MODE:
      self->ts_mode = g_value_get_enum (value);
      break;
    case PROP_PRODUCER_USER:
      g_free (self->producer_user);
      self->producer_user = g_value_dup_string (value);
      break;
    case PROP_PRODUCER_GROUP:
      g_free (self->producer_group);
      self->producer_group = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_shmring_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstShmringSrc *self = GST_SHMRING_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHANNEL:
      g_value_set_string (value, self->channel);
      break;
    case PROP_TIMEOUT:
      g_value_set_int64 (value, self->timeout);
      break;
    case PROP_RECONNECT:
      g_value_set_boolean (value, self->reconnect);
      break;
    case PROP_LATEST:
      g_value_set_boolean (value, self->latest);
      break;
    case PROP_HOLDS:
      g_value_set_uint (value, self->holds);
      break;
    case PROP_TIMESTAMP_MODE:
      g_value_set_enum (value, self->ts_mode);
      break;
    case PROP_PRODUCER_USER:
      g_value_set_string (value, self->producer_user);
      break;
    case PROP_PRODUCER_GROUP:
      g_value_set_string (value, self->producer_group);
      break;
    case PROP_FRAMES_RECEIVED:
      g_value_set_uint64 (value, self->frames_received);
      break;
    case PROP_FRAMES_MISSED:
      g_value_set_uint64 (value, self->frames_missed);
      break;
    case PROP_FRAMES_COPIED:
      g_value_set_uint64 (value, self->frames_copied);
      break;
    case PROP_GENERATION:
      g_value_set_uint64 (value, self->generation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_shmring_src_finalize (GObject * object)
{
  GstShmringSrc *self = GST_SHMRING_SRC (object);

  g_free (self->channel);
  g_free (self->name);
  g_free (self->producer_user);
  g_free (self->producer_group);
  gst_caps_unref (self->commit_caps);
  g_cond_clear (&self->backoff_cond);
  G_OBJECT_CLASS (gst_shmring_src_parent_class)->finalize (object);
}

static gboolean
gst_shmring_src_start (GstBaseSrc * bsrc)
{
  GstShmringSrc *self = GST_SHMRING_SRC (bsrc);
  gchar *name, *bad = NULL;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->channel ? self->channel : GST_OBJECT_NAME (self));
  self->frames_received = 0;
  self->frames_missed = 0;
  self->frames_copied = 0;
  self->generation = 0;
  self->trust = 0;
  if (self->producer_user) {
    self->trust |= SHMRING_TRUST_UID;
    if (!gst_shmring_parse_id (self->producer_user, FALSE, &self->trust_uid))
      bad = g_strdup_printf ("producer-user=%s: no such user; give a user "
          "name or a numeric uid", self->producer_user);
  }
  if (self->producer_group) {
    self->trust |= SHMRING_TRUST_GID;
    if (!gst_shmring_parse_id (self->producer_group, TRUE, &self->trust_gid))
      bad = g_strdup_printf ("producer-group=%s: no such group; give a group "
          "name or a numeric gid", self->producer_group);
  }
  GST_OBJECT_UNLOCK (self);

  if (bad) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid producer trust for channel \"%s\": %s.", name, bad), (NULL));
    g_free (bad);
    g_free (name);
    return FALSE;
  }

  if (shmring_name_check (name) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid channel name \"%s\": use 1 to 99 characters from "
            "A-Z a-z 0-9 . _ - , not starting with '.'.", name),
        ("%s", shmring_last_error ()));
    g_free (name);
    return FALSE;
  }

  self->name = name;
  self->have_seq = FALSE;
  self->lost_runs = 0;
  self->discont = TRUE;
  self->have_offset = FALSE;
  self->frame_duration = GST_CLOCK_TIME_NONE;
  self->copy_us = 0;
  gst_caps_replace (&self->caps, NULL);
  return TRUE;
}

static gboolean
gst_shmring_src_stop (GstBaseSrc * bsrc)
{
  GstShmringSrc *self = GST_SHMRING_SRC (bsrc);
  ConsumerRef *cr;

  GST_OBJECT_LOCK (self);
  cr = self->cr;
  self->cr = NULL;
  GST_OBJECT_UNLOCK (self);
  /* Detaches now, or when downstream frees the last buffer it holds. */
  consumer_unref (cr);
  g_free (self->name);
  self->name = NULL;
  gst_caps_replace (&self->caps, NULL);
  if (self->copy_pool) {
    gst_buffer_pool_set_active (self->copy_pool, FALSE);
    gst_clear_object (&self->copy_pool);
  }
  return TRUE;
}

/* unlock() and unlock_stop(): wake, or stop waking, a blocked create(). */
static gboolean
gst_shmring_src_set_flushing (GstShmringSrc * self, gboolean flushing)
{
  GST_OBJECT_LOCK (self);
  self->flushing = flushing;
  g_cond_broadcast (&self->backoff_cond);
  if (flushing)
    shmring_cancel_fire (&self->attach_cancel);
  else
    shmring_cancel_reset (&self->attach_cancel);
  if (self->cr) {
    if (flushing)
      shmring_consumer_interrupt (self->cr->c);
    else
      shmring_consumer_resume (self->cr->c);
    g_mutex_lock (&self->cr->lock);
    self->cr->flushing = flushing;
    g_cond_broadcast (&self->cr->cond);
    g_mutex_unlock (&self->cr->lock);
  }
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_shmring_src_unlock (GstBaseSrc * bsrc)
{
  return gst_shmring_src_set_flushing (GST_SHMRING_SRC (bsrc), TRUE);
}

static gboolean
gst_shmring_src_unlock_stop (GstBaseSrc * bsrc)
{
  return gst_shmring_src_set_flushing (GST_SHMRING_SRC (bsrc), FALSE);
}

/* Edit distance between a and b, or more than max once it exceeds max. */
static guint
edit_distance (const gchar * a, const gchar * b, guint max)
{
  gsize la = strlen (a), lb = strlen (b), i, j;
  guint *row, best, ret;

  if ((la > lb ? la - lb : lb - la) > max)
    return max + 1;
  row = g_new (guint, lb + 1);
  for (j = 0; j <= lb; j++)
    row[j] = j;
  for (i = 1; i <= la; i++) {
    guint diag = row[0];

    row[0] = i;
    best = row[0];
    for (j = 1; j <= lb; j++) {
      guint up = row[j];

      row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1),
          diag + (a[i - 1] != b[j - 1]));
      diag = up;
      best = MIN (best, row[j]);
    }
    if (best > max) {
      g_free (row);
      return max + 1;
    }
  }
  ret = row[lb];
  g_free (row);
  return ret;
}

/* "; did you mean 'cam'?" for running channels whose name is close to
 * name (at most 2 edits, the same but for case, or a prefix of it or it of
 * theirs), or "" if there is none.  A channel is a listening abstract
 * socket "@shmring/NAME", listed in /proc/net/unix. */
static gchar *
gst_shmring_src_similar_channels (const gchar * name)
{
  const gchar *prefix = "@" SHMRING_SOCKET_PREFIX;
  GString *out = g_string_new (NULL);
  gchar *contents = NULL, **lines, **l;
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = 0;

  if (!g_file_get_contents ("/proc/net/unix", &contents, NULL, NULL))
    contents = g_strdup ("");
  lines = g_strsplit (contents, "\n", -1);
  for (l = lines; *l && n < 5; l++) {
    const gchar *other = strstr (*l, prefix);

    if (other == NULL)
      continue;
    other += strlen (prefix);
    if (strcmp (other, name) == 0 || shmring_name_check (other) < 0 ||
        g_hash_table_contains (seen, other))
      continue;
    g_hash_table_add (seen, (gpointer) other);
    if (g_ascii_strcasecmp (other, name) == 0 || edit_distance (other, name,
            2) <= 2 || (strlen (name) >= 2 && g_str_has_prefix (other, name))
        || (strlen (other) >= 2 && g_str_has_prefix (name, other))) {
      g_string_append_printf (out, "%s'%s'", n ? " or " : "; did you mean ",
          other);
      n++;
    }
  }
  g_hash_table_unref (seen);
  g_strfreev (lines);
  g_free (contents);
  if (n)
    g_string_append_c (out, '?');
  return g_string_free (out, FALSE);
}

/* Post the error for a failed attach or read (r: the library's code). */
static void
gst_shmring_src_post_error (GstShmringSrc * self, int r, gboolean opening)
{
  if (r == -EACCES) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Permission denied on channel \"%s\": %s. Share it from the "
            "producer with shmringsink share-user=USER or share-group=GROUP.",
            self->name, shmring_last_error ()), ("%s", shmring_strerror (r)));
  } else if (r == -EPERM) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Channel \"%s\" is not served by a trusted producer: %s.",
            self->name, shmring_last_error ()), ("%s", shmring_strerror (r)));
  } else if (r == -EBUSY) {
    GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
        ("Channel \"%s\" has all the readers it accepts: %s. Raise "
            "max-readers on its shmringsink.", self->name,
            shmring_last_error ()), ("%s", shmring_strerror (r)));
  } else if (r == -EBADMSG || r == -EPROTO) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE,
        ("Channel \"%s\" is corrupt%s: %s. Restart its producer.",
            self->name, r == -EPROTO ? ", of another protocol version, or "
            "disconnected this reader" : "", shmring_last_error ()),
        ("%s", shmring_strerror (r)));
  } else {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not %s channel \"%s\": %s.", opening ? "open" : "read from",
            self->name, shmring_strerror (r)), ("%s", shmring_last_error ()));
  }
}

/* reconnect=true and the producer hung up before a frame (again): wait
 * before the next try, longer each time in a row (bounded), so that a
 * producer that hangs up on every reader is not asked again and again at
 * once.  GST_FLOW_FLUSHING if unlock() ended the wait. */
static GstFlowReturn
gst_shmring_src_backoff (GstShmringSrc * self)
{
  GstClockTime wait = BACKOFF_FIRST;
  gint64 end;
  gboolean flushing;
  guint i;

  self->lost_runs++;
  for (i = 1; i < self->lost_runs && wait < BACKOFF_MAX; i++)
    wait *= 2;
  wait = MIN (wait, BACKOFF_MAX);
  if (self->lost_runs == BACKOFF_WARN_AFTER)
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("The producer of channel \"%s\" hung up %u times in a row before "
            "a frame; trying again at most once a second.", self->name,
            self->lost_runs), ("%s", shmring_last_error ()));
  else
    GST_INFO_OBJECT (self, "channel %s: producer lost %u times in a row "
        "before a frame; next try in %" GST_TIME_FORMAT, self->name,
        self->lost_runs, GST_TIME_ARGS (wait));
  end = g_get_monotonic_time () + (gint64) (wait / GST_USECOND);
  GST_OBJECT_LOCK (self);
  while (!self->flushing &&
      g_cond_wait_until (&self->backoff_cond, GST_OBJECT_GET_LOCK (self),
          end));
  flushing = self->flushing;
  GST_OBJECT_UNLOCK (self);
  return flushing ? GST_FLOW_FLUSHING : GST_FLOW_OK;
}

/* Attach to the channel, waiting for a producer of a generation other
 * than skip_gen (0: any). */
static GstFlowReturn
gst_shmring_src_attach (GstShmringSrc * self, guint64 skip_gen)
{
  struct shmring_consumer_options opts = { 0 };
  struct shmring_stats st;
  shmring_consumer *c = NULL;
  ConsumerRef *cr;
  gint64 timeout, deadline = -1, next_report;
  gboolean warned = FALSE;
  guint64 gen = 0;
  int r;

  GST_OBJECT_LOCK (self);
  timeout = self->timeout;
  opts.holds = self->holds;
  opts.mode = self->latest ? SHMRING_MODE_LIVE : SHMRING_MODE_CHANNEL;
  GST_OBJECT_UNLOCK (self);
  opts.trust = self->trust;
  opts.producer_uid = self->trust_uid;
  opts.producer_gid = self->trust_gid;
  next_report = g_get_monotonic_time () * 1000 + WAIT_WARN_AFTER;
  if (timeout >= 0)
    deadline = next_report - WAIT_WARN_AFTER + timeout;

  for (;;) {
    gint64 now, wait;
    gboolean flushing;

    GST_OBJECT_LOCK (self);
    flushing = self->flushing;
    GST_OBJECT_UNLOCK (self);
    if (flushing)
      return GST_FLOW_FLUSHING;

    /* Until the next report or the deadline; unlock() ends it at once. */
    now = g_get_monotonic_time () * 1000;
    wait = MAX (next_report - now, 0);
    if (deadline >= 0)
      wait = MAX (MIN (wait, deadline - now), 0);
    r = shmring_consumer_attach_cancel (self->name, &opts, wait,
        &self->attach_cancel, &c);
    if (r == 0) {
      gen = shmring_consumer_stats (c, &st) == 0 ? st.generation : 0;
      if (skip_gen == 0 || gen != skip_gen)
        break;
      /* The producer we lost, still there: wait for the next one, not
       * at once (one that hangs up on every reader stays there). */
      shmring_consumer_close (c);
      c = NULL;
      if (gst_shmring_src_backoff (self) != GST_FLOW_OK)
        return GST_FLOW_FLUSHING;
      r = -ENOENT;
    } else if (r != -ENOENT && r != -ETIMEDOUT && r != -EINTR) {
      gst_shmring_src_post_error (self, r, TRUE);
      return GST_FLOW_ERROR;
    }

    now = g_get_monotonic_time () * 1000;
    if (deadline >= 0 && now >= deadline) {
      gchar *hint = gst_shmring_src_similar_channels (self->name);

      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No producer on channel \"%s\" after waiting %.3f s%s.",
              self->name, timeout / 1e9, hint), ("%s", shmring_last_error ()));
      g_free (hint);
      return GST_FLOW_ERROR;
    }
    if (now >= next_report) {
      /* Say what we wait for: once on the bus, then at INFO level. */
      gchar *hint = gst_shmring_src_similar_channels (self->name);

      if (!warned && skip_gen == 0)
        GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
            ("Waiting for a producer on channel \"%s\"%s", self->name, hint),
            ("%s", shmring_last_error ()));
      else
        GST_INFO_OBJECT (self, "still waiting for a producer on channel "
            "\"%s\"%s", self->name, hint);
      g_free (hint);
      warned = TRUE;
      next_report = now + WAIT_REPORT_INTERVAL;
    }
  }

  self->got_frame = FALSE;
  /* The producer caps the holds asked for at its max_holds. */
  self->holds_granted = opts.holds && opts.holds < st.max_holds ?
      opts.holds : st.max_holds;
  cr = g_new0 (ConsumerRef, 1);
  cr->refcount = 1;
  cr->c = c;
  g_mutex_init (&cr->lock);
  g_cond_init (&cr->cond);
  GST_OBJECT_LOCK (self);
  self->cr = cr;
  self->generation = gen;
  cr->flushing = self->flushing;
  if (self->flushing)
    shmring_consumer_interrupt (c);
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "attached to channel %s, generation %"
      G_GUINT64_FORMAT ", %u holds", self->name, gen, self->holds_granted);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GENERATION]);

  self->have_seq = FALSE;
  self->discont = TRUE;
  self->have_offset = FALSE;
  return GST_FLOW_OK;
}

/* TRUE if the binary description of a raw video stream matches its caps
 * (info, from the caps) and every plane lies inside the frame: nothing
 * downstream may read past the buffer.  Else FALSE with *why set. */
static gboolean
gst_shmring_src_check_layout (const struct shmring_desc *desc,
    const GstVideoInfo * info, gchar ** why)
{
  const GstVideoFormatInfo *finfo = info->finfo;
  const gchar *fmt = gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (info));
  guint i, c;

  if (desc->n_planes == 0 || g_strcmp0 (desc->format, fmt) != 0 ||
      desc->width != (guint) GST_VIDEO_INFO_WIDTH (info) ||
      desc->height != (guint) GST_VIDEO_INFO_HEIGHT (info) ||
      desc->n_planes != GST_VIDEO_INFO_N_PLANES (info)) {
    *why = g_strdup_printf ("the frame layout says %ux%u %s in %u planes, "
        "the caps %dx%d %s in %u planes", desc->width, desc->height,
        desc->n_planes ? desc->format : "(not raw video)", desc->n_planes,
        GST_VIDEO_INFO_WIDTH (info), GST_VIDEO_INFO_HEIGHT (info), fmt,
        GST_VIDEO_INFO_N_PLANES (info));
    return FALSE;
  }
  for (i = 0; i < desc->n_planes; i++) {
    guint64 rows = 0, row_bytes = 0, end;
    gboolean complex = GST_VIDEO_FORMAT_INFO_IS_TILED (finfo) ||
        GST_VIDEO_FORMAT_INFO_HAS_PALETTE (finfo);

    /* The plane's rows, and the bytes a row needs, from its components. */
    for (c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo); c++) {
      guint64 w = GST_VIDEO_INFO_COMP_WIDTH (info, c), need;

      if (GST_VIDEO_FORMAT_INFO_PLANE (finfo, c) != i)
        continue;
      rows = MAX (rows, (guint64) GST_VIDEO_INFO_COMP_HEIGHT (info, c));
      if (GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c) <= 0)
        complex = TRUE;
      need = w == 0 || GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c) <= 0 ? 0 :
          GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c) +
          (guint64) GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c) * (w - 1) +
          (GST_VIDEO_FORMAT_INFO_DEPTH (finfo, c) + 7) / 8;
      row_bytes = MAX (row_bytes, need);
    }
    if (complex) {
      /* Tiled or packed in groups of pixels: only GStreamer's own layout,
       * whole, is known to fit. */
      if (desc->plane_offset[i] != GST_VIDEO_INFO_PLANE_OFFSET (info, i) ||
          desc->plane_stride[i] != (guint) GST_VIDEO_INFO_PLANE_STRIDE (info,
              i) || desc->frame_size < GST_VIDEO_INFO_SIZE (info)) {
        *why = g_strdup_printf ("plane %u (offset %" G_GUINT64_FORMAT
            ", stride %u) of a %" G_GUINT64_FORMAT "-byte %s frame is not "
            "GStreamer's layout for that format (offset %" G_GSIZE_FORMAT
            ", stride %d, %" G_GSIZE_FORMAT " bytes)", i,
            (guint64) desc->plane_offset[i], desc->plane_stride[i],
            (guint64) desc->frame_size, fmt,
            GST_VIDEO_INFO_PLANE_OFFSET (info, i),
            GST_VIDEO_INFO_PLANE_STRIDE (info, i), GST_VIDEO_INFO_SIZE (info));
        return FALSE;
      }
      continue;
    }
    end = desc->plane_offset[i] + (guint64) desc->plane_stride[i] * rows;
    if (desc->plane_stride[i] < row_bytes || desc->plane_offset[i] >
        desc->frame_size || end < desc->plane_offset[i] ||
        end > desc->frame_size) {
      *why = g_strdup_printf ("plane %u (offset %" G_GUINT64_FORMAT ", stride "
          "%u, %" G_GUINT64_FORMAT " rows of at least %" G_GUINT64_FORMAT
          " bytes) does not fit a %" G_GUINT64_FORMAT "-byte %ux%u %s frame",
          i, (guint64) desc->plane_offset[i], desc->plane_stride[i], rows,
          row_bytes, (guint64) desc->frame_size, desc->width, desc->height,
          fmt);
      return FALSE;
    }
  }
  return TRUE;
}

static GstFlowReturn
gst_shmring_src_set_stream (GstShmringSrc * self,
    const struct shmring_desc *desc)
{
  GstCaps *caps = gst_caps_from_string (desc->caps);
  GstClockTime old_duration = self->frame_duration;
  GstVideoInfo def;
  gchar *why = NULL;

  if (caps == NULL || !gst_caps_is_fixed (caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Channel \"%s\" announced caps GStreamer cannot use.", self->name),
        ("caps: %s", desc->caps));
    if (caps)
      gst_caps_unref (caps);
    return GST_FLOW_ERROR;
  }

  self->raw = gst_structure_has_name (gst_caps_get_structure (caps, 0),
      "video/x-raw") && gst_video_info_from_caps (&self->info, caps);
  if (self->raw && !gst_shmring_src_check_layout (desc, &self->info, &why)) {
    /* Downstream would trust the caps and read past the frame. */
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Channel \"%s\" describes its frames inconsistently: %s. "
            "Its producer is broken or the pool is corrupt.", self->name,
            why), ("caps: %s", desc->caps));
    g_free (why);
    gst_caps_unref (caps);
    return GST_FLOW_ERROR;
  }
  self->add_meta = FALSE;
  if (self->raw) {
    guint i;

    /* The producer's layout is the truth; say so when it is not the one
     * downstream would assume from the caps. */
    def = self->info;
    for (i = 0; i < desc->n_planes; i++) {
      if (desc->plane_offset[i] != GST_VIDEO_INFO_PLANE_OFFSET (&def, i) ||
          desc->plane_stride[i] != (guint) GST_VIDEO_INFO_PLANE_STRIDE (&def,
              i)) {
        self->add_meta = TRUE;
        GST_VIDEO_INFO_PLANE_OFFSET (&self->info, i) = desc->plane_offset[i];
        GST_VIDEO_INFO_PLANE_STRIDE (&self->info, i) = desc->plane_stride[i];
      }
    }
    GST_VIDEO_INFO_SIZE (&self->info) = desc->frame_size;
  }

  if (desc->fps_n > 0 && desc->fps_d > 0)
    self->frame_duration = gst_util_uint64_scale_int (GST_SECOND, desc->fps_d,
        desc->fps_n);
  else
    self->frame_duration = GST_CLOCK_TIME_NONE;

  if (self->caps == NULL || !gst_caps_is_equal (caps, self->caps)) {
    GST_INFO_OBJECT (self, "caps: %" GST_PTR_FORMAT, caps);
    if (!gst_base_src_set_caps (GST_BASE_SRC (self), caps)) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
          ("Downstream does not accept the caps of channel \"%s\".",
              self->name), ("caps: %s", desc->caps));
      gst_caps_unref (caps);
      return GST_FLOW_NOT_NEGOTIATED;
    }
    gst_caps_replace (&self->caps, caps);
  }
  gst_caps_unref (caps);

  if (old_duration != self->frame_duration)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  return GST_FLOW_OK;
}

/* Map a producer timestamp onto this pipeline (see "Timestamps and clocks"). */
static GstClockTime
gst_shmring_src_map_time (GstShmringSrc * self, guint64 t)
{
  gint64 out;

  if (t == SHMRING_NO_TIME)
    return GST_CLOCK_TIME_NONE;
  if (self->ts_mode == TIMESTAMP_MODE_PRODUCER)
    return t;
  out = (gint64) t + self->ts_offset;
  return out < 0 ? 0 : (GstClockTime) out;
}

static void
gst_shmring_src_compute_offset (GstShmringSrc * self,
    const struct shmring_frame *frame)
{
  guint64 ref = frame->meta.pts != SHMRING_NO_TIME ? frame->meta.pts :
      frame->meta.dts;
  GstClock *clock;
  gint64 rt_commit = 0;

  if (ref == SHMRING_NO_TIME)
    return;
  clock = gst_element_get_clock (GST_ELEMENT (self));
  if (clock) {
    GstClockTime now = gst_clock_get_time (clock);
    GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
    guint64 mono = shmring_now_ns ();
    gint64 age = mono > frame->commit_ns ? (gint64) (mono - frame->commit_ns)
        : 0;

    rt_commit = (gint64) (now - base) - age;
    if (rt_commit < 0)
      rt_commit = 0;
    gst_object_unref (clock);
  }
  self->ts_offset = rt_commit - (gint64) ref;
  self->have_offset = TRUE;
  GST_DEBUG_OBJECT (self, "timestamp offset %" G_GINT64_FORMAT " ns",
      self->ts_offset);
}

/* A buffer holding a copy of frame; for raw video (frames of one size)
 * from a pool of buffers, whose pages stay mapped and warm from one copy
 * to the next.  NULL if out of memory. */
static GstBuffer *
gst_shmring_src_copy (GstShmringSrc * self, const struct shmring_frame *frame)
{
  GstBuffer *buf = NULL;

  if (!self->raw)
    return gst_buffer_new_memdup (frame->data, frame->size);
  if (self->copy_pool == NULL || self->copy_size != frame->size) {
    GstStructure *config;

    if (self->copy_pool) {
      gst_buffer_pool_set_active (self->copy_pool, FALSE);
      gst_object_unref (self->copy_pool);
    }
    self->copy_pool = gst_buffer_pool_new ();
    self->copy_size = frame->size;
    config = gst_buffer_pool_get_config (self->copy_pool);
    gst_buffer_pool_config_set_params (config, NULL, frame->size, 0, 0);
    if (!gst_buffer_pool_set_config (self->copy_pool, config) ||
        !gst_buffer_pool_set_active (self->copy_pool, TRUE))
      gst_clear_object (&self->copy_pool);
  }
  if (self->copy_pool == NULL ||
      gst_buffer_pool_acquire_buffer (self->copy_pool, &buf, NULL) !=
      GST_FLOW_OK)
    return NULL;
  gst_buffer_fill (buf, 0, frame->data, frame->size);
  return buf;
}

/* Step 1: the next frame, attaching (and, with reconnect, attaching
 * again) as needed.  GST_FLOW_OK with *frame held through *out_cr (a
 * reference the caller owns); else EOS, FLUSHING or ERROR (posted). */
static GstFlowReturn
gst_shmring_src_take (GstShmringSrc * self, struct shmring_frame *frame,
    ConsumerRef ** out_cr)
{
  ConsumerRef *cr;
  GstFlowReturn ret;
  guint64 skip_gen = 0;
  unsigned flags;
  gboolean reconnect;
  int r;

again:
  GST_OBJECT_LOCK (self);
  cr = self->cr ? consumer_ref (self->cr) : NULL;
  flags = self->latest ? SHMRING_NEXT_LATEST : 0;
  reconnect = self->reconnect;
  GST_OBJECT_UNLOCK (self);

  if (cr == NULL) {
    ret = gst_shmring_src_attach (self, skip_gen);
    if (ret != GST_FLOW_OK)
      return ret;
    goto again;
  }

  r = shmring_consumer_next (cr->c, frame, SHMRING_FOREVER, flags);
  if (r == 0) {
    GST_INFO_OBJECT (self, "end of stream on channel %s", self->name);
    consumer_unref (cr);
    return GST_FLOW_EOS;
  }
  if (r == -EINTR) {
    consumer_unref (cr);
    return GST_FLOW_FLUSHING;
  }
  if (r == -EOWNERDEAD || r == -ESHUTDOWN) {
    if (reconnect) {
      if (self->got_frame || self->lost_runs == 0)
        GST_ELEMENT_WARNING (self, RESOURCE, READ,
            ("The producer of channel \"%s\" %s; waiting for the next one.",
                self->name, r == -EOWNERDEAD ? "died" :
                "stopped without end of stream"), ("%s",
                shmring_last_error ()));
      if (self->got_frame)
        self->lost_runs = 0;
      else if (gst_shmring_src_backoff (self) != GST_FLOW_OK) {
        consumer_unref (cr);
        return GST_FLOW_FLUSHING;
      }
      skip_gen = self->generation;
      GST_OBJECT_LOCK (self);
      if (self->cr == cr) {
        self->cr = NULL;
        consumer_unref (cr);
      }
      GST_OBJECT_UNLOCK (self);
      consumer_unref (cr);
      goto again;
    }
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("The producer of channel \"%s\" %s. %sTo wait for its next run "
            "instead, set reconnect=true on shmringsrc.", self->name,
            r == -EOWNERDEAD ? "died" : "stopped without end of stream",
            r == -EOWNERDEAD ? "" : "Stop a gst-launch-1.0 producer with "
            "gst-launch-1.0 -e, so that Ctrl-C sends end of stream first. "),
        ("%s", shmring_last_error ()));
    consumer_unref (cr);
    return GST_FLOW_ERROR;
  }
  if (r < 0) {
    gst_shmring_src_post_error (self, r, FALSE);
    consumer_unref (cr);
    return GST_FLOW_ERROR;
  }

  *out_cr = cr;
  return GST_FLOW_OK;
}

/* Step 2: the caps the frame names, then the frame as a buffer: lent
 * (its memory is the slot, given back when the buffer is freed) or, when
 * this reader holds its most, copied.  Takes the frame and cr. */
static GstFlowReturn
gst_shmring_src_wrap (GstShmringSrc * self, ConsumerRef * cr,
    const struct shmring_frame *f, GstBuffer ** out)
{
  struct shmring_frame frame = *f;
  HeldFrame *hf;
  GstBuffer *buf;
  GstMemory *mem;
  GstFlowReturn ret;
  gboolean copy;
  guint held;

  /* From here on the frame is held: any exit path releases it. */
  hf = g_new (HeldFrame, 1);
  hf->cr = cr;
  hf->frame = frame;

  if (frame.desc_changed || self->caps == NULL) {
    ret = gst_shmring_src_set_stream (self, frame.desc);
    if (ret != GST_FLOW_OK) {
      held_frame_free (hf);
      return ret;
    }
  }
  if (self->raw && frame.size < frame.desc->frame_size) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE,
        ("Channel \"%s\" sent a frame of %" G_GUINT64_FORMAT " bytes where "
            "its format needs %" G_GUINT64_FORMAT ".", self->name, frame.size,
            frame.desc->frame_size), ("caps: %s", frame.desc->caps));
    held_frame_free (hf);
    return GST_FLOW_ERROR;
  }

  /* Lending this frame too would leave this reader holding its most: the
   * next frame could not be taken while downstream (a sink keeping its
   * last buffer, queues, an encoder's look-ahead) keeps them.  Downstream
   * that is still working through its frames gives one back soon: wait
   * for that, at most as long as copying this frame would take; then copy
   * it and give it back.  With no other frame lent (one hold), none can
   * come back: copy at once. */
  held = shmring_consumer_held (cr->c);
  copy = held >= self->holds_granted;
  if (copy && held > 1 && self->copy_us > 0) {
    gint back = consumer_wait_release (cr, self->holds_granted,
        g_get_monotonic_time () + self->copy_us);

    if (back < 0) {
      held_frame_free (hf);
      return GST_FLOW_FLUSHING;
    }
    copy = !back;
  }
  if (copy) {
    gint64 t0 = g_get_monotonic_time (), t;

    GST_LOG_OBJECT (self, "holding %u frames, copying", self->holds_granted);
    buf = gst_shmring_src_copy (self, &frame);
    held_frame_free (hf);
    t = MAX (g_get_monotonic_time () - t0, 1);
    self->copy_us = self->copy_us ? (3 * self->copy_us + t) / 4 : t;
    if (buf == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Could not allocate %" G_GUINT64_FORMAT " bytes to copy a frame "
              "of channel \"%s\" into.", frame.size, self->name), (NULL));
      return GST_FLOW_ERROR;
    }
    GST_OBJECT_LOCK (self);
    self->frames_copied++;
    GST_OBJECT_UNLOCK (self);
  } else {
    mem = gst_memory_new_wrapped (GST_MEMORY_FLAG_READONLY,
        (gpointer) frame.data, frame.size, 0, frame.size, hf, held_frame_free);
    buf = gst_buffer_new ();
    gst_buffer_append_memory (buf, mem);
  }

  *out = buf;
  return GST_FLOW_OK;
}

/* Step 3: the frame's times, flags, number, commit time and layout. */
static void
gst_shmring_src_stamp (GstShmringSrc * self, GstBuffer * buf,
    const struct shmring_frame *f)
{
  const struct shmring_frame frame = *f;

  if (!self->have_offset && self->ts_mode == TIMESTAMP_MODE_RUNNING_TIME)
    gst_shmring_src_compute_offset (self, &frame);
  GST_BUFFER_PTS (buf) = gst_shmring_src_map_time (self, frame.meta.pts);
  GST_BUFFER_DTS (buf) = gst_shmring_src_map_time (self, frame.meta.dts);
  GST_BUFFER_DURATION (buf) = gst_shmring_time_from_ring (frame.meta.duration);
  GST_BUFFER_FLAG_UNSET (buf, GST_BUFFER_FLAG_TAG_MEMORY);
  gst_shmring_flags_to_buffer (buf, frame.meta.flags);
  GST_BUFFER_OFFSET (buf) = frame.seq;
  gst_buffer_add_reference_timestamp_meta (buf, self->commit_caps,
      frame.commit_ns, GST_CLOCK_TIME_NONE);

  if (self->add_meta) {
    gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_INFO_FORMAT (&self->info), GST_VIDEO_INFO_WIDTH (&self->info),
        GST_VIDEO_INFO_HEIGHT (&self->info),
        GST_VIDEO_INFO_N_PLANES (&self->info), self->info.offset,
        self->info.stride);
  }

}

/* Step 4: count the frame, and flag the first after a gap DISCONT. */
static void
gst_shmring_src_count (GstShmringSrc * self, GstBuffer * buf,
    const struct shmring_frame *f)
{
  const struct shmring_frame frame = *f;

  self->got_frame = TRUE;
  self->lost_runs = 0;
  GST_OBJECT_LOCK (self);
  self->frames_received++;
  if (self->have_seq && frame.seq != self->next_seq) {
    if (frame.seq > self->next_seq)
      self->frames_missed += frame.seq - self->next_seq;
    self->discont = TRUE;
    GST_OBJECT_UNLOCK (self);
    GST_DEBUG_OBJECT (self, "sequence gap: expected %" G_GUINT64_FORMAT
        ", got %" G_GUINT64_FORMAT, self->next_seq, frame.seq);
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_MISSED]);
  } else {
    GST_OBJECT_UNLOCK (self);
  }
  self->have_seq = TRUE;
  self->next_seq = frame.seq + 1;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }

}

static GstFlowReturn
gst_shmring_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstShmringSrc *self = GST_SHMRING_SRC (psrc);
  struct shmring_frame frame;
  ConsumerRef *cr = NULL;
  GstBuffer *buf = NULL;
  GstFlowReturn ret;

  ret = gst_shmring_src_take (self, &frame, &cr);
  if (ret == GST_FLOW_OK)
    ret = gst_shmring_src_wrap (self, cr, &frame, &buf);
  if (ret != GST_FLOW_OK)
    return ret;
  gst_shmring_src_stamp (self, buf, &frame);
  gst_shmring_src_count (self, buf, &frame);
  *outbuf = buf;
  return GST_FLOW_OK;
}

static GstCaps *
gst_shmring_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter)
{
  GstShmringSrc *self = GST_SHMRING_SRC (bsrc);
  GstCaps *caps;

  GST_OBJECT_LOCK (self);
  caps = self->caps ? gst_caps_ref (self->caps) : NULL;
  GST_OBJECT_UNLOCK (self);
  if (caps == NULL)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (bsrc));
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

static gboolean
gst_shmring_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstShmringSrc *self = GST_SHMRING_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime min = self->frame_duration;

    if (!GST_CLOCK_TIME_IS_VALID (min))
      min = 0;
    gst_query_set_latency (query, TRUE, min, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (gst_shmring_src_parent_class)->query (bsrc,
      query);
}

static void
gst_shmring_src_class_init (GstShmringSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_shmring_src_debug, "shmringsrc", 0,
      "shmring shared-memory source");

  gst_element_class_set_static_metadata (element_class,
      "Shared-memory ring source", "Source/Video",
      "Reads the frames another process publishes on a shmring shared-memory "
      "channel, without copying them", SHMRING_CONTACT);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  gobject_class->set_property = gst_shmring_src_set_property;
  gobject_class->get_property = gst_shmring_src_get_property;
  gobject_class->finalize = gst_shmring_src_finalize;

  properties[PROP_CHANNEL] = g_param_spec_string ("channel", "Channel",
      "Name of the channel (abstract socket @shmring/NAME); NULL = the "
      "element's name", DEFAULT_CHANNEL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_TIMEOUT] = g_param_spec_int64 ("timeout", "Timeout",
      "How long to wait for a producer, in ns (-1 = forever); then post an "
      "error", -1, G_MAXINT64, DEFAULT_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_RECONNECT] = g_param_spec_boolean ("reconnect", "Reconnect",
      "When the producer dies or stops without end of stream, wait for the "
      "next one instead of posting an error", DEFAULT_RECONNECT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  properties[PROP_LATEST] = g_param_spec_boolean ("latest", "Latest",
      "Attach as a live reader: never hold the producer back, whatever its "
      "policy, and always take the newest frame (skipped frames count as "
      "missed)", DEFAULT_LATEST,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_HOLDS] = g_param_spec_uint ("holds", "Holds",
      "Frames this source may lend downstream at once (0 = as many as the "
      "producer allows); beyond that, frames are copied", 0,
      SHMRING_HOLDS_MAX, DEFAULT_HOLDS,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_TIMESTAMP_MODE] = g_param_spec_enum ("timestamp-mode",
      "Timestamp mode", "How producer timestamps map onto this pipeline",
      GST_TYPE_SHMRING_TIMESTAMP_MODE, DEFAULT_TIMESTAMP_MODE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_PRODUCER_USER] = g_param_spec_string ("producer-user",
      "Producer user", "Also trust a producer running as this user (a name "
      "or a numeric uid); NULL = only this user and root.  Anyone can take a "
      "channel's name first: frames from any other producer are refused",
      NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);
  properties[PROP_PRODUCER_GROUP] = g_param_spec_string ("producer-group",
      "Producer group", "Also trust a producer in this group (a name or a "
      "numeric gid); NULL = only this user and root", NULL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_FRAMES_RECEIVED] = g_param_spec_uint64 ("frames-received",
      "Frames received", "Frames read from the channel", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_MISSED] = g_param_spec_uint64 ("frames-missed",
      "Frames missed", "Frames lost between two frames received (gaps in "
      "their sequence numbers)", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_COPIED] = g_param_spec_uint64 ("frames-copied",
      "Frames copied", "Frames received that were copied out of the channel "
      "because downstream kept as many frames as the holds allow (the "
      "others were lent: their buffers are the shared memory itself)", 0,
      G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_GENERATION] = g_param_spec_uint64 ("generation",
      "Generation", "Generation of the producer attached to (changes when "
      "the producer restarts); 0 before the first", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_shmring_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_shmring_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_shmring_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_shmring_src_unlock_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_shmring_src_get_caps);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_shmring_src_query);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_shmring_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_SHMRING_TIMESTAMP_MODE, 0);
}

static void
gst_shmring_src_init (GstShmringSrc * self)
{
  self->channel = g_strdup (DEFAULT_CHANNEL);
  g_cond_init (&self->backoff_cond);
  self->timeout = DEFAULT_TIMEOUT;
  self->reconnect = DEFAULT_RECONNECT;
  self->latest = DEFAULT_LATEST;
  self->holds = DEFAULT_HOLDS;
  self->ts_mode = DEFAULT_TIMESTAMP_MODE;
  self->commit_caps = gst_caps_new_empty_simple ("timestamp/x-shmring-commit");
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}
