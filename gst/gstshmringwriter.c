/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstshmringwriter.c: the sink's shared producer handle and its buffer pool of slots. */
#include "gstshmringwriter.h"

#include <errno.h>

GST_DEBUG_CATEGORY_STATIC (gst_shmring_pool_debug);
#define GST_CAT_DEFAULT gst_shmring_pool_debug

struct _GstShmringWriter
{
  gint refcount;
  /* lock: every call into the library, and the fields below */
  GMutex lock;
  shmring_producer *p;          /* NULL once closed */
  gboolean stopping;
  guint outstanding;            /* reservations neither committed nor aborted */
  guint64 zero_copy;
  /* ilock: interrupting must not wait for a blocked call to return */
  GMutex ilock;
  guint interrupts;
};

/* One reservation wrapped in a GstMemory; freed with the memory. */
typedef struct
{
  GstShmringWriter *w;
  guint64 id;
  gpointer data;
  gsize size;
  gboolean done;                /* committed or aborted (under w->lock) */
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
gst_shmring_writer_new (shmring_producer * p)
{
  GstShmringWriter *w = g_new0 (GstShmringWriter, 1);

  w->refcount = 1;
  g_mutex_init (&w->lock);
  g_mutex_init (&w->ilock);
  w->p = p;
  reservation_quark_init ();
  return w;
}

GstShmringWriter *
gst_shmring_writer_ref (GstShmringWriter * w)
{
  g_atomic_int_inc (&w->refcount);
  return w;
}

/* Called with w->lock held. */
static void
writer_maybe_close (GstShmringWriter * w)
{
  shmring_producer *p;

  if (!w->stopping || w->outstanding > 0 || w->p == NULL)
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
  g_mutex_lock (&w->lock);
  w->stopping = TRUE;
  w->outstanding = 0;
  writer_maybe_close (w);
  g_mutex_unlock (&w->lock);
  g_mutex_clear (&w->lock);
  g_mutex_clear (&w->ilock);
  g_free (w);
}

void
gst_shmring_writer_stop (GstShmringWriter * w)
{
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

  g_mutex_lock (&w->lock);
  if (!resv->done) {
    /* Freed without being rendered: give the space back unpublished. */
    if (w->p) {
      int r = shmring_producer_abort (w->p, resv->id);
      if (r < 0)
        GST_WARNING ("abort of reservation %" G_GUINT64_FORMAT " failed: %s",
            resv->id, shmring_last_error ());
    }
    resv->done = TRUE;
    w->outstanding--;
    writer_maybe_close (w);
  }
  g_mutex_unlock (&w->lock);
  gst_shmring_writer_unref (w);
  g_free (resv);
}

int
gst_shmring_writer_reserve_memory (GstShmringWriter * w, gsize size,
    gint64 timeout_ns, guint max_outstanding, GstMemory ** mem)
{
  Reservation *resv;
  void *data = NULL;
  uint64_t id = 0;
  int r;

  *mem = NULL;
  g_mutex_lock (&w->lock);
  if (w->p == NULL || w->stopping) {
    g_mutex_unlock (&w->lock);
    return -ESHUTDOWN;
  }
  /* Blocking here with the lock held is safe only while the reservations
   * already out leave room for this one once the reader has caught up:
   * the caller's limit guarantees that. */
  if (w->outstanding >= max_outstanding) {
    g_mutex_unlock (&w->lock);
    return -EAGAIN;
  }
  r = shmring_producer_reserve (w->p, size, timeout_ns, &data, &id);
  if (r < 0) {
    g_mutex_unlock (&w->lock);
    return r;
  }
  w->outstanding++;
  g_mutex_unlock (&w->lock);

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

int
gst_shmring_writer_try_commit (GstShmringWriter * w, GstBuffer * buf,
    const struct shmring_meta *meta)
{
  GstMemory *mem;
  Reservation *resv;
  gsize size;
  int r;

  if (gst_buffer_n_memory (buf) != 1)
    return 1;
  mem = gst_buffer_peek_memory (buf, 0);
  resv = gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (mem),
      reservation_quark);
  if (resv == NULL || resv->w != w || mem->offset != 0)
    return 1;
  size = gst_buffer_get_size (buf);
  if (size > resv->size)
    return 1;

  g_mutex_lock (&w->lock);
  if (resv->done || w->p == NULL) {
    g_mutex_unlock (&w->lock);
    return 1;
  }
  r = shmring_producer_commit (w->p, resv->id, size, meta);
  resv->done = TRUE;
  w->outstanding--;
  if (r == 0)
    w->zero_copy++;
  writer_maybe_close (w);
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

/* --- the pool --- */

struct _GstShmringPool
{
  GstBufferPool parent;

  GstShmringWriter *w;
  gint64 timeout_ns;
  guint max_outstanding;

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
  guint size, min, max;
  GstAllocator *allocator = NULL;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max)) {
    GST_WARNING_OBJECT (self, "invalid pool configuration");
    return FALSE;
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
  /* Buffers are reservations made at acquire time: nothing to preallocate. */
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
  gint64 timeout = self->timeout_ns;
  int r;

  if (params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT))
    timeout = 0;

  r = gst_shmring_writer_reserve_memory (self->w, self->size, timeout,
      self->max_outstanding, &mem);

  if (r == -EINTR)
    return GST_FLOW_FLUSHING;
  if (r < 0) {
    GST_LOG_OBJECT (self, "no slot (%s), using system memory",
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
  /* Never reuse a buffer: its slot is committed or given back when
   * the buffer is freed, and the next acquire reserves afresh. */
  GST_BUFFER_POOL_CLASS (gst_shmring_pool_parent_class)->free_buffer (bpool,
      buffer);
}

static void
gst_shmring_pool_flush_start (GstBufferPool * bpool)
{
  gst_shmring_writer_interrupt (GST_SHMRING_POOL (bpool)->w);
}

static void
gst_shmring_pool_flush_stop (GstBufferPool * bpool)
{
  gst_shmring_writer_resume (GST_SHMRING_POOL (bpool)->w);
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
gst_shmring_pool_new (GstShmringWriter * w, gint64 timeout_ns,
    guint max_outstanding)
{
  GstShmringPool *self = g_object_new (GST_TYPE_SHMRING_POOL, NULL);

  gst_object_ref_sink (self);
  self->w = gst_shmring_writer_ref (w);
  self->timeout_ns = timeout_ns;
  self->max_outstanding = MAX (max_outstanding, 1);
  return GST_BUFFER_POOL_CAST (self);
}
