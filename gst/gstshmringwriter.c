/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringwriter.c: the sink's shared producer handle and its buffer pool of slots. */
#include "gstshmringwriter.h"

#include <errno.h>

GST_DEBUG_CATEGORY_STATIC (gst_shmring_pool_debug);
#define GST_CAT_DEFAULT gst_shmring_pool_debug

struct _GstShmringWriter
{
  gint refcount;
  /* lock: every call into the library, and p and stopping; held through
   * a lossless commit's wait for room */
  GMutex lock;
  shmring_producer *p;          /* NULL once closed */
  gboolean stopping;
  /* ilock: interrupting must not wait for a blocked call to return */
  GMutex ilock;
  guint interrupts;
  /* slock: the slots lent to upstream; never held across a library call,
   * so that a pool flushing never waits for a commit that waits for room */
  GMutex slock;
  GCond scond;                  /* a lent slot came back or was committed; flush; stop */
  guint max_lent;
  guint lent;                   /* lent and not given back */
  guint uncommitted;            /* of those, not committed yet */
  gboolean closing;             /* stopping, as the pools see it */
  guint64 zero_copy;
};

/* One lent slot wrapped in a GstMemory; given back when the memory is freed. */
typedef struct
{
  GstShmringWriter *w;
  guint64 id;
  gpointer data;
  gsize size;
  gboolean committed;           /* under w->lock */
} Reservation;

static GQuark reservation_quark;
static GQuark dropped_quark;    /* a frame the library dropped at reserve */

static void
reservation_quark_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    reservation_quark = g_quark_from_static_string ("GstShmringReservation");
    dropped_quark = g_quark_from_static_string ("GstShmringDropped");
    g_once_init_leave (&done, 1);
  }
}

GstShmringWriter *
gst_shmring_writer_new (shmring_producer * p, guint max_lent)
{
  GstShmringWriter *w = g_new0 (GstShmringWriter, 1);

  w->refcount = 1;
  g_mutex_init (&w->lock);
  g_mutex_init (&w->ilock);
  g_mutex_init (&w->slock);
  g_cond_init (&w->scond);
  w->p = p;
  w->max_lent = max_lent;
  reservation_quark_init ();
  return w;
}

GstShmringWriter *
gst_shmring_writer_ref (GstShmringWriter * w)
{
  g_atomic_int_inc (&w->refcount);
  return w;
}

/* Called with w->lock held: close once stopped and every lent slot is back. */
static void
writer_maybe_close (GstShmringWriter * w)
{
  shmring_producer *p;
  guint lent;

  g_mutex_lock (&w->slock);
  lent = w->lent;
  g_mutex_unlock (&w->slock);
  if (!w->stopping || lent > 0 || w->p == NULL)
    return;
  g_mutex_lock (&w->ilock);
  p = w->p;
  w->p = NULL;
  g_mutex_unlock (&w->ilock);
  shmring_producer_close (p);
}

void
gst_shmring_writer_unref (GstShmringWriter * w)
{
  if (!g_atomic_int_dec_and_test (&w->refcount))
    return;
  /* Every lent slot holds a reference: none is out. */
  g_mutex_lock (&w->lock);
  w->stopping = TRUE;
  writer_maybe_close (w);
  g_mutex_unlock (&w->lock);
  g_mutex_clear (&w->lock);
  g_mutex_clear (&w->ilock);
  g_mutex_clear (&w->slock);
  g_cond_clear (&w->scond);
  g_free (w);
}

void
gst_shmring_writer_stop (GstShmringWriter * w)
{
  g_mutex_lock (&w->slock);
  w->closing = TRUE;
  g_cond_broadcast (&w->scond);
  g_mutex_unlock (&w->slock);
  g_mutex_lock (&w->lock);
  w->stopping = TRUE;
  writer_maybe_close (w);
  g_mutex_unlock (&w->lock);
}

void
gst_shmring_writer_interrupt (GstShmringWriter * w)
{
  g_mutex_lock (&w->ilock);
  if (w->interrupts++ == 0 && w->p)
    shmring_producer_interrupt (w->p);
  g_mutex_unlock (&w->ilock);
}

void
gst_shmring_writer_resume (GstShmringWriter * w)
{
  g_mutex_lock (&w->ilock);
  if (w->interrupts > 0 && --w->interrupts == 0 && w->p)
    shmring_producer_resume (w->p);
  g_mutex_unlock (&w->ilock);
}

int
gst_shmring_writer_call (GstShmringWriter * w,
    int (*fn) (shmring_producer * p, gpointer data), gpointer data)
{
  int r = -ESHUTDOWN;

  g_mutex_lock (&w->lock);
  if (w->p)
    r = fn (w->p, data);
  g_mutex_unlock (&w->lock);
  return r;
}

static void
reservation_free (gpointer data)
{
  Reservation *resv = data;
  GstShmringWriter *w = resv->w;
  gboolean committed;

  g_mutex_lock (&w->lock);
  committed = resv->committed;
  if (w->p) {
    int r = shmring_producer_abort (w->p, resv->id);
    if (r < 0)
      GST_WARNING ("giving back slot %" G_GUINT64_FORMAT " failed: %s",
          resv->id, shmring_last_error ());
  }
  g_mutex_lock (&w->slock);
  w->lent--;
  if (!committed)
    w->uncommitted--;
  g_cond_broadcast (&w->scond);
  g_mutex_unlock (&w->slock);
  writer_maybe_close (w);
  g_mutex_unlock (&w->lock);
  gst_shmring_writer_unref (w);
  g_free (resv);
}

/* Lend a slot for size bytes, wrapped in a GstMemory.  While max_lent
 * slots are out, waits for one to come back as long as one of them is on
 * its way to render (uncommitted); once all of them are published and
 * still held by someone else, waiting could last for ever: then -EAGAIN
 * at once.  0 with *mem set; -EINTR once *flushing is set (read under
 * the writer's slock) or the writer stops; -EAGAIN; or the library's
 * code: -ENOBUFS means the library dropped the frame and counted it. */
static int
writer_lend (GstShmringWriter * w, gsize size, gboolean dontwait,
    const gboolean * flushing, GstMemory ** mem)
{
  Reservation *resv;
  void *data = NULL;
  uint64_t id = 0;
  int r;

  *mem = NULL;
  g_mutex_lock (&w->slock);
  while (w->lent >= w->max_lent && w->uncommitted > 0 && !*flushing &&
      !w->closing && !dontwait)
    g_cond_wait (&w->scond, &w->slock);
  if (*flushing || w->closing) {
    g_mutex_unlock (&w->slock);
    return -EINTR;
  }
  if (w->lent >= w->max_lent) {
    g_mutex_unlock (&w->slock);
    return -EAGAIN;
  }
  /* Counted before the call, so that no other thread lends past the limit. */
  w->lent++;
  w->uncommitted++;
  g_mutex_unlock (&w->slock);

  g_mutex_lock (&w->lock);
  r = w->p && !w->stopping ? shmring_producer_lend (w->p, size, &data, &id) :
      -ESHUTDOWN;
  if (r < 0) {
    g_mutex_lock (&w->slock);
    w->lent--;
    w->uncommitted--;
    g_cond_broadcast (&w->scond);
    g_mutex_unlock (&w->slock);
    writer_maybe_close (w);
  }
  g_mutex_unlock (&w->lock);
  if (r < 0)
    return r;

  resv = g_new0 (Reservation, 1);
  resv->w = gst_shmring_writer_ref (w);
  resv->id = id;
  resv->data = data;
  resv->size = size;
  *mem = gst_memory_new_wrapped (0, data, size, 0, size, resv,
      reservation_free);
  gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (*mem), reservation_quark,
      resv, NULL);
  return 0;
}

/* The lent slot of this writer that buf is exactly, not yet committed;
 * NULL if none. */
static Reservation *
lent_slot (GstShmringWriter * w, GstBuffer * buf)
{
  GstMemory *mem;
  Reservation *resv;

  if (gst_buffer_n_memory (buf) != 1)
    return NULL;
  mem = gst_buffer_peek_memory (buf, 0);
  resv = gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (mem),
      reservation_quark);
  if (resv == NULL || resv->w != w || mem->offset != 0 ||
      gst_buffer_get_size (buf) > resv->size)
    return NULL;
  return resv;
}

/* Copy buf into a slot of its own (with info's layout if non-NULL). */
static int
copy_into_slot (shmring_producer * p, GstBuffer * buf,
    const struct shmring_meta *meta, const GstVideoInfo * info)
{
  GstMapInfo map;
  void *dst = NULL;
  uint64_t id;
  gsize size;
  int r;

  if (info == NULL && gst_buffer_n_memory (buf) == 1) {
    if (!gst_buffer_map (buf, &map, GST_MAP_READ))
      return -EFAULT;
    r = shmring_producer_write (p, map.data, map.size, meta, SHMRING_FOREVER);
    gst_buffer_unmap (buf, &map);
    return r;
  }

  size = info ? GST_VIDEO_INFO_SIZE (info) : gst_buffer_get_size (buf);
  r = shmring_producer_reserve (p, size, SHMRING_FOREVER, &dst, &id);
  if (r < 0)
    return r;
  if (info) {
    /* Upstream's layout differs from the published one: copy plane by plane. */
    GstVideoFrame src, out;
    GstBuffer *wrap = gst_buffer_new_wrapped_full (0, dst, size, 0, size,
        NULL, NULL);
    gboolean ok = FALSE;

    if (gst_video_frame_map (&src, info, buf, GST_MAP_READ)) {
      if (gst_video_frame_map (&out, info, wrap, GST_MAP_WRITE)) {
        ok = gst_video_frame_copy (&out, &src);
        gst_video_frame_unmap (&out);
      }
      gst_video_frame_unmap (&src);
    }
    gst_buffer_unref (wrap);
    if (!ok) {
      shmring_producer_abort (p, id);
      return -EFAULT;
    }
  } else {
    gst_buffer_extract (buf, 0, dst, size);
  }
  return shmring_producer_commit (p, id, size, meta);
}

int
gst_shmring_writer_publish (GstShmringWriter * w, GstBuffer * buf,
    const struct shmring_meta *meta, const GstVideoInfo * relayout)
{
  Reservation *resv = relayout ? NULL : lent_slot (w, buf);
  int r;

  g_mutex_lock (&w->lock);
  if (w->p == NULL) {
    g_mutex_unlock (&w->lock);
    return -ESHUTDOWN;
  }
  if (resv && !resv->committed) {
    /* Rendered in place: publish the slot; it stays pinned until the
     * memory is freed, whoever else still reads it. */
    r = shmring_producer_commit_lent (w->p, resv->id, gst_buffer_get_size (buf),
        meta, SHMRING_FOREVER);
    if (r == 0) {
      resv->committed = TRUE;
      w->zero_copy++;
      g_mutex_lock (&w->slock);
      w->uncommitted--;
      g_cond_broadcast (&w->scond);
      g_mutex_unlock (&w->slock);
    }
  } else {
    /* Any other buffer (or a slot pushed a second time) is copied once,
     * into a slot of its own: the one reservation no lender can take. */
    r = copy_into_slot (w->p, buf, meta, relayout);
    if (r == 0)
      r = 1;
  }
  g_mutex_unlock (&w->lock);
  return r;
}

gboolean
gst_shmring_writer_is_dropped (GstBuffer * buf)
{
  reservation_quark_init ();
  return gst_buffer_n_memory (buf) == 1 &&
      gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (gst_buffer_peek_memory
          (buf, 0)), dropped_quark) != NULL;
}

guint64
gst_shmring_writer_zero_copy_frames (GstShmringWriter * w)
{
  guint64 n;

  g_mutex_lock (&w->lock);
  n = w->zero_copy;
  g_mutex_unlock (&w->lock);
  return n;
}

guint
gst_shmring_writer_max_lent (GstShmringWriter * w)
{
  return w->max_lent;
}

/* --- the pool --- */

struct _GstShmringPool
{
  GstBufferPool parent;

  GstShmringWriter *w;
  gboolean flushing;            /* under w->slock */

  gsize size;
  GstVideoInfo info;
  gboolean have_info;
  gboolean add_meta;
  GstAllocationParams params;
};

G_DEFINE_TYPE (GstShmringPool, gst_shmring_pool, GST_TYPE_BUFFER_POOL);

static const gchar **
gst_shmring_pool_get_options (GstBufferPool * pool)
{
  static const gchar *options[] = { GST_BUFFER_POOL_OPTION_VIDEO_META, NULL };

  (void) pool;
  return options;
}

static gboolean
gst_shmring_pool_set_config (GstBufferPool * bpool, GstStructure * config)
{
  GstShmringPool *self = GST_SHMRING_POOL (bpool);
  GstCaps *caps = NULL;
  guint size, min, max, lent = self->w->max_lent;
  GstAllocator *allocator = NULL;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max)) {
    GST_WARNING_OBJECT (self, "invalid pool configuration");
    return FALSE;
  }
  if (min > lent || max == 0 || max > lent) {
    /* At most `lent` slots are out at once.  An element that must keep
     * more (a decoder's reference frames) is told so, and uses a pool of
     * its own; its frames are copied once. */
    GST_DEBUG_OBJECT (self, "%u to %u buffers asked, at most %u lent at "
        "once", min, max, lent);
    gst_buffer_pool_config_set_params (config, caps, size, MIN (min, lent),
        lent);
    if (min > lent)
      return FALSE;
    min = MIN (min, lent);
    max = lent;
  }
  gst_buffer_pool_config_get_allocator (config, &allocator, &self->params);
  self->size = size;
  self->have_info = caps && gst_video_info_from_caps (&self->info, caps);
  if (self->have_info && self->info.size > size) {
    GST_WARNING_OBJECT (self, "buffer size %u smaller than a frame (%"
        G_GSIZE_FORMAT ")", size, self->info.size);
    return FALSE;
  }
  self->add_meta = self->have_info &&
      gst_buffer_pool_config_has_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);
  return GST_BUFFER_POOL_CLASS (gst_shmring_pool_parent_class)->set_config
      (bpool, config);
}

static gboolean
gst_shmring_pool_start (GstBufferPool * bpool)
{
  /* Buffers are slots lent at acquire time: nothing to preallocate. */
  (void) bpool;
  return TRUE;
}

static GstFlowReturn
gst_shmring_pool_acquire_buffer (GstBufferPool * bpool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstShmringPool *self = GST_SHMRING_POOL (bpool);
  GstMemory *mem = NULL;
  GstBuffer *buf;
  gboolean dontwait = params &&
      (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
  int r;

  r = writer_lend (self->w, self->size, dontwait, &self->flushing, &mem);
  if (r == -EINTR)
    return GST_FLOW_FLUSHING;
  if (r < 0) {
    /* No slot to lend now (all out and held, a new description waiting
     * for an old frame's release, or the library dropped the frame):
     * system memory, copied once at render. */
    GST_LOG_OBJECT (self, "no slot to lend (%s), using system memory",
        shmring_strerror (r));
    mem = gst_allocator_alloc (NULL, self->size, &self->params);
    if (mem == NULL)
      return GST_FLOW_ERROR;
    /* The library has counted this frame as dropped: render() must not
     * try it again (a second drop, a second gap in the sequence). */
    if (r == -ENOBUFS)
      gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), dropped_quark,
          GINT_TO_POINTER (1), NULL);
  }

  buf = gst_buffer_new ();
  gst_buffer_append_memory (buf, mem);
  if (self->add_meta) {
    GstVideoInfo *vi = &self->info;
    gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_INFO_FORMAT (vi), GST_VIDEO_INFO_WIDTH (vi),
        GST_VIDEO_INFO_HEIGHT (vi), GST_VIDEO_INFO_N_PLANES (vi),
        vi->offset, vi->stride);
  }
  *buffer = buf;
  return GST_FLOW_OK;
}

static void
gst_shmring_pool_release_buffer (GstBufferPool * bpool, GstBuffer * buffer)
{
  /* Never reuse a buffer: its slot is given back when the buffer is
   * freed, and the next acquire lends one afresh. */
  GST_BUFFER_POOL_CLASS (gst_shmring_pool_parent_class)->free_buffer (bpool,
      buffer);
}

static void
gst_shmring_pool_set_flushing (GstShmringPool * self, gboolean flushing)
{
  GstShmringWriter *w = self->w;

  g_mutex_lock (&w->slock);
  self->flushing = flushing;
  g_cond_broadcast (&w->scond);
  g_mutex_unlock (&w->slock);
}

static void
gst_shmring_pool_flush_start (GstBufferPool * bpool)
{
  gst_shmring_pool_set_flushing (GST_SHMRING_POOL (bpool), TRUE);
}

static void
gst_shmring_pool_flush_stop (GstBufferPool * bpool)
{
  gst_shmring_pool_set_flushing (GST_SHMRING_POOL (bpool), FALSE);
}

static void
gst_shmring_pool_finalize (GObject * object)
{
  GstShmringPool *self = GST_SHMRING_POOL (object);

  gst_shmring_writer_unref (self->w);
  G_OBJECT_CLASS (gst_shmring_pool_parent_class)->finalize (object);
}

static void
gst_shmring_pool_class_init (GstShmringPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_shmring_pool_debug, "shmringpool", 0,
      "shmring buffer pool of slots");

  gobject_class->finalize = gst_shmring_pool_finalize;
  pool_class->get_options = gst_shmring_pool_get_options;
  pool_class->set_config = gst_shmring_pool_set_config;
  pool_class->start = gst_shmring_pool_start;
  pool_class->acquire_buffer = gst_shmring_pool_acquire_buffer;
  pool_class->release_buffer = gst_shmring_pool_release_buffer;
  pool_class->flush_start = gst_shmring_pool_flush_start;
  pool_class->flush_stop = gst_shmring_pool_flush_stop;
}

static void
gst_shmring_pool_init (GstShmringPool * self)
{
  gst_allocation_params_init (&self->params);
}

GstBufferPool *
gst_shmring_pool_new (GstShmringWriter * w)
{
  GstShmringPool *self = g_object_new (GST_TYPE_SHMRING_POOL, NULL);

  gst_object_ref_sink (self);
  self->w = gst_shmring_writer_ref (w);
  return GST_BUFFER_POOL_CAST (self);
}
